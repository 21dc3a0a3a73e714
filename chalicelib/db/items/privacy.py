"""Privacy: references from a lead's partition to what names the lead elsewhere (a message's
recipient, an outbox entry), and the lead's retention marker."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

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
