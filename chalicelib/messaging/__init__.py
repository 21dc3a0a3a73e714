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

from chalicelib.messaging.base import Channel, Outgoing, Provider, ProviderError  # noqa: F401 - the public face


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
