"""The records db/messaging.py reads and writes: templates, messages, their recipients, the
outbox.

Each is a `TypedDict`, not a pydantic model: the objects stay exactly the plain dicts
`convert.values` builds (JSON output, `.get`, `**` unpacking and equality all unchanged, no
validation cost on a page of recipients), while mypy checks every key the domain reads.

A read record is what `values(item)` makes of a stored item: its business attributes, with
no key or index attributes. An attribute with a default (or that may not be null) is always
there; a nullable one without a default is absent when it was not stored (pynamodb neither
stores nor reads back None), hence `NotRequired`. Numbers come back from DynamoDB as the ints
they were written as (pynamodb's NumberAttribute decodes them with json).

A new record (`NewMessage`, `PlannedRecipient`, `TemplateData`) is what the domain builds
and hands to a write: every key is there, a nullable one as None.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from chalicelib.schemas.messaging import Channel

# --- templates -----------------------------------------------------------------------


class TemplateRecord(TypedDict):
    """A stored template (TemplateItem), as get_template and list_templates read it."""

    id: str
    name: str
    channel: Channel
    template_kind: str
    subject: NotRequired[str]
    body: str
    created_at: str
    updated_at: str


class TemplateData(TypedDict):
    """A template as the domain writes it (put_template): no subject is None."""

    id: str
    name: str
    channel: Channel
    template_kind: str
    subject: str | None
    body: str
    created_at: str
    updated_at: str


# --- messages ------------------------------------------------------------------------


class MessageRecord(TypedDict):
    """A message's header (MessageItem), as get_message and list_messages read it."""

    id: str
    channel: Channel
    purpose: str
    template_id: NotRequired[str]
    subject: NotRequired[str]
    created_by: str
    created_by_name: str
    created_at: str
    send_at: str
    moved_by_quiet_hours: bool
    recipients: int
    queued: int
    sent: int
    failed: int
    skipped: int
    skipped_by_reason: dict[str, int]
    segments: int
    source: NotRequired[str]  # absent on messages made before headers named their source
    campus_ids: NotRequired[set[str]]  # absent: of no campus (only admins and its sender see it)


class NewMessage(TypedDict):
    """A message's header as the domain makes it (create_message, create_message_once)."""

    id: str
    channel: str  # enqueue takes a str; every caller passes "sms" or "email"
    purpose: str
    template_id: str | None
    subject: str | None
    created_by: str
    created_by_name: str
    created_at: str
    send_at: str
    moved_by_quiet_hours: bool
    recipients: int
    queued: int
    sent: int
    failed: int
    skipped: int
    skipped_by_reason: dict[str, int]
    segments: int
    source: str
    campus_ids: set[str] | None


# --- recipients ----------------------------------------------------------------------


class RecipientRecord(TypedDict):
    """A message's recipient (RecipientItem), as waiting and recipients_page read it."""

    n: int
    lead_id: NotRequired[str]
    name: NotRequired[str]
    to: NotRequired[str]
    subject: NotRequired[str]
    text: NotRequired[str]
    segments: int
    status: str
    reason: NotRequired[str]
    attempts: int
    next_try_at: NotRequired[str]
    lease_until: NotRequired[str]
    sent_at: NotRequired[str]
    provider_id: NotRequired[str]


class PlannedRecipient(TypedDict):
    """A recipient as planning makes it (written by create_message, shown by a dry run)."""

    n: int
    lead_id: str | None
    name: str | None
    to: str | None
    status: str
    reason: str | None
    text: str | None
    subject: str | None
    segments: int
    attempts: int


# --- the outbox ----------------------------------------------------------------------


class OutboxRecord(TypedDict):
    """What the outbox provider 'sent' (OutboxItem), as outbox_page reads it."""

    id: str
    at: str
    channel: Channel
    to: str
    subject: NotRequired[str]
    body: str
    html: NotRequired[str]  # an e-mail's HTML part; absent for SMS and older entries
    purpose: str
    reference: str
    segments: int
    lead_id: NotRequired[str]  # absent: a typed number's, or written before entries named their lead
