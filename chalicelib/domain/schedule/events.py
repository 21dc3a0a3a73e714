"""Events (活动) and their sign-in sheets."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import leads as leads_db
from chalicelib.db import schedule as schedule_db
from chalicelib.domain import clock, ids, leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.clock import school_time
from chalicelib.domain.schedule.common import _check_campus, _invalid
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError, NotFoundError
from chalicelib.schemas.common import Page
from chalicelib.schemas.schedule import (
    EventCreateRequest,
    EventOut,
)
from chalicelib.schemas.users import Role


def _event_out(data: dict[str, Any]) -> EventOut:
    taken = int(data.get("taken") or 0)
    return EventOut(
        **{k: v for k, v in data.items() if k != "taken"},
        booked=taken,
        seats_left=max(0, int(data["capacity"]) - taken),
    )


def create_event(principal: Principal, request: EventCreateRequest) -> EventOut:
    timezone = get_tenant(principal.tenant).timezone
    starts_at = school_time(request.starts_at, timezone)
    if starts_at < clock.now():
        raise _invalid("starts_at", "must not be in the past")
    if request.campus_id:
        _check_campus(principal, request.campus_id)
    data = {
        **request.model_dump(mode="json"),
        "id": ids.new_id(),
        "starts_at": clock.iso(starts_at),
        "taken": 0,
        "waitlist": 0,
        "cancelled": False,
        "created_at": clock.iso(clock.now()),
    }
    for money in ("fee_credits", "fee_amount"):
        data[money] = str(getattr(request, money)) if getattr(request, money) is not None else None
    day = starts_at.astimezone(ZoneInfo(timezone)).date().isoformat()
    schedule_db.put_event(principal.tenant, data, day)
    return _event_out(data)


def get_event(principal: Principal, event_id: str) -> EventOut:
    data = schedule_db.get_event(principal.tenant, event_id)
    if data is None:
        raise NotFoundError("No such event.", code="EVENT_NOT_FOUND")
    return _event_out(data)


def events_on(principal: Principal, day: date | None) -> Page[EventOut]:
    timezone = get_tenant(principal.tenant).timezone
    day = day or clock.now().astimezone(ZoneInfo(timezone)).date()
    return Page[EventOut](items=[_event_out(e) for e in schedule_db.events_on(principal.tenant, day.isoformat())])


def sign_in_sheet(principal: Principal, event_id: str) -> tuple[EventOut, list[dict[str, Any]]]:
    """The event and its booked guests, by name (for the printed sheet): only the guests
    whose leads the caller may see (the lead list's rule), so another campus's children do
    not appear. Teachers get no sheet: an event does not know who teaches it."""
    if principal.role is Role.teacher:
        raise ForbiddenError("Teachers do not print event sign-in sheets.", code="ROLE_FORBIDDEN")
    event = get_event(principal, event_id)
    booked = [b for b in schedule_db.bookings(principal.tenant, event_id=event_id) if b["state"] == "booked"]
    found = {lead.id: lead for lead in leads_db.batch_get(principal.tenant, [b["lead_id"] for b in booked])}
    team = leads.team_of(principal) if principal.role is Role.supervisor else None
    guests = [b for b in booked if b["lead_id"] in found and leads.can_see(principal, found[b["lead_id"]], team)]
    return event, sorted(guests, key=lambda b: b["lead_name"])
