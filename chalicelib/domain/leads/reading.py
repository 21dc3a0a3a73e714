"""A lead's detail, its full phones, and the lists of leads."""

from __future__ import annotations

from typing import Any, cast

from chalicelib.db import cursor as cursors
from chalicelib.db import leads as leads_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.db.leads import LeadPage
from chalicelib.db.paging import Scope
from chalicelib.domain import clock, ids, phones
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.leads.visibility import OWNERS, REVEALERS, _out, can_see
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import HistoryEntry, LeadDetail, LeadListQuery, LeadOut, RevealPhoneResponse
from chalicelib.schemas.schedule import Appointment
from chalicelib.schemas.users import Role


def get_lead(principal: Principal, lead_id: str) -> LeadDetail:
    """The lead page: bounded reads whatever the lead's history (db.leads.page), the latest
    follow-ups, appointments and history entries with the cursors of their paginated routes."""
    from chalicelib.domain import plan_access

    found: LeadPage | None = leads_db.page(principal.tenant, lead_id)
    plan_access.check(principal, found.lead if found else None, "GET /leads/{lead_id}")  # 404, or a plan's grant
    found = cast(LeadPage, found)  # check answered 404 LEAD_NOT_FOUND when there is none
    tenant, out = principal.tenant, _out(found.lead)
    return LeadDetail(
        **out.model_dump(),
        follow_ups=found.follow_ups,  # newest first, as read
        follow_ups_cursor=cursors.encode(found.follow_ups_after, follow_ups_scope(tenant, lead_id)),
        plans=sorted(found.plans, key=lambda p: (p.status != "open", p.planned_at)),
        appointments=found.appointments,  # the latest booked first, as read
        appointments_cursor=cursors.encode(found.appointments_after, appointments_scope(tenant, lead_id)),
        history=found.history[::-1],  # oldest first, as the page always showed it
        history_cursor=cursors.encode(found.history_after, history_scope(tenant, lead_id)),
        siblings=found.siblings,
        referrals=found.referrals,
        contract_ids=found.contract_ids,
        card_ids=found.card_ids,
        enrolment_ids=found.enrolment_ids,
        truncated=found.truncated,
    )


def follow_ups_scope(tenant: str, lead_id: str) -> str:
    """The list a lead's follow-up cursor belongs to: GET /follow-ups?lead= (domain.followups)."""
    return f"{tenant}:follow-ups:lead:{lead_id}"


def history_scope(tenant: str, lead_id: str) -> str:
    return f"{tenant}:lead-history:{lead_id}"


def appointments_scope(tenant: str, lead_id: str) -> str:
    return f"{tenant}:lead-appointments:{lead_id}"


def lead_history(principal: Principal, lead_id: str, limit: int, cursor: str | None) -> Page[HistoryEntry]:
    """A lead's history, newest first, for whoever may see the lead's page (GET /leads/{id})."""
    from chalicelib.domain import plan_access

    lead = plan_access.lead_for_plan_work(principal, lead_id, "GET /leads/{lead_id}/history")
    scope = history_scope(principal.tenant, lead.id)
    items, next_cursor = leads_db.history_page(principal.tenant, lead, limit, cursor, scope)
    return Page[HistoryEntry](items=items, next_cursor=next_cursor)


def lead_appointments(principal: Principal, lead_id: str, limit: int, cursor: str | None) -> Page[Appointment]:
    """A lead's appointments, the latest booked first, for whoever may see the lead's page."""
    from chalicelib.domain import plan_access

    lead = plan_access.lead_for_plan_work(principal, lead_id, "GET /leads/{lead_id}/appointments")
    scope = appointments_scope(principal.tenant, lead.id)
    items, next_cursor = leads_db.appointments_page(principal.tenant, lead.id, limit, cursor, scope)
    return Page[Appointment](items=items, next_cursor=next_cursor)


def reveal_phone(principal: Principal, lead_id: str, source_ip: str | None) -> RevealPhoneResponse:
    if principal.role not in REVEALERS:
        raise ForbiddenError("Your role may not see full phone numbers.", code="ROLE_FORBIDDEN")
    from chalicelib.domain import plan_access

    lead = plan_access.lead_for_plan_work(principal, lead_id, "POST /leads/{lead_id}/reveal-phone")
    entry = HistoryEntry(at=clock.now(), by=principal.user_id, action="phone_revealed", details={"ip": source_ip})
    leads_db.add_history(principal.tenant, lead.id, entry, ids.new_id())
    return RevealPhoneResponse(lead_id=lead.id, guardians=lead.guardians)


# --- lists -------------------------------------------------------------------------


def _looks_like_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return digits >= 6 and digits >= len(text.replace(" ", "").replace("-", "")) - 1


def campus_choice(principal: Principal, campus: str | None) -> str | None:
    """The campus a school-wide list or report covers for this caller: any (None: all) for
    admins and campus-less finance; else one of their own, the only one if they have one."""
    if principal.role is Role.admin or (principal.role is Role.finance and not principal.campus_ids):
        return campus
    if campus is None:
        if len(principal.campus_ids) != 1:
            raise ValidationFailedError(
                "campus: choose one of your campuses", details=[{"field": "campus", "message": "choose one"}]
            )
        return principal.campus_ids[0]
    if campus not in principal.campus_ids:
        raise ValidationFailedError(
            "campus: not one of your campuses", details=[{"field": "campus", "message": "not one of yours"}]
        )
    return campus


