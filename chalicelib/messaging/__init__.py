"""Sending SMS and e-mail through one small interface.

A provider takes one `Outgoing` message and returns the provider's message id, or raises
`ProviderError` saying whether trying again later could help. Which provider serves each
channel is a per-stage setting (`CRM_SMS_PROVIDER`, `CRM_EMAIL_PROVIDER` in
`.chalice/config.json`):

- `outbox` (local and dev): stores what would be sent, in the table; `GET /outbox` reads it
  and the local event pump prints it.
- `sms-voice` (SMS): AWS End User Messaging SMS, `pinpoint-sms-voice-v2` SendTextMessage.
- `ses` (e-mail): Amazon SES v2 SendEmail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Channel = Literal["sms", "email"]


@dataclass(frozen=True)
class Outgoing:
    tenant: str
    channel: Channel
    to: str  # E.164 phone number or e-mail address
    body: str
    subject: str | None = None  # e-mail only
    purpose: str = "notice"  # marketing | notice: promotional or transactional SMS
    reference: str = ""  # ours: "<message id>#<recipient>", for logs and provider tags
    lead_id: str | None = None  # the lead it is for (None: a typed number, a staff alert)


class ProviderError(Exception):
    """The provider refused or failed; `retryable` says whether a later try could succeed."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class Provider(Protocol):
    name: str

    def send(self, message: Outgoing) -> str:
        """Sends one message; returns the provider's message id."""
        ...


def provider_for(channel: Channel) -> Provider:
    """The provider this stage uses for a channel (clients are built on first use)."""
    from chalicelib.settings import get_settings

    settings = get_settings()
    name = settings.sms_provider if channel == "sms" else settings.email_provider
    if name == "outbox":
        from chalicelib.messaging.outbox import OutboxProvider

        return OutboxProvider()
    if name == "sms-voice" and channel == "sms":
        from chalicelib.messaging.sms_voice import SmsVoiceProvider

        return SmsVoiceProvider(origination=settings.sms_origination, region=settings.region)
    if name == "ses" and channel == "email":
        from chalicelib.messaging.ses import SesProvider

        return SesProvider(sender=settings.email_from, region=settings.region)
    raise ValueError(f"no {channel} provider named {name!r}")
