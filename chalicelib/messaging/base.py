"""The interface every provider implements: one `Outgoing` message in, the provider's id out,
or a `ProviderError`. Below messaging/__init__.py (which picks the provider), so the providers
import this module and nothing imports back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Channel = Literal["sms", "email"]


@dataclass(frozen=True)
class Outgoing:
    tenant: str
    channel: Channel
    to: str  # E.164 phone number or e-mail address
    body: str  # an SMS's text; an e-mail's plain-text part
    subject: str | None = None  # e-mail only
    html: str | None = None  # e-mail only: the HTML part, sent with `body` as its plain-text alternative
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
