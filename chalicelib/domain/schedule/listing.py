"""Reading appointments: the lists, by who may see them, and a span of a calendar."""

from __future__ import annotations

from chalicelib.db import schedule as schedule_db
from chalicelib.db.paging import Scope
from chalicelib.domain import leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.schedule.common import _local_day_range
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError
from chalicelib.schemas.common import Page
from chalicelib.schemas.schedule import (
    Appointment,
    AppointmentListQuery,
)
from chalicelib.schemas.users import Role


def list_appointments(principal: Principal, query: AppointmentListQuery) -> Page[Appointment]:
    tenant = get_tenant(principal.tenant)
    where = appointment_scope(principal)
    if where.empty:
        return Page[Appointment](items=[])
    lo = hi = None
    if query.date:
        lo, hi = _local_day_range(query.date, tenant.timezone)
    items, cursor = schedule_db.list_appointments(
        principal.tenant,
        where=where,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:appointments:{principal.user_id}:{query.date}",
        range_from=lo,
        range_to=hi,
        filters={"kind": query.kind, "status": query.status, "attendance": query.attendance},
    )
    return Page[Appointment](items=items, next_cursor=cursor)


def appointment_scope(principal: Principal, team: list[str] | None = None) -> Scope:
    role = principal.role
    if role is Role.teacher:
        raise ForbiddenError("Teachers see their classes through sessions.", code="ROLE_FORBIDDEN")
    if role is Role.consultant:
        return Scope(users=(principal.user_id,))
    if role is Role.supervisor:
        return Scope(users=tuple(team or leads.team_of(principal)))
    if team:  # a manager's or admin's pick of consultants, already checked against their campuses
        return Scope(users=tuple(team))
    campuses = leads.all_campuses(principal.tenant) if role is Role.admin else list(principal.campus_ids)
    return Scope(campuses=tuple(campuses))


def appointments_between(
    principal: Principal, lo: str, hi: str, limit: int, team: list[str] | None = None
) -> tuple[list[Appointment], bool]:
    """Booked appointments in a time range for the dashboard (one Query per partition)."""
    where = appointment_scope(principal, team)
    found, more = [], False
    # one partition at a time, so each contributes up to `limit` of the day's appointments
    singles = [Scope(campuses=(c,)) for c in where.campuses] or [Scope(users=(u,)) for u in where.users]
    for single in singles:
        items, cursor = schedule_db.list_appointments(
            principal.tenant,
            where=single,
            limit=limit,
            cursor=None,
            scope="dash",
            range_from=lo,
            range_to=hi,
            filters={"status": "booked"},
        )
        found += items
        more = more or cursor is not None
    return found, more
