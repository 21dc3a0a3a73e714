"""What the logs keep of a failure: where and what kind, never what a customer typed."""

from __future__ import annotations

import io
import json

import pytest
from pydantic import BaseModel

PHONE = "13912345678"
NAME = "王小明"


@pytest.fixture
def log_output():
    """What the app's logger writes (its real handler and formatter), for one test."""
    from chalicelib.observability import logger

    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


class _Probe(BaseModel):
    phone: int


def _fails_quoting_its_input(principal, request):
    """A bug deep in the domain whose errors quote the request: a pydantic validation error
    (input_value=...), then an f-string with the phone, raised from it."""
    phone = request.guardians[0].phones[0]
    try:
        _Probe.model_validate({"phone": f"{phone} {request.name}"})
    except ValueError as exc:
        raise RuntimeError(f"could not store lead {request.name} with phone {phone}") from exc


def test_a_failing_request_does_not_write_the_customers_phone_or_name_into_the_logs(school, log_output, monkeypatch):
    from chalicelib.domain import leads

    # GIVEN a lead creation that breaks with errors quoting the lead's name and phone
    monkeypatch.setattr(leads, "create_lead", _fails_quoting_its_input)
    body = {"name": NAME, "guardians": [{"name": "王妈妈", "relation": "mother", "phones": [PHONE]}]}
    # WHEN the request is made
    response = school.admin.post("/leads", body)
    # THEN the caller gets the envelope's 500
    assert response.status_code == 500 and response.json_body["error"]["code"] == "INTERNAL"
    logged = log_output.getvalue()
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    failure = next(r for r in records if r["message"] == "unhandled error")
    # AND the log says what failed and where: both exceptions, the fields of the validation error, the frames
    assert failure["exception_name"] == "RuntimeError"
    assert "pydantic_core._pydantic_core.ValidationError: phone (int_parsing)" in failure["exception"]
    assert "builtins.RuntimeError" in failure["exception"] and "_fails_quoting_its_input" in failure["exception"]
    assert failure["stack_trace"]["type"] == "RuntimeError"
    # AND nowhere in what was logged is the phone (in any spelling) or the child's name
    for secret in (PHONE, "+86" + PHONE, "139 1234 5678", NAME, json.dumps(NAME)[1:-1]):
        assert secret not in logged, secret


def test_a_failing_stream_record_is_logged_by_kind_and_place_without_the_customers_values(log_output):
    from chalicelib.streams import processor
    from tests.test_streams import extra_effect

    # GIVEN a lead's stream record, and an effect that breaks quoting the item's values
    image = {
        "PK": {"S": "T#t-log#LEAD#01"},
        "SK": {"S": "LEAD"},
        "type": {"S": "Lead"},
        "name": {"S": NAME},
        "phones": {"SS": [PHONE]},
    }
    raw = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"PK": image["PK"], "SK": image["SK"]}, "NewImage": image, "SequenceNumber": "100"},
    }

    def fault(record):
        raise RuntimeError(f"cannot count lead {record.new['name']} ({record.new['phones']})")

    # WHEN the stream processor handles it
    with extra_effect(fault, "Lead"):
        result = processor.handle({"Records": [raw]}, None)
    # THEN the record alone is reported failed, to be retried
    assert result["batchItemFailures"] == [{"itemIdentifier": "100"}]
    # AND the log says which kind of record broke, with what and where, but holds no phone or name
    logged = log_output.getvalue()
    failure = next(json.loads(line) for line in logged.splitlines() if "stream record failed" in line)
    assert failure["kind"] == "Lead" and failure["exception_name"] == "RuntimeError"
    assert "builtins.RuntimeError" in failure["exception"] and "in fault" in failure["exception"]
    for secret in (PHONE, NAME, json.dumps(NAME)[1:-1]):
        assert secret not in logged, secret
