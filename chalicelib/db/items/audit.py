"""Derived data (the stream processor) and the audit trail."""

from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from chalicelib.db.base import BaseItem
from chalicelib.db.items.attributes import raw_map


class AggregateItem(BaseItem, discriminator="Aggregate"):
    """Counters of one period and dimension (report aggregates, access windows, usage). Its
    counters are top-level numbers with free names, added to with `ADD` by the stream
    processor and read raw (db/reports.py)."""


class SeenItem(BaseItem, discriminator="Seen"):
    """A stream record whose effects were applied (written with them); expires by TTL."""


class AuditItem(BaseItem, discriminator="Audit"):
    """Who did or read what, when, from where (系统操作历史); expires after the school's retention.
    Keyed by its user (keys.audit_pk) and time (SK `<at>#<id>`; the id is not repeated as an
    attribute since issue 17); GSI2 by lead when it names one. At most 1 KB (db/audit.py fits
    it). `at` stays an attribute: the stream's anti-scraping windows read it from the image."""

    id = UnicodeAttribute(null=True)  # entries before issue 17 only: now read off the SK
    at = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    role = UnicodeAttribute(null=True)
    action = UnicodeAttribute()  # read | write | sign_in | sign_in_failed | freeze | unfreeze | ...
    method = UnicodeAttribute(null=True)
    route = UnicodeAttribute(null=True)
    params = raw_map()
    lead_id = UnicodeAttribute(null=True)
    status = NumberAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    weight = NumberAttribute(null=True)  # what it counts for anti-scraping; absent: 0
    epoch = NumberAttribute(null=True)  # the user's access epoch when it was written; absent: 0
    details = UnicodeAttribute(null=True)
    campus_ids = UnicodeSetAttribute(null=True)  # the acting user's campuses then: who of the managers sees it
