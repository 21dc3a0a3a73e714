"""Follow-ups (跟进), work plans (工作计划) and today's work (工作任务)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from chalicelib.db import followups as followups_db
from chalicelib.db import leads as leads_db
from chalicelib.db import users as users_db
from chalicelib.db.lead_fields import Snapshot
from chalicelib.db.paging import Scope
from chalicelib.domain import clock, ids, lead_writes, leads, plan_access
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.clock import school_time
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.followups import (
    DueLead,
    FollowUp,
    FollowUpCreateRequest,
    FollowUpListQuery,
    Notification,
    Plan,
    PlanCreated,
    PlanCreateRequest,
    PlanPatchRequest,
    Today,
    TodayBucket,
)
from chalicelib.schemas.leads import Lead
from chalicelib.schemas.schedule import Appointment
from chalicelib.schemas.settings import DictionaryKind
from chalicelib.schemas.tenants import Tenant
from chalicelib.schemas.users import Role, UserRecord

CLOCK_SKEW = timedelta(minutes=1)


def _not_in_past(value: datetime | None, field: str) -> None:
    if value is not None and value < clock.now() - CLOCK_SKEW:
        raise ValidationFailedError(
            f"{field} is in the past.", details=[{"field": field, "message": "must not be before now"}]
        )


# --- follow-ups --------------------------------------------------------------------


def record(principal: Principal, lead_id: str, request: FollowUpCreateRequest) -> FollowUp:
    """A contact with the lead; the lead's status, stage, importance, last contact, next
    follow-up and protection period change with it, in one transaction. Appending never
    conflicts with another append: only the fields the caller sets (status, importance,
    stage, the next follow-up time) conflict with a change of the same field meanwhile
    (see domain.lead_writes). A teammate holding an open plan on the lead may record the
    follow-up that completes it (domain.plan_access)."""
    tenant = get_tenant(principal.tenant)
    config = tenant_config.load(principal.tenant)
    now = clock.now()
    followed_at = school_time(request.followed_at, tenant.timezone) or now
    if followed_at > now + CLOCK_SKEW:
        raise ValidationFailedError(
            "followed_at is in the future.", details=[{"field": "followed_at", "message": "must not be in the future"}]
        )
    next_at = school_time(request.next_follow_up_at, tenant.timezone)
    _not_in_past(next_at, "next_follow_up_at")
    method = config.entry(DictionaryKind.follow_up_methods, request.method)
    if method is None or method.retired:
        raise ValidationFailedError(
            f"Unknown follow-up method {request.method!r}.",
            details=[{"field": "method", "message": "not in the school's list"}],
        )
    follow_up_id, granted = ids.new_id(), []

    def work(read: Snapshot) -> FollowUp:
        nonlocal granted
        lead = read.lead
        granted = [] if leads.can_see(principal, lead) else plan_access.plans_granting(principal, lead)
        if not granted and not leads.can_see(principal, lead):
            raise leads._not_found()
        leads.require_live(lead)
        if granted and request.plan_id not in granted:
            raise ValidationFailedError(
                "You see this lead through a plan assigned to you: name it in plan_id.",
                details=[{"field": "plan_id", "message": "one of your open plans on this lead"}],
            )
        follow_up, updated, done_plan, used = _contact(principal, config, tenant, lead, request, follow_up_id)

        def also(tx: Any) -> None:
            followups_db.add_to_lead_write(tx, principal.tenant, follow_up, done_plan)

        edits = {*follow_up.changes, *(["next_follow_up_at"] if next_at else [])}
        lead_writes.intending(
            edits,
            lambda: leads_db.save_fields(
                principal.tenant, read, updated, used=used, also=also, counters={"follow_up_count": 1}
            ),
        )
        return follow_up

    follow_up = lead_writes.change(principal.tenant, lead_id, work, leads._not_found)
    if granted:
        plan_access.audit_use(principal, lead_id, granted, "POST /leads/{lead_id}/follow-ups")
    return follow_up


def _contact(
    principal: Principal,
    config: tenant_config.TenantConfig,
    tenant: Tenant,
    lead: Lead,
    request: FollowUpCreateRequest,
    fid: str,
) -> tuple[FollowUp, Lead, Plan | None, dict[str, set[str]]]:
    """(the follow-up, the lead with what it changes, the plan it completes, dictionary use)."""
    now = clock.now()
    followed_at = school_time(request.followed_at, tenant.timezone) or now
    next_at = school_time(request.next_follow_up_at, tenant.timezone)
    changes = {k: v for k, v in request.model_dump(include={"status", "importance", "stage"}).items() if v}
    current = lead.model_dump()
    used = tenant_config.check_lead_values(config, {**current, **changes}, current)
    if request.method not in config.dictionaries[DictionaryKind.follow_up_methods].used:
        used.setdefault(DictionaryKind.follow_up_methods.value, set()).add(request.method)
    plan = None
    if request.plan_id:
        plan = followups_db.get_plan(principal.tenant, lead.id, request.plan_id)
        if plan is None or plan.status != "open":
            raise ValidationFailedError(
                "That plan is not open on this lead.", details=[{"field": "plan_id", "message": "no open plan"}]
            )
    follow_up = FollowUp(
        id=fid,
        lead_id=lead.id,
        lead_name=lead.name,
        campus_id=lead.campus_id,
        method=request.method,
        content=request.content,
        followed_at=followed_at,
        next_follow_up_at=next_at,
        by=principal.user_id,
        by_name=principal.display_name,
        changes=changes,
        plan_id=request.plan_id,
        created_at=now,
    )
    if next_at is None and lead.next_follow_up_at is not None and lead.next_follow_up_at <= now:
        next_lead_at = None  # this contact was the one that was due
    else:
        next_lead_at = next_at or lead.next_follow_up_at
    last = max(filter(None, (lead.last_contacted_at, followed_at)))
    updated = lead.model_copy(
        update={**changes, "last_contacted_at": last, "next_follow_up_at": next_lead_at, "updated_at": now}
    )
    updated = leads.protected_until(updated, config.lead_settings, tenant.timezone)
    done_plan = None
    if plan is not None:
        done_plan = plan.model_copy(update={"status": "done", "done_at": now, "follow_up_id": follow_up.id})
    return follow_up, updated, done_plan, used


class _Listing(TypedDict):
    """What every listing of follow-ups passes on to the table: the page and the filters."""

    limit: int
    cursor: str | None
    range_from: str | None
    range_to: str | None
    method: str | None


def list_follow_ups(principal: Principal, query: FollowUpListQuery) -> Page[FollowUp]:
    tenant = principal.tenant
    lo = clock.iso(query.from_) if query.from_ else None
    hi = clock.iso(query.to) if query.to else None
    if lo and hi and hi < lo:
        raise ValidationFailedError("to: must not be before from", details=[{"field": "to", "message": "before from"}])
    common: _Listing = {
        "limit": query.limit,
        "cursor": query.cursor,
        "range_from": lo,
        "range_to": hi,
        "method": query.method,
    }
    policy = tenant_config.load(tenant).lead_settings.history_visibility  # 共享策略: who reads history
    if query.lead:
        lead = leads_db.get(tenant, query.lead)
        if lead is None or not leads.history_shared(principal, lead, policy):
            plan_access.check(principal, lead, "GET /follow-ups?lead=")  # seen, or a plan's grant; else 404
        items, cursor = followups_db.list_follow_ups(
            tenant, lead_id=query.lead, where=Scope(), scope=f"{tenant}:follow-ups:lead:{query.lead}", **common
        )
        return Page[FollowUp](items=items, next_cursor=cursor)
    role = principal.role
    if role is Role.teacher:
        raise ForbiddenError("Teachers see follow-ups through their classes.", code="ROLE_FORBIDDEN")
    reach = leads.history_reach(principal, policy)
    ordinary = False  # what the caller reads whatever the policy: their own, their team's
    if query.consultant:
        ordinary = query.consultant == principal.user_id or (
            role is Role.supervisor and query.consultant in leads.team_of(principal)
        )
        if not ordinary and reach is None:
            raise ForbiddenError("You may not look at that consultant's follow-ups.", code="ROLE_FORBIDDEN")
        where = Scope(users=(query.consultant,))
    elif query.campus and reach is not None:
        campuses = leads.all_campuses(tenant) if reach == "school" else list(principal.campus_ids)
        where = Scope(campuses=tuple(c for c in campuses if c == query.campus))
    elif role is Role.consultant:
        where, ordinary = Scope(users=(principal.user_id,)), True
    elif role is Role.supervisor:
        where, ordinary = Scope(users=tuple(leads.team_of(principal))), True
    else:
        campuses = leads.all_campuses(tenant) if role is Role.admin else list(principal.campus_ids)
        where = Scope(campuses=tuple(campuses))
    if where.empty:
        return Page[FollowUp](items=[])
    items, cursor = followups_db.list_follow_ups(
        tenant,
        lead_id=None,
        where=where,
        scope=f"{tenant}:follow-ups:{principal.user_id}:{query.consultant}:{query.campus}",
        **common,
    )
    if reach == "campus" and not ordinary:
        items = [i for i in items if i.campus_id in principal.campus_ids]
    return Page[FollowUp](items=items, next_cursor=cursor)


# --- work plans --------------------------------------------------------------------


def _assignee(principal: Principal, assignee_id: str, campus_id: str) -> UserRecord:
    """Plans go to yourself or a teammate (same supervisor); supervisors and up: anyone in the campus."""
    user = users_db.get(principal.tenant, assignee_id)
    if user is None or not user.active or user.role not in leads.OWNERS or campus_id not in user.campus_ids:
        raise ValidationFailedError(
            "A plan goes to an active consultant or supervisor of the lead's campus.",
            details=[{"field": "assignee_id", "message": "not a possible assignee"}],
        )
    if principal.role is Role.consultant and user.id != principal.user_id:
        me = principal.user  # read by authentication already
        if me is None or me.supervisor_id is None or user.supervisor_id != me.supervisor_id:
            raise ForbiddenError("A consultant hands plans only to teammates.", code="NOT_YOUR_TEAM")
    return user


def create_plan(principal: Principal, lead_id: str, request: PlanCreateRequest) -> PlanCreated:
    lead = leads.visible_lead(principal, lead_id)
    tenant = get_tenant(principal.tenant)
    planned_at = school_time(request.planned_at, tenant.timezone)
    _not_in_past(planned_at, "planned_at")
    assignee = _assignee(principal, request.assignee_id or principal.user_id, lead.campus_id)
    others = [p for p in followups_db.plans_of_lead(principal.tenant, lead.id) if p.status == "open"]
    plan = Plan(
        id=ids.new_id(),
        lead_id=lead.id,
        lead_name=lead.name,
        planned_at=planned_at,
        purpose=request.purpose,
        assignee_id=assignee.id,
        assignee_name=assignee.display_name,
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    followups_db.save_plan(principal.tenant, plan, new=True)
    return PlanCreated(plan=plan, other_plans=sorted(others, key=lambda p: p.planned_at))


def patch_plan(principal: Principal, lead_id: str, plan_id: str, request: PlanPatchRequest) -> Plan:
    lead = leads.visible_lead(principal, lead_id)
    plan = followups_db.get_plan(principal.tenant, lead.id, plan_id)
    if plan is None:
        raise NotFoundError("No such plan.", code="PLAN_NOT_FOUND")
    if plan.status != "open":
        raise ConflictError("The plan is already closed.", code="PLAN_CLOSED")
    changes: dict[str, Any] = {}
    if request.planned_at is not None:
        changes["planned_at"] = school_time(request.planned_at, get_tenant(principal.tenant).timezone)
        _not_in_past(changes["planned_at"], "planned_at")
    if request.purpose is not None:
        changes["purpose"] = request.purpose
    if request.assignee_id is not None and request.assignee_id != plan.assignee_id:
        assignee = _assignee(principal, request.assignee_id, lead.campus_id)
        changes.update(assignee_id=assignee.id, assignee_name=assignee.display_name)
    if request.status == "cancelled":
        changes.update(status="cancelled", done_at=clock.now())
    updated = plan.model_copy(update=changes)
    followups_db.save_plan(principal.tenant, updated, new=False, before=plan)  # the grant moves with it
    return updated


# --- today -------------------------------------------------------------------------


PLANNING_DAYS = 366  # how far from today the dashboard shows another day


def _one_consultant(principal: Principal, members: list[str], consultant_id: str) -> list[str]:
    """The one consultant whose work a supervisor, manager or admin picked; 404 when they are
    not of the caller's team or campuses (nobody else's staff is confirmed or denied)."""
    if principal.role in (Role.consultant, Role.teacher) and consultant_id != principal.user_id:
        raise ForbiddenError("Only supervisors, managers and admins pick a consultant.", code="ROLE_FORBIDDEN")
    if consultant_id != principal.user_id and consultant_id not in members:
        raise NotFoundError("No such consultant in your team or campuses.", code="USER_NOT_FOUND")
    return [consultant_id]


def today(principal: Principal, limit: int = 100, day: date | None = None, consultant_id: str | None = None) -> Today:
    """Today's work (or `day`'s: tomorrow, to plan it) in the school's time zone, scoped like
    the lead lists, or one consultant's of the caller's team or campuses (`consultant_id`).
    Overdue means due before that day began. Each list is one bounded Query per owner, team
    member or campus: its cost does not grow with history."""
    tenant = get_tenant(principal.tenant)
    zone = ZoneInfo(tenant.timezone)
    local_today = clock.now().astimezone(zone).date()
    if day is not None and abs((day - local_today).days) > PLANNING_DAYS:
        message = f"within {PLANNING_DAYS} days of today ({local_today.isoformat()}, school time)"
        raise ValidationFailedError(f"date: {message}", details=[{"field": "date", "message": message}])
    local_today = day or local_today
    start = datetime.combine(local_today, time.min, tzinfo=zone)
    end = start + timedelta(days=1) - timedelta(milliseconds=1)
    role = principal.role
    members: list[str]
    campuses: list[str]
    if role is Role.consultant:
        members, campuses = [principal.user_id], []
    elif role is Role.supervisor:
        members, campuses = leads.team_of(principal), []
    elif role is Role.teacher:
        members, campuses = [], []
    else:
        campuses = leads.all_campuses(principal.tenant) if role is Role.admin else list(principal.campus_ids)
        members = leads.staff_of(principal.tenant, campuses)
    if consultant_id is not None:
        members, campuses = _one_consultant(principal, members, consultant_id), []
    where = Scope(campuses=tuple(campuses)) if campuses else Scope(users=tuple(members))
    due, more = followups_db.due_leads(principal.tenant, where, until_iso=clock.iso(end), limit=limit)
    rows = []
    for i in due:
        if not i.next_follow_up_at:
            continue
        at = datetime.fromisoformat(i.next_follow_up_at.replace("Z", "+00:00"))
        rows.append(
            DueLead(
                id=i.id,
                name=i.name,
                owner_id=i.owner_id,
                owner_name=i.owner_name,
                status=i.status,
                next_follow_up_at=at,
                overdue=at < start,
            )
        )
    rows.sort(key=lambda r: r.next_follow_up_at)
    plans, plans_more = followups_db.plans_due(principal.tenant, members, until_iso=clock.iso(end), limit=limit)
    plans.sort(key=lambda p: p.planned_at)
    overdue = [r for r in rows if r.overdue]
    due_today = [r for r in rows if not r.overdue]
    from chalicelib.domain import schedule

    booked: list[Appointment]
    if role is Role.teacher:
        booked, booked_more = [], False
    else:
        one = consultant_id is not None
        booked, booked_more = schedule.appointments_between(
            principal,
            clock.iso(start),
            clock.iso(end),
            limit,
            team=members if role is Role.supervisor or one else None,
        )
    booked.sort(key=lambda a: a.at)

    def kind(name: str) -> TodayBucket:
        items = [a for a in booked if a.kind == name]
        return TodayBucket(count=len(items), more=booked_more, items=items)

    return Today(
        date=local_today.isoformat(),
        timezone=tenant.timezone,
        contacts_due=TodayBucket(count=len(due_today), more=more, items=due_today),
        contacts_overdue=TodayBucket(count=len(overdue), more=more, items=overdue),
        plans_due=TodayBucket(count=len(plans), more=plans_more, items=plans),
        visits=kind("visit"),
        trials=kind("trial"),
        events=kind("event"),
    )


def check_next(principal: Principal, request: FollowUpCreateRequest) -> None:
    """Validates a follow-up's next time before other writes depend on it (walk-ins)."""
    timezone = get_tenant(principal.tenant).timezone
    _not_in_past(school_time(request.next_follow_up_at, timezone), "next_follow_up_at")


def notifications(principal: Principal, limit: int, cursor: str | None) -> Page[Notification]:
    from chalicelib.db import schedule as schedule_db

    items, next_cursor = schedule_db.list_notifications(principal.tenant, principal.user_id, limit, cursor)
    return Page[Notification](items=[Notification.model_validate(i) for i in items], next_cursor=next_cursor)
