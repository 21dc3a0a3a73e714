"""E-mail through Amazon SES v2 SendEmail."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from chalicelib.messaging.base import Outgoing, ProviderError

# Codes where a later try could succeed; rejections, unverified domains, a paused or suspended account are final.
RETRYABLE_CODES = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "InternalFailure", "ServiceUnavailable"}
)

_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tag_value(value: str) -> str:
    """An EmailTags value: only ASCII letters, digits, `_` and `-`; anything else becomes `_`."""
    return _TAG_UNSAFE.sub("_", value)[:256] or "_"


class SesProvider:
    name = "ses"

    def __init__(self, *, sender: str | None, region: str, client: Any = None):
        self.sender = sender
        self.region = region
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 client, built on first use unless one was passed in."""
        if self._client is None:
            import boto3  # lazy: keeps boto3 off the API's import path

            self._client = boto3.client("sesv2", region_name=self.region)
        return self._client

    def send(self, message: Outgoing) -> str:
        """Sends one e-mail (its HTML part with the plain-text alternative, or plain text
        alone); returns SES's message id or raises `ProviderError`."""
        if message.channel != "email":
            raise ValueError(f"{self.name} sends e-mail only, not {message.channel!r}")
        if not self.sender:
            raise ProviderError("No sender address is configured (CRM_EMAIL_FROM).", retryable=False)
        body: dict[str, Any] = {"Text": {"Data": message.body, "Charset": "UTF-8"}}
        if message.html:
            body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
        try:
            response = self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject or "", "Charset": "UTF-8"},
                        "Body": body,
                    }
                },
                EmailTags=[
                    {"Name": "tenant", "Value": tag_value(message.tenant)},
                    {"Name": "purpose", "Value": tag_value(message.purpose)},
                ],
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            raise ProviderError(
                f"E-mail send failed: {code}: {error.get('Message', '')}", retryable=code in RETRYABLE_CODES
            ) from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:  # never reached AWS: safe to retry
            raise ProviderError(f"E-mail send failed: {type(exc).__name__}: {exc}", retryable=True) from exc
        except ReadTimeoutError as exc:
            # AWS may have accepted it before the answer was lost: retrying could send it twice
            raise ProviderError(f"no answer from AWS, it may have been sent: {exc}", retryable=False) from exc
        return response["MessageId"]
