"""Leads and what hangs off them: history, family and referral links, phone claims,
follow-ups, planned contacts, imports."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from chalicelib.db.base import BaseItem
from chalicelib.db.items.attributes import raw_map, unicode_list


class LeadItem(BaseItem, discriminator="Lead"):
    """A lead (潜在客户). Index keys place it in its owner's (or the pool's) and its campus's lists."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    name_key = UnicodeAttribute()  # casefolded name, for prefix search
    nickname = UnicodeAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    school = UnicodeAttribute(null=True)
    grade = UnicodeAttribute(null=True)
    age = NumberAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    tags = unicode_list(default=list)
    # maps: name, relation, phones [{e164, raw}], ...
    guardians: ListAttribute[dict[str, Any]] = ListAttribute(default=list)
    phones = unicode_list(default=list)  # every guardian phone, E.164
    source = UnicodeAttribute(null=True)
    sub_source = UnicodeAttribute(null=True)
    referrer_lead_id = UnicodeAttribute(null=True)
    referrer_user_id = UnicodeAttribute(null=True)  # a member of staff who referred it
    family_id = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    owner_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    importance = UnicodeAttribute(null=True)
    stage = UnicodeAttribute(null=True)
    level = UnicodeAttribute(null=True)
    intended_courses = unicode_list(default=list)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    owned_since = UnicodeAttribute(null=True)
    last_contacted_at = UnicodeAttribute(null=True)
    next_follow_up_at = UnicodeAttribute(null=True)
    follow_up_count = NumberAttribute(null=True)  # ADDed by each follow-up (commutes with other writes)
    signed_on = UnicodeAttribute(null=True)
    conversion_days = NumberAttribute(null=True)
    deleted_at = UnicodeAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)  # its personal data was erased (docs/privacy.md)
    reclaim_on = UnicodeAttribute(null=True)  # protection period end (tenant-local date)
    assessments = JSONAttribute(null=True)
    # the history entry that made the lead (created, imported): read back as its oldest entry
    # (db/leads/records.py origin_entry) rather than written as an item of its own
    origin = JSONAttribute(null=True)
    assessment_total = NumberAttribute(null=True)
    # the school's own lead fields, by key (issue 19): left out while empty; GET /leads filters
    # on its paths (custom.<key> = :value)
    custom: MapAttribute[str, Any] = MapAttribute(null=True)  # type: ignore[no-untyped-call]
    version = NumberAttribute(default=0)


class LeadHistoryItem(BaseItem, discriminator="LeadHistory"):
    at = UnicodeAttribute()
    by = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    details = raw_map()


class LeadLinkItem(BaseItem, discriminator="LeadLink"):
    """In a lead's partition: a sibling (SIBLING#id) or a lead it referred (REFERRAL#id)."""

    other_id = UnicodeAttribute()


class PhoneItem(BaseItem, discriminator="Phone"):
    """Claims a guardian phone for one family of leads in a tenant (duplicate detection)."""

    family_id = UnicodeAttribute()
    lead_ids = unicode_list(default=list)


class FollowUpItem(BaseItem, discriminator="FollowUp"):
    """A contact with a lead (跟进), in the lead's partition; listed by consultant and campus."""

    id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    method = UnicodeAttribute()
    content = UnicodeAttribute()
    followed_at = UnicodeAttribute()
    next_follow_up_at = UnicodeAttribute(null=True)
    by = UnicodeAttribute()
    by_name = UnicodeAttribute()
    changes = raw_map()
    plan_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class PlanItem(BaseItem, discriminator="Plan"):
    """A planned contact (工作计划), in the lead's partition; GSI1 only while open."""

    id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    planned_at = UnicodeAttribute()
    purpose = UnicodeAttribute()
    assignee_id = UnicodeAttribute()
    assignee_name = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    status = UnicodeAttribute(default="open")
    done_at = UnicodeAttribute(null=True)
    follow_up_id = UnicodeAttribute(null=True)


class PlanGrantItem(BaseItem, discriminator="PlanGrant"):
    """In a lead's partition (GRANT#<user>): the open plans on the lead assigned to that user;
    while there is one, the user may do it (read the lead, record the follow-up)."""

    user_id = UnicodeAttribute()
    plan_ids = UnicodeSetAttribute(null=True)


class ImportItem(BaseItem, discriminator="Import"):
    """A lead import (批量导入): the uploaded file, its progress and its result."""

    id = UnicodeAttribute()
    status = UnicodeAttribute()  # queued, running, done, failed
    file_name = UnicodeAttribute()
    file_key = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)  # the default owner; none: the public pool
    rows = NumberAttribute(default=0)
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    finished_at = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)  # a running import whose lease passed is taken up again
    lease_owner = UnicodeAttribute(null=True)  # the run holding the lease: only it renews or finishes
    attempts = NumberAttribute(default=0)
    rows_done = NumberAttribute(null=True)  # while running: rows settled (written or refused); none: checking
    result = JSONAttribute(null=True)  # counts, ignored columns, whether there is an error sheet
    error = UnicodeAttribute(null=True)
