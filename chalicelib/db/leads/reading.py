"""Reading leads: one, many, a lead's whole partition, its page (bounded), its history and
appointments page by page, phone claims, and the scoped lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.db import cursor as cursors
from chalicelib.db import followups as followups_db
from chalicelib.db import keys
from chalicelib.db import schedule as schedule_db
from chalicelib.db.base import BaseItem, connection
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
from chalicelib.db.leads.records import PhoneClaim, origin_entry, to_lead
from chalicelib.db.paging import Scope, first_page, query_partitions, scoped_page
from chalicelib.schemas.followups import FollowUp, Plan
from chalicelib.schemas.leads import HistoryEntry, Lead
from chalicelib.schemas.schedule import Appointment


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


def family(tenant: str, lead_id: str) -> tuple[Lead, list[str]] | None:
    """The lead and the ids of its siblings (what linking a lead to a family needs): the lead
    item, then the SIBLING# range of its partition (O(the family), not of its history)."""
    lead = get(tenant, lead_id)
    if lead is None:
        return None
    links = LeadLinkItem.query(keys.lead_pk(tenant, lead_id), LeadLinkItem.SK.startswith(keys.sibling_sk("")))
    return lead, [item.other_id for item in links]


def _history(item: LeadHistoryItem) -> HistoryEntry:
    details = item.details
    return HistoryEntry(
        at=item.at,
        by=item.by,
        action=item.action,
        # MapAttribute.as_dict is unannotated in pynamodb
        details=details.as_dict() if hasattr(details, "as_dict") else dict(details or {}),  # type: ignore[no-untyped-call]
    )


# --- the lead page: bounded whatever the lead's history ---------------------------------
# A lead's partition sorts APPT# < BIRTHDAY < CARD# < CONTRACT# < ENROL# < FU# < GRANT# <
# HIST# < LEAD < PLAN# < REFERRAL# < SIBLING# < TOLD# < TRIAL#. What grows without bound
# (appointments, follow-ups, history, plans) lies between the lead and its other parts, so no
# one range holds the lead and its latest follow-ups without the whole history between them:
# the page is four bounded Queries over four ranges, run at once (one round trip). Each costs
# at least one 4 KB read unit (0.5 RRU, eventually consistent) whatever it finds.

LATEST = 5  # follow-ups, appointments and history entries the lead page shows; the rest is paged
PARTS_CAP = 50  # plans with siblings and referrals, and contract/card/enrolment links: at most this many
LINKS_FIRST = 10  # links read in the appointments' Query; a lead with more takes a second Query


@dataclass
class LeadPage:
    """A lead and the latest of what hangs off it. `*_after`: where the paginated route goes
    on (the Query's LastEvaluatedKey) when the list may have more, else None; `truncated`:
    the bounded lists that reached PARTS_CAP ("plans", "links")."""

    lead: Lead
    history: list[HistoryEntry] = field(default_factory=list)  # newest first
    history_after: dict[str, Any] | None = None
    follow_ups: list[FollowUp] = field(default_factory=list)  # newest first
    follow_ups_after: dict[str, Any] | None = None
    appointments: list[Appointment] = field(default_factory=list)  # latest booked first
    appointments_after: dict[str, Any] | None = None
    plans: list[Plan] = field(default_factory=list)
    siblings: list[str] = field(default_factory=list)
    referrals: list[str] = field(default_factory=list)
    contract_ids: list[str] = field(default_factory=list)
    card_ids: list[str] = field(default_factory=list)
    enrolment_ids: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)


