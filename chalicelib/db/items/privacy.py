"""Privacy: references from a lead's partition to what names the lead elsewhere (a message's
recipient, an outbox entry), the lead's retention marker, and the retention's back-fill."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.db.base import BaseItem


class LeadRefItem(BaseItem, discriminator="LeadRef"):
    """In a lead's partition (MSGREF#…, OUTREF#…): the key of an item in another partition
    that holds the lead's personal data, so export and erasure find it with one Query."""

    ref_pk = UnicodeAttribute()
    ref_sk = UnicodeAttribute()


class RetainItem(BaseItem, discriminator="Retain"):
    """In a lead's partition (LEAD#RETAIN): files the lead on the DUE index under the UTC day
    it was last touched (a lower bound: rewritten when a write falls in a later month)."""

    touched_on = UnicodeAttribute()


class RetentionBackfillItem(BaseItem, discriminator="RetentionBackfill"):
    """In the tenant partition (JOBCURSOR#retention_backfill): the school's walk of its leads
    that files a retention marker for each lead without one (docs/privacy.md). `generation`
    names the walk (a new one each time the setting is turned on or off: the item is deleted
    then, and a run holding an older generation writes nothing more); `cursor` (JSON: the
    partition and DynamoDB's LastEvaluatedKey) says how far it has read; `done` once every
    partition is read to its end."""

    generation = UnicodeAttribute()
    started_at = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)
    done = BooleanAttribute(default=False)
    read = NumberAttribute(default=0)  # leads read
    filed = NumberAttribute(default=0)  # markers filed
