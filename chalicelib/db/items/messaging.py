"""Messaging: templates, messages and their recipients, marketing caps, the outbox, job
cursors, birthdays filed for greetings."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from chalicelib.db.base import BaseItem
from chalicelib.db.items.attributes import raw_map


class TemplateItem(BaseItem, discriminator="Template"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    channel = UnicodeAttribute()
    template_kind = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class MessageItem(BaseItem, discriminator="Message"):
    """A send (one or many recipients); its counts move as recipients are sent."""

    id = UnicodeAttribute()
    channel = UnicodeAttribute()
    purpose = UnicodeAttribute()
    template_id = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    send_at = UnicodeAttribute()
    moved_by_quiet_hours = BooleanAttribute(default=False)
    recipients = NumberAttribute()
    queued = NumberAttribute()
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    skipped = NumberAttribute()
    skipped_by_reason = raw_map()
    segments = NumberAttribute(default=0)
    source = UnicodeAttribute(null=True)  # what made it: a user, or a job (birthday, reminder, ...)
    campus_ids = UnicodeSetAttribute(null=True)  # its recipients' campuses (and a typed send's sender's)


class RecipientItem(BaseItem, discriminator="Recipient"):
    """One recipient of a message, with its own rendering; status moves queued → sending →
    sent | failed (or skipped from the start), each step conditional on the one before."""

    n = NumberAttribute()
    lead_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    to = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    segments = NumberAttribute(default=0)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    next_try_at = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)


class CounterItem(BaseItem, discriminator="Counter"):
    """A count in a window (marketing messages to one recipient in a day); expires by TTL."""

    # Shadows Model.count (the classmethod) on this class: the stored attribute is named `count`.
    count = NumberAttribute(default=0)  # type: ignore[assignment]


class OutboxItem(BaseItem, discriminator="Outbox"):
    """What the outbox provider 'sent' (local and dev stages); expires by TTL."""

    id = UnicodeAttribute()
    at = UnicodeAttribute()
    channel = UnicodeAttribute()
    to = UnicodeAttribute()
    subject = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    html = UnicodeAttribute(null=True)  # an e-mail's HTML part (body: its plain-text alternative)
    purpose = UnicodeAttribute()
    reference = UnicodeAttribute()
    segments = NumberAttribute(default=0)
    lead_id = UnicodeAttribute(null=True)  # whom it was for: who may see the full number


class JobCursorItem(BaseItem, discriminator="JobCursor"):
    """How far a platform job has read its time buckets."""

    bucket = UnicodeAttribute()


class HolidayRunItem(BaseItem, discriminator="HolidayRun"):
    """In the tenant partition: a holiday greeting's walk of its audience on one day, resumable.
    `cursor` (JSON: the partition and DynamoDB's LastEvaluatedKey) says how far it has read; a
    run holds it by `lease_owner` until `lease_until`; `done` once the audience is read to its
    end. Expires (TTL) a month after the day."""

    cursor = UnicodeAttribute(null=True)
    done = BooleanAttribute(default=False)
    lease_until = UnicodeAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)
    read = NumberAttribute(default=0)  # audience entries read
    made = NumberAttribute(default=0)  # greetings made (a message each)
    skipped = NumberAttribute(default=0)  # not greeted: status, opt-out, no phone or e-mail, gone


class BirthdayItem(BaseItem, discriminator="Birthday"):
    """In a lead's partition: files a live lead with a birthday under DUE `BIRTHDAY#<MM-DD>`."""

    month_day = UnicodeAttribute()
