"""SMS through AWS End User Messaging SMS (`pinpoint-sms-voice-v2` SendTextMessage)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from chalicelib.messaging.base import Outgoing, ProviderError

# Codes where a later try could succeed; every other code (validation, access, not found, conflict) is final.
RETRYABLE_CODES = frozenset({"ThrottlingException", "InternalServerException", "ServiceQuotaExceededException"})


class SmsVoiceProvider:
    name = "sms-voice"

    def __init__(self, *, origination: str | None, region: str, client: Any = None):
        self.origination = origination
        self.region = region
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 client, built on first use unless one was passed in."""
        if self._client is None:
            import boto3  # lazy: keeps boto3 off the API's import path

            self._client = boto3.client("pinpoint-sms-voice-v2", region_name=self.region)
        return self._client

    def send(self, message: Outgoing) -> str:
        """Sends one SMS; returns AWS's message id or raises `ProviderError`."""
        if message.channel != "sms":
            raise ValueError(f"{self.name} sends SMS only, not {message.channel!r}")
        params: dict[str, Any] = {
            "DestinationPhoneNumber": message.to,
            "MessageBody": message.body,
            "MessageType": "PROMOTIONAL" if message.purpose == "marketing" else "TRANSACTIONAL",
            # The API refuses empty context values, so an unset reference is left out.
            "Context": {k: v for k, v in {"reference": message.reference, "tenant": message.tenant}.items() if v},
        }
        if self.origination:
            params["OriginationIdentity"] = self.origination
        try:
            response = self.client.send_text_message(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            raise ProviderError(
                f"SMS send failed: {code}: {error.get('Message', '')}", retryable=code in RETRYABLE_CODES
            ) from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:  # never reached AWS: safe to retry
            raise ProviderError(f"SMS send failed: {type(exc).__name__}: {exc}", retryable=True) from exc
        except ReadTimeoutError as exc:
            # AWS may have accepted it before the answer was lost: retrying could send it twice
            raise ProviderError(f"no answer from AWS, it may have been sent: {exc}", retryable=False) from exc
        return response["MessageId"]