# name -> (lowest SK, highest SK, newest first, Limit). A range that stops at its Limit
# answers a LastEvaluatedKey: there may be more (an exact multiple gives a last, empty page).
# "lower" reads, newest first, the enrolment, contract and card links, the BIRTHDAY marker, then
# the latest appointments (every link sorts above every appointment).
_LOWER = (keys.APPOINTMENT_PREFIX, keys.ENROLMENT_PREFIX + "~", True)
_RANGES: dict[str, tuple[str, str, bool, int]] = {
    "head": (keys.HISTORY_PREFIX, keys.LEAD_SK, True, 1 + LATEST),  # the lead, then its newest history
    "follow_ups": (keys.FOLLOW_UP_PREFIX, keys.FOLLOW_UP_PREFIX + "~", True, LATEST),
    "family": (keys.PLAN_PREFIX, "SIBLING#~", True, PARTS_CAP),  # siblings, referrals, the newest plans
    "lower": (*_LOWER, LINKS_FIRST + 1 + LATEST),  # links, then the latest booked appointments
}


def _read_range(
    pk: str, low: str, high: str, newest_first: bool, limit: int, start: dict[str, Any] | None = None
) -> tuple[list[BaseItem], dict[str, Any] | None]:
    result = BaseItem.query(  # the base class: every item type of the range
        pk,
        BaseItem.SK.between(low, high),
        scan_index_forward=not newest_first,
        limit=limit,
        page_size=limit,
        last_evaluated_key=start,
    )
    return first_page(result, BaseItem)


def _links_and_appointments(
    pk: str, items: list[BaseItem], last: dict[str, Any] | None
) -> tuple[list[EnrolmentLinkItem | MemberLinkItem], bool, list[AppointmentItem], dict[str, Any] | None]:
    """The lower range read: (links, cut at PARTS_CAP?, the latest appointments, the key the
    appointments' route goes on from). When the links left fewer than LATEST appointments
    in the first Query (a lead with more than LINKS_FIRST of them), one more Query, from
    where it stopped, reads the rest of the links (up to PARTS_CAP) and of the LATEST."""
    is_link = (EnrolmentLinkItem, MemberLinkItem)
    links = [i for i in items if isinstance(i, is_link)]
    found = [i for i in items if isinstance(i, AppointmentItem)]
    if last is not None and len(found) < LATEST:
        budget = (0 if found else max(PARTS_CAP - len(links), 0) + 1) + LATEST + 1 - len(found)
        items, last = _read_range(pk, *_LOWER, budget, start=last)
        links += [i for i in items if isinstance(i, is_link)]
        found += [i for i in items if isinstance(i, AppointmentItem)]
    if last is not None and not found:  # more than PARTS_CAP links: the appointments from the top
        return links[:PARTS_CAP], True, [], {"PK": {"S": pk}, "SK": {"S": keys.APPOINTMENT_PREFIX + "~"}}
    if len(found) > LATEST:
        last = {"PK": {"S": pk}, "SK": {"S": found[LATEST - 1].SK}}
    return links[:PARTS_CAP], len(links) > PARTS_CAP, found[:LATEST], last


