"""The SMS and e-mail providers against botocore's Stubber: exact parameters, checked against the AWS API model."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.messaging import Outgoing, ProviderError
from chalicelib.messaging.ses import SesProvider
from chalicelib.messaging.sms_voice import SmsVoiceProvider

CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}


@pytest.fixture
def sms():
    client = boto3.client("pinpoint-sms-voice-v2", **CREDENTIALS)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def ses():
    client = boto3.client("sesv2", **CREDENTIALS)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def sms_message(**overrides) -> Outgoing:
    values = {
        "tenant": "sunshine-art",
        "channel": "sms",
        "to": "+8613912345678",
        "body": "Lesson tomorrow at 10:00",
        "purpose": "notice",
        "reference": "msg-1#lead-1",
    }
    return Outgoing(**(values | overrides))


def email_message(**overrides) -> Outgoing:
    values = {
        "tenant": "sunshine-art",
        "channel": "email",
        "to": "parent@example.com",
        "subject": "Lesson reminder",
        "body": "See you tomorrow.",
        "purpose": "notice",
        "reference": "msg-2#lead-2",
    }
    return Outgoing(**(values | overrides))


# SMS


def test_a_notice_goes_out_transactional_without_an_origination_when_none_is_set(sms):
    client, stubber = sms
    stubber.add_response(
        "send_text_message",
        {"MessageId": "sms-1"},
        {
            "DestinationPhoneNumber": "+8613912345678",
            "MessageBody": "Lesson tomorrow at 10:00",
            "MessageType": "TRANSACTIONAL",
            "Context": {"reference": "msg-1#lead-1", "tenant": "sunshine-art"},
        },
    )
    provider = SmsVoiceProvider(origination=None, region="us-east-1", client=client)
    assert provider.name == "sms-voice"
    assert provider.send(sms_message()) == "sms-1"


def test_marketing_goes_out_promotional_from_the_configured_origination(sms):
    client, stubber = sms
    body = "王小明家长您好：春季美术班开始报名啦🎨 回复TD退订"
    stubber.add_response(
        "send_text_message",
        {"MessageId": "sms-2"},
        {
            "DestinationPhoneNumber": "+8613912345678",
            "MessageBody": body,  # Chinese and emoji pass through unchanged
            "MessageType": "PROMOTIONAL",
            "Context": {"reference": "msg-1#lead-1", "tenant": "sunshine-art"},
            "OriginationIdentity": "+12065550100",
        },
    )
    provider = SmsVoiceProvider(origination="+12065550100", region="us-east-1", client=client)
    assert provider.send(sms_message(body=body, purpose="marketing")) == "sms-2"


def test_an_empty_reference_is_left_out_of_the_context(sms):
    client, stubber = sms
    stubber.add_response(
        "send_text_message",
        {"MessageId": "sms-3"},
        {
            "DestinationPhoneNumber": "+8613912345678",
            "MessageBody": "Lesson tomorrow at 10:00",
            "MessageType": "TRANSACTIONAL",
            "Context": {"tenant": "sunshine-art"},
        },
    )
    provider = SmsVoiceProvider(origination=None, region="us-east-1", client=client)
    assert provider.send(sms_message(reference="")) == "sms-3"


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        ("ThrottlingException", True),
        ("InternalServerException", True),
        ("ServiceQuotaExceededException", True),
        ("ValidationException", False),
        ("AccessDeniedException", False),
        ("ResourceNotFoundException", False),
        ("ConflictException", False),
    ],
)
def test_sms_errors_say_whether_a_retry_could_help(sms, code, retryable):
    client, stubber = sms
    stubber.add_client_error("send_text_message", service_error_code=code, service_message="AWS says no")
    provider = SmsVoiceProvider(origination=None, region="us-east-1", client=client)
    with pytest.raises(ProviderError) as caught:
        provider.send(sms_message())
    assert caught.value.retryable is retryable
    assert code in str(caught.value) and "AWS says no" in str(caught.value)


def test_sms_connection_failures_are_retryable():
    class Unreachable:
        def send_text_message(self, **params):
            raise EndpointConnectionError(endpoint_url="https://sms-voice.us-east-1.amazonaws.com")

    provider = SmsVoiceProvider(origination=None, region="us-east-1", client=Unreachable())
    with pytest.raises(ProviderError) as caught:
        provider.send(sms_message())
    assert caught.value.retryable is True


def test_the_sms_provider_refuses_an_email():
    provider = SmsVoiceProvider(origination=None, region="us-east-1", client=object())
    with pytest.raises(ValueError):
        provider.send(email_message())


# E-mail


def test_an_email_is_sent_as_utf8_with_sanitised_tags(ses):
    client, stubber = ses
    stubber.add_response(
        "send_email",
        {"MessageId": "ses-1"},
        {
            "FromEmailAddress": "school@example.com",
            "Destination": {"ToAddresses": ["parent@example.com"]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": "明天的美术课", "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": "王小明家长您好，明天10点上课。🎨", "Charset": "UTF-8"}},
                }
            },
            "EmailTags": [
                {"Name": "tenant", "Value": "sunshine_art_school_1"},
                {"Name": "purpose", "Value": "marketing"},
            ],
        },
    )
    provider = SesProvider(sender="school@example.com", region="us-east-1", client=client)
    assert provider.name == "ses"
    message = email_message(
        tenant="sunshine.art school#1",
        subject="明天的美术课",
        body="王小明家长您好，明天10点上课。🎨",
        purpose="marketing",
    )
    assert provider.send(message) == "ses-1"


def test_an_email_with_an_html_part_sends_it_with_the_plain_text_alternative(ses):
    from chalicelib.domain.messaging import email_body

    text, html = email_body.parts("<b>x</b>家长您好\n明天见", "小星星早教\n0755-1234", "通知")
    client, stubber = ses
    stubber.add_response(
        "send_email",
        {"MessageId": "ses-html"},
        {
            "FromEmailAddress": "school@example.com",
            "Destination": {"ToAddresses": ["parent@example.com"]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": "通知", "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": "<b>x</b>家长您好\n明天见\n\n-- \n小星星早教\n0755-1234", "Charset": "UTF-8"},
                        "Html": {"Data": html, "Charset": "UTF-8"},
                    },
                }
            },
            "EmailTags": [{"Name": "tenant", "Value": "sunshine-art"}, {"Name": "purpose", "Value": "notice"}],
        },
    )
    provider = SesProvider(sender="school@example.com", region="us-east-1", client=client)
    assert provider.send(email_message(subject="通知", body=text, html=html)) == "ses-html"
    assert "&lt;b&gt;x&lt;/b&gt;家长您好<br>\n明天见" in html and "<b>x</b>" not in html
    assert '<div class="signature"' in html and "小星星早教<br>\n0755-1234" in html


def test_an_email_without_a_subject_sends_an_empty_one(ses):
    client, stubber = ses
    stubber.add_response(
        "send_email",
        {"MessageId": "ses-2"},
        {
            "FromEmailAddress": "school@example.com",
            "Destination": {"ToAddresses": ["parent@example.com"]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": "", "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": "See you tomorrow.", "Charset": "UTF-8"}},
                }
            },
            "EmailTags": [{"Name": "tenant", "Value": "sunshine-art"}, {"Name": "purpose", "Value": "notice"}],
        },
    )
    provider = SesProvider(sender="school@example.com", region="us-east-1", client=client)
    assert provider.send(email_message(subject=None)) == "ses-2"


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        ("TooManyRequestsException", True),
        ("LimitExceededException", True),
        ("InternalFailure", True),
        ("ServiceUnavailable", True),
        ("MessageRejected", False),
        ("MailFromDomainNotVerifiedException", False),
        ("AccountSuspendedException", False),
        ("SendingPausedException", False),
        ("BadRequestException", False),
        ("NotFoundException", False),
    ],
)
def test_email_errors_say_whether_a_retry_could_help(ses, code, retryable):
    client, stubber = ses
    stubber.add_client_error("send_email", service_error_code=code, service_message="SES says no")
    provider = SesProvider(sender="school@example.com", region="us-east-1", client=client)
    with pytest.raises(ProviderError) as caught:
        provider.send(email_message())
    assert caught.value.retryable is retryable
    assert code in str(caught.value) and "SES says no" in str(caught.value)


def test_an_email_whose_answer_timed_out_is_not_retried_so_it_is_never_sent_twice():
    class Slow:
        def send_email(self, **params):
            raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")

    provider = SesProvider(sender="school@example.com", region="us-east-1", client=Slow())
    with pytest.raises(ProviderError) as caught:
        provider.send(email_message())
    assert caught.value.retryable is False
    assert "may have been sent" in str(caught.value)


def test_without_a_sender_nothing_is_sent_and_the_setting_is_named():
    provider = SesProvider(sender=None, region="us-east-1", client=object())
    with pytest.raises(ProviderError, match="CRM_EMAIL_FROM") as caught:
        provider.send(email_message())
    assert caught.value.retryable is False


def test_the_email_provider_refuses_an_sms():
    provider = SesProvider(sender="school@example.com", region="us-east-1", client=object())
    with pytest.raises(ValueError):
        provider.send(sms_message())


def test_clients_are_built_on_first_send_only(monkeypatch):
    built = []
    monkeypatch.setattr(boto3, "client", lambda *args, **kwargs: built.append((args, kwargs)) or object())
    SmsVoiceProvider(origination=None, region="eu-west-1")
    SesProvider(sender="school@example.com", region="eu-west-1")
    assert built == []
    assert SesProvider(sender="school@example.com", region="eu-west-1").client is not None
    assert built == [(("sesv2",), {"region_name": "eu-west-1"})]
