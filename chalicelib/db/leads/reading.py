"""Reading leads: one, many, a lead's whole partition, phone claims, and the scoped lists."""

from __future__ import annotations

from typing import Any

from chalicelib.db import followups as followups_db
from chalicelib.db import keys
from chalicelib.db import schedule as schedule_db
from chalicelib.db.base import BaseItem
from chalicelib.db.items import (
    AppointmentItem,
    EnrolmentLinkItem,
    FollowUpItem,
    LeadHistoryItem,
    LeadItem,
    LeadLinkItem,
    MemberLinkItem,
    PhoneItem,
    PlanItem,
)
from chalicelib.db.leads.records import LeadBundle, PhoneClaim, to_lead
from chalicelib.db.paging import Scope, query_partitions, scoped_page
from chalicelib.schemas.leads import HistoryEntry, Lead


def get(tenant: str, lead_id: str) -> Lead | None:
    try:
        return to_lead(LeadItem.get(keys.lead_pk(tenant, lead_id), keys.LEAD_SK))
    except LeadItem.DoesNotExist:
        return None


def batch_get(tenant: str, lead_ids: list[str]) -> list[Lead]:
    """Leads by id, in batches of 100 (BatchGetItem); missing ids are left out."""
    keys_ = [(keys.lead_pk(tenant, i), keys.LEAD_SK) for i in dict.fromkeys(lead_ids)]
    return [to_lead(item) for item in LeadItem.batch_get(keys_)]


def get_with_version(tenant: str, lead_id: str) -> tuple[Lead, int] | None:
    try:
        item = LeadItem.get(keys.lead_pk(tenant, lead_id), keys.LEAD_SK, consistent_read=True)
    except LeadItem.DoesNotExist:
        return None
    return to_lead(item), int(item.version or 0)


def bundle(tenant: str, lead_id: str) -> LeadBundle | None:
    """The lead and everything in its partition: one Query."""
    lead: Lead | None = None
    result = LeadBundle(lead=None)  # type: ignore[arg-type]
    for item in BaseItem.query(keys.lead_pk(tenant, lead_id)):  # the base class: no type filter
        if isinstance(item, LeadItem):
            lead = to_lead(item)
        elif isinstance(item, LeadHistoryItem):
            details = item.details
            result.history.append(
                HistoryEntry(
                    at=item.at,
                    by=item.by,
                    action=item.action,
                    # MapAttribute.as_dict is unannotated in pynamodb
                    details=details.as_dict() if hasattr(details, "as_dict") else dict(details or {}),  # type: ignore[no-untyped-call]
                )
            )
        elif isinstance(item, LeadLinkItem):
            (result.siblings if item.SK.startswith("SIBLING#") else result.referrals).append(item.other_id)
        elif isinstance(item, FollowUpItem):
            result.follow_ups.append(followups_db.to_follow_up(item))
        elif isinstance(item, PlanItem):
            result.plans.append(followups_db.to_plan(item))
        elif isinstance(item, AppointmentItem):
            result.appointments.append(schedule_db.to_appointment(item))
        elif isinstance(item, EnrolmentLinkItem):
            result.enrolment_ids.append(item.other_id)
        elif isinstance(item, MemberLinkItem):
            is_contract = item.SK.startswith(keys.CONTRACT_LINK_PREFIX)
            (result.contract_ids if is_contract else result.card_ids).append(item.other_id)
    if lead is None:
        return None
    result.lead = lead
    return result


def phone_claims(tenant: str, numbers: list[str]) -> dict[str, PhoneClaim]:
    """The claims on these numbers that exist, by number (BatchGetItem, 100 a call)."""
    keys_ = [(keys.phone_pk(tenant, e), keys.UNIQUE_SK) for e in dict.fromkeys(numbers)]
    found = {}
    for item in PhoneItem.batch_get(keys_):
        e164 = item.PK.rsplit("#", 1)[1]
        found[e164] = PhoneClaim(e164=e164, family_id=item.family_id, lead_ids=list(item.lead_ids or []))
    return found


def phone_claim(tenant: str, e164: str) -> PhoneClaim | None:
    try:
        item = PhoneItem.get(keys.phone_pk(tenant, e164), keys.UNIQUE_SK)
    except PhoneItem.DoesNotExist:
        return None
    return PhoneClaim(e164=e164, family_id=item.family_id, lead_ids=list(item.lead_ids or []))


UNDATED = "u."  # a next-follow-up list's cursor past its dated leads: those without a date follow


def list_page(
    tenant: str,
    *,
    scope_of: Scope,
    sort: str,
    limit: int,
    cursor: str | None,
    scope: str,
    range_from: str | None,
    range_to: str | None,
    filters: dict[str, Any],
) -> tuple[list[Lead], str | None]:
    """Newest first (GSI1/GSI3), or by next follow-up, soonest first (GSI2/GSI4), with the
    leads that have none last. GSI2/GSI4 hold only leads with a next follow-up (a sparse
    index: a lead without one is not copied there), so once they are read to the end the
    list goes on through GSI1/GSI3, oldest first, keeping the leads not in GSI2/GSI4; a
    range with an end (`range_to`) leaves those out, as before."""
    newest = sort == "newest"
    by_campus = scope_of.by_campus
    partitions = scope_of.partitions(
        lambda u: keys.owner_scope(tenant, u, ""),
        lambda c: keys.campus_scope(tenant, c),
        lambda c: keys.owner_scope(tenant, None, c),
    )
    created, dated = ("GSI3", "GSI4") if by_campus else ("GSI1", "GSI2")
    between = (range_from, range_to) if range_from or range_to else None
    if newest or not (cursor or "").startswith(UNDATED):
        page = scoped_page(
            LeadItem,
            created if newest else dated,
            partitions,
            scope=scope,
            limit=limit,
            cursor=cursor,
            ascending=not newest,
            between=between,
            filters=filters,
            clause=_clause,
        )
        found = [to_lead(i) for i in page.items]
        if newest or page.cursor or range_to:
            return found, page.cursor
        if len(found) >= limit:
            return found, UNDATED
        limit, cursor = limit - len(found), None
    else:
        found, cursor = [], (cursor or "")[len(UNDATED) :] or None
    undated = scoped_page(
        LeadItem,
        created,
        partitions,
        scope=f"{scope}:undated",
        limit=limit,
        cursor=cursor,
        ascending=True,
        between=None,
        filters={**filters, "undated": f"{dated}PK"},
        clause=_clause,
    )
    return found + [to_lead(i) for i in undated.items], (UNDATED + undated.cursor) if undated.cursor else None


def _clause(name: str, value: Any) -> Any:
    """A list filter as a condition on the lead item."""
    if name == "tag":
        return LeadItem.tags.contains(value)
    if name == "name_prefix":
        return LeadItem.name_key.startswith(value.casefold())
    if name == "campus_in":
        return LeadItem.campus_id.is_in(*value)
    if name == "undated":  # not in the next-follow-up index (GSI1/GSI3 hold that index's key)
        return getattr(LeadItem, value).does_not_exist()
    return getattr(LeadItem, name) == value


def list_bin(tenant: str, limit: int, cursor: str | None, scope: str) -> tuple[list[Lead], str | None]:
    page = query_partitions(
        LeadItem, "GSI1", [keys.recycle_bin(tenant)], scope=scope, limit=limit, cursor=cursor, ascending=False
    )
    return [to_lead(i) for i in page.items], page.cursor