def all_campuses(tenant: str) -> list[str]:
    found, cursor = [], None
    while True:
        items, cursor = tenants_db.list_campuses(tenant, 100, cursor)
        found += [c.id for c in items]
        if not cursor:
            return found


def team_of(principal: Principal) -> list[str]:
    members, cursor = [principal.user_id], None
    while True:
        items, cursor = users_db.list_team(principal.tenant, principal.user_id, 100, cursor)
        members += [u.id for u in items]
        if not cursor:
            return members


def staff_of(tenant: str, campuses: list[str]) -> list[str]:
    """Active consultants and supervisors of these campuses (today's plans for managers)."""
    found, cursor = [], None
    while True:
        items, cursor = users_db.list_users(tenant, 100, cursor)
        found += [u.id for u in items if u.active and u.role in OWNERS and set(u.campus_ids) & set(campuses)]
        if not cursor:
            return found


def list_leads(principal: Principal, query: LeadListQuery) -> Page[LeadOut]:
    if query.q and _looks_like_phone(query.q):
        return _by_phone(principal, query.q)
    role, tenant = principal.role, principal.tenant
    if role is Role.teacher:
        raise ForbiddenError("Teachers see leads through their classes.", code="ROLE_FORBIDDEN")
    campuses = all_campuses(tenant) if role is Role.admin else list(principal.campus_ids)
    if query.campus:
        if query.campus not in campuses:
            return Page[LeadOut](items=[])
        campuses = [query.campus]
    scope: str = query.scope  # widened below to the combined scopes (mine+pool, team+pool, campus)
    if scope == "visible":
        scope = {Role.consultant: "mine+pool", Role.supervisor: "team+pool"}.get(role, "campus")
    me, pools = (principal.user_id,), tuple(campuses)
    if query.owner:
        if role is Role.consultant and query.owner != principal.user_id:
            return Page[LeadOut](items=[])
        if role is Role.supervisor and query.owner not in team_of(principal):
            return Page[LeadOut](items=[])
        where = Scope(users=(query.owner,))
    elif scope == "mine":
        where = Scope(users=me)
    elif scope == "pool":
        where = Scope(pools=pools)
    elif scope in ("team", "team+pool"):
        if role is not Role.supervisor:
            raise ForbiddenError("Only supervisors have a team.", code="ROLE_FORBIDDEN")
        where = Scope(users=tuple(team_of(principal)), pools=pools if scope == "team+pool" else ())
    elif scope == "mine+pool":
        where = Scope(users=me, pools=pools)
    else:
        where = Scope(campuses=pools)
    if where.empty:
        return Page[LeadOut](items=[])
    if query.sort == "newest":
        lo, hi = query.created_from, query.created_to
    else:
        lo, hi = query.next_from, query.next_to
    filters: dict[str, Any] = {
        "status": query.status,
        "source": query.source,
        "stage": query.stage,
        "importance": query.importance,
        "level": query.level,
        "tag": query.tag,
        "name_prefix": query.q,
        "campus_in": campuses if not where.by_campus and (query.campus or role is not Role.admin) else None,
        # the school's own fields (custom.<key> = value), on the same Query
        "custom": tenant_config.custom_filter(tenant_config.load(tenant), query.custom) if query.custom else None,
    }
    if query.sort == "newest" and (query.next_from or query.next_to):
        raise ValidationFailedError(
            "Filter by next follow-up with sort=next_follow_up.",
            details=[{"field": "next_from", "message": "needs sort=next_follow_up"}],
        )
    if query.sort != "newest" and (query.created_from or query.created_to):
        raise ValidationFailedError(
            "Filter by creation date with sort=newest.",
            details=[{"field": "created_from", "message": "needs sort=newest"}],
        )
    items, cursor = leads_db.list_page(
        tenant,
        scope_of=where,
        sort=query.sort,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{tenant}:leads:{principal.user_id}:{scope}:{query.sort}",
        range_from=clock.iso(lo) if lo else None,
        range_to=clock.iso(hi) if hi else None,
        filters=filters,
    )
    return Page[LeadOut](items=[_out(i) for i in items], next_cursor=cursor)


def _by_phone(principal: Principal, text: str) -> Page[LeadOut]:
    """A phone search goes straight to the phone's claim item."""
    region = get_tenant(principal.tenant).phone_region
    e164 = phones.normalise(text, region, field="q")
    claim = leads_db.phone_claim(principal.tenant, e164)
    found = []
    for lead_id in claim.lead_ids if claim else []:
        lead = leads_db.get(principal.tenant, lead_id)
        if lead is not None and lead.deleted_at is None and can_see(principal, lead):
            found.append(_out(lead))
    return Page[LeadOut](items=found)


def list_recycle_bin(principal: Principal, limit: int, cursor: str | None) -> Page[LeadOut]:
    items, next_cursor = leads_db.list_bin(principal.tenant, limit, cursor, f"{principal.tenant}:bin")
    if principal.role is not Role.admin:
        items = [i for i in items if i.campus_id in principal.campus_ids]
    return Page[LeadOut](items=[_out(i) for i in items], next_cursor=next_cursor)