def page(tenant: str, lead_id: str) -> LeadPage | None:
    """The lead page's reads: four bounded Queries at once, eventually consistent (a page
    view), the same whether the lead has no history or years of it (a fifth for a lead with
    more than LINKS_FIRST contract, card and enrolment links). None: no such lead."""
    from concurrent.futures import ThreadPoolExecutor  # where used: the cold import stays lean

    pk = keys.lead_pk(tenant, lead_id)
    connection()  # made here, once: a botocore session must not build its client from several threads
    with ThreadPoolExecutor(max_workers=len(_RANGES)) as pool:
        running = {name: pool.submit(_read_range, pk, *spec) for name, spec in _RANGES.items()}
        read = {name: future.result() for name, future in running.items()}
    head, history_after = read["head"]
    if not head or not isinstance(head[0], LeadItem):
        return None
    follow_ups, follow_ups_after = read["follow_ups"]
    links, links_cut, appointments, appointments_after = _links_and_appointments(pk, *read["lower"])
    lead = to_lead(head[0])
    result = LeadPage(
        lead=lead,
        history=_with_origin([_history(i) for i in head[1:] if isinstance(i, LeadHistoryItem)], lead, history_after),
        history_after=history_after,
        follow_ups=[followups_db.to_follow_up(i) for i in follow_ups if isinstance(i, FollowUpItem)],
        follow_ups_after=follow_ups_after,
        appointments=[schedule_db.to_appointment(i) for i in appointments if isinstance(i, AppointmentItem)],
        appointments_after=appointments_after,
    )
    family, family_more = read["family"]
    result.truncated = [name for name, more in (("plans", family_more), ("links", links_cut)) if more]
    for item in family:
        if isinstance(item, PlanItem):
            result.plans.append(followups_db.to_plan(item))
        elif isinstance(item, LeadLinkItem):
            (result.siblings if item.SK.startswith("SIBLING#") else result.referrals).append(item.other_id)
    for item in reversed(links):  # read newest first; listed in key order, as before
        if isinstance(item, EnrolmentLinkItem):
            result.enrolment_ids.append(item.other_id)
        elif isinstance(item, MemberLinkItem):
            is_contract = item.SK.startswith(keys.CONTRACT_LINK_PREFIX)
            (result.contract_ids if is_contract else result.card_ids).append(item.other_id)
    return result


def _newest_page(
    model: type[Any], tenant: str, lead_id: str, prefix: str, limit: int, cursor: str | None, scope: str
) -> tuple[list[Any], str | None]:
    """One page of the lead's items under `prefix`, newest (highest SK) first, and the cursor on."""
    result = model.query(
        keys.lead_pk(tenant, lead_id),
        model.SK.startswith(prefix),
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    items, last_key = first_page(result, model)
    return items, cursors.encode(last_key, scope)


def _with_origin(newest_first: list[HistoryEntry], lead: Lead, more: Any) -> list[HistoryEntry]:
    """A page of the lead's stored history, newest first, and, on the page that ends it
    (nothing `more`), the entry kept on the lead that made it (records.origin_entry): the
    oldest of all. A page that stops at its limit always has more (DynamoDB answers a
    LastEvaluatedKey), so the entry never makes a page longer than its limit."""
    first = origin_entry(lead) if not more else None
    return [*newest_first, first] if first else newest_first


def history_page(
    tenant: str, lead: Lead, limit: int, cursor: str | None, scope: str
) -> tuple[list[HistoryEntry], str | None]:
    """A lead's history, newest first, one Query of `limit` entries a page; the last page ends
    with the entry that made the lead when it is kept on the lead."""
    items, next_cursor = _newest_page(LeadHistoryItem, tenant, lead.id, keys.HISTORY_PREFIX, limit, cursor, scope)
    return _with_origin([_history(i) for i in items], lead, next_cursor), next_cursor


def appointments_page(
    tenant: str, lead_id: str, limit: int, cursor: str | None, scope: str
) -> tuple[list[Appointment], str | None]:
    """A lead's appointments, the latest booked first, one Query of `limit` a page."""
    items, next_cursor = _newest_page(AppointmentItem, tenant, lead_id, keys.APPOINTMENT_PREFIX, limit, cursor, scope)
    return [schedule_db.to_appointment(i) for i in items], next_cursor


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
    if name == "custom":  # (key, value) pairs of the school's own fields, all to match
        condition = None
        for key, wanted in value:
            part = LeadItem.custom[key] == wanted
            condition = part if condition is None else condition & part
        return condition
    if name == "undated":  # not in the next-follow-up index (GSI1/GSI3 hold that index's key)
        return getattr(LeadItem, value).does_not_exist()
    return getattr(LeadItem, name) == value


def list_bin(tenant: str, limit: int, cursor: str | None, scope: str) -> tuple[list[Lead], str | None]:
    page = query_partitions(
        LeadItem, "GSI1", [keys.recycle_bin(tenant)], scope=scope, limit=limit, cursor=cursor, ascending=False
    )
    return [to_lead(i) for i in page.items], page.cursor
