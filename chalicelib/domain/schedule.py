"""The schedule trial classes and events need, and appointments (邀约): visits, trials, events."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import leads as leads_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import transactions
from chalicelib.db.paging import Scope
from chalicelib.domain import attendance, clock, event_fees, ids, leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.clock import school_time
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import BusyError, ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import Lead
from chalicelib.schemas.schedule import (
    Appointment,
    AppointmentCreateRequest,
    AppointmentListQuery,
    AppointmentPatchRequest,
    ClassCreateRequest,
    ClassOut,
    Course,
    CourseCreateRequest,
    EventCreateRequest,
    EventOut,
    GeneratedSessions,
    SessionGenerateRequest,
    SessionOut,
    SessionPatchRequest,
)
from chalicelib.schemas.users import Role

# Teachers will mark attendance from their class lists once check-in lands with cards (issue 5);
# until then they see no leads, so they are not among these roles.
ATTENDANCE_ROLES = frozenset({Role.admin, Role.manager, Role.frontdesk, Role.supervisor, Role.consultant})


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(message, details=[{"field": field, "message": message}])


def _local_day_range(day: date, timezone: str) -> tuple[str, str]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return clock.iso(start), clock.iso(start + timedelta(days=1) - timedelta(milliseconds=1))


def _check_campus(principal: Principal, campus_id: str) -> None:
    if principal.role is not Role.admin and campus_id not in principal.campus_ids:
        raise _invalid("campus_id", "not one of your campuses")
    if not tenants_db.existing_campus_ids(principal.tenant, [campus_id]):
        raise _invalid("campus_id", "unknown campus")


def _plans_campus(principal: Principal, campus_id: str) -> bool:
    """A manager plans their own campuses' classes; another campus's are not found."""
    return principal.role is Role.admin or campus_id in principal.campus_ids


# --- courses, classes, sessions ----------------------------------------------------


def create_course(principal: Principal, request: CourseCreateRequest) -> Course:
    course = Course(id=ids.new_id(), created_at=clock.now(), **request.model_dump())
    data = course.model_dump(mode="json")
    data["lesson_cost"] = str(course.lesson_cost)
    schedule_db.put_course(principal.tenant, data)
    return course


def list_courses(principal: Principal) -> Page[Course]:
    return Page[Course](items=[Course.model_validate(c) for c in schedule_db.list_courses(principal.tenant)])


def create_class(principal: Principal, request: ClassCreateRequest) -> ClassOut:
    course = schedule_db.get_course(principal.tenant, request.course_id)
    if course is None:
        raise _invalid("course_id", "unknown course")
    _check_campus(principal, request.campus_id)
    cls = ClassOut(id=ids.new_id(), course_name=course["name"], created_at=clock.now(), **request.model_dump())
    schedule_db.put_class(principal.tenant, cls.model_dump(mode="json"))
    return cls


def list_classes(principal: Principal) -> Page[ClassOut]:
    return Page[ClassOut](items=[ClassOut.model_validate(c) for c in schedule_db.list_classes(principal.tenant)])


def _session_out(data: dict[str, Any]) -> SessionOut:
    return SessionOut(
        **{k: v for k, v in data.items() if k not in ("taken", "trials")},
        trials=int(data.get("trials") or 0),
        seats_left=max(0, int(data["capacity"]) - int(data.get("taken") or 0)),
    )


def generate_sessions(principal: Principal, class_id: str, request: SessionGenerateRequest) -> GeneratedSessions:
    """Creates the class's sessions for a date range; running it again creates nothing twice."""
    cls = schedule_db.get_class(principal.tenant, class_id)
    if cls is None or not _plans_campus(principal, cls["campus_id"]):
        raise NotFoundError("No such class.", code="CLASS_NOT_FOUND")
    zone = ZoneInfo(get_tenant(principal.tenant).timezone)
    first = max(request.from_, date.fromisoformat(cls["start_date"]))
    last = min(request.to, date.fromisoformat(cls["end_date"]))
    created = existing = 0
    sessions = []
    day = first
    while day <= last:
        for slot in cls["slots"]:
            if slot["weekday"] != day.isoweekday():
                continue
            hour, minute = map(int, slot["start"].split(":"))
            starts_at = datetime.combine(day, time(hour, minute), tzinfo=zone)
            data = {
                "id": f"{class_id}-{day:%Y%m%d}-{slot['start'].replace(':', '')}",
                "class_id": class_id,
                "course_id": cls["course_id"],
                "course_name": cls["course_name"],
                "campus_id": cls["campus_id"],
                "teacher": cls["teacher"],
                "room": cls.get("room"),
                "date": day.isoformat(),
                "start": slot["start"],
                "end": slot["end"],
                "starts_at": clock.iso(starts_at),
                "capacity": int(cls["capacity"]),
                "regular": 0,
                "trials": 0,
                "taken": 0,
                "waitlist": 0,
                "cancelled": False,
            }
            if schedule_db.put_session_if_absent(principal.tenant, data):
                created += 1
            else:
                existing += 1
            sessions.append(_session_out(data))
        day += timedelta(days=1)
    return GeneratedSessions(created=created, existing=existing, sessions=sessions)


def sessions_on(principal: Principal, day: date, campus_id: str | None) -> Page[SessionOut]:
    found = schedule_db.sessions_on(principal.tenant, day.isoformat(), campus_id)
    return Page[SessionOut](items=[_session_out(s) for s in found])


def patch_session(principal: Principal, session_id: str, request: SessionPatchRequest) -> SessionOut:
    current = schedule_db.get_session(principal.tenant, session_id)
    if current is None or not _plans_campus(principal, current["campus_id"]):
        raise NotFoundError("No such session.", code="SESSION_NOT_FOUND")
    changes = request.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return _session_out(current)
    updated = schedule_db.update_session(principal.tenant, session_id, changes)
    if "capacity" in changes and _fill_free_seats(principal.tenant, session_id, None):
        updated = schedule_db.get_session(principal.tenant, session_id) or updated  # new seats went to the waitlist
    return _session_out(updated)


# --- events ------------------------------------------------------------------------


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


# --- appointments ------------------------------------------------------------------


def _owner_for(principal: Principal, lead: Lead) -> str | None:
    if lead.owner_id:
        return lead.owner_id
    return principal.user_id if principal.role in leads.OWNERS else None


def book(
    principal: Principal, lead_id: str, request: AppointmentCreateRequest, *, allow_started: bool = False
) -> Appointment:
    if principal.role is Role.teacher:
        raise ForbiddenError("Teachers do not book appointments.", code="ROLE_FORBIDDEN")
    lead = leads.require_live(leads.visible_lead(principal, lead_id))
    tenant = get_tenant(principal.tenant)
    now = clock.now()
    base: dict[str, Any] = dict(
        id=f"{lead.id}-{ids.new_id()}",
        lead_id=lead.id,
        lead_name=lead.name,
        kind=request.kind,
        owner_id=_owner_for(principal, lead),
        booked_by=principal.user_id,
        created_at=now,
        note=request.note,
        campus_id=lead.campus_id,
        status="booked",
    )
    if request.kind == "visit":
        at = school_time(request.at, tenant.timezone)
        if at < now - timedelta(minutes=1) and not allow_started:
            raise _invalid("at", "must not be in the past")
        appointment = Appointment(**base, at=at, title="到中心参观")
        schedule_db.put_visit(principal.tenant, appointment)
        return appointment
    if request.kind == "trial":
        target = schedule_db.get_session(principal.tenant, request.session_id)
        field, extra = "session_id", {}
        if target is not None:
            extra = dict(
                session_id=target["id"],
                course_id=target["course_id"],
                title=target["course_name"],
                campus_id=target["campus_id"],
            )
    else:
        target = schedule_db.get_event(principal.tenant, request.event_id)
        field, extra = "event_id", {}
        if target is not None:
            extra = dict(
                event_id=target["id"], title=target["name"], campus_id=target.get("campus_id") or lead.campus_id
            )
    if target is None:
        raise _invalid(field, f"unknown {'session' if field == 'session_id' else 'event'}")
    if target.get("cancelled"):
        raise _invalid(field, "it was cancelled")
    starts_at = datetime.fromisoformat(target["starts_at"].replace("Z", "+00:00"))
    started_today = (
        allow_started
        and starts_at.astimezone(ZoneInfo(tenant.timezone)).date() == now.astimezone(ZoneInfo(tenant.timezone)).date()
    )
    if starts_at < now and not started_today:
        raise _invalid(field, "it is in the past")
    appointment = Appointment(**{**base, **extra}, at=starts_at)
    for _ in range(QUEUE_TRIES):  # a seat while nobody waits, else the waitlist; never a seat past a waiter
        try:
            schedule_db.book(principal.tenant, appointment, lead.owner_name)
            event_fees.charge_if_due(principal, appointment, "booking")  # a paid event charging at booking, once
            return appointment
        except ConflictError as exc:
            if exc.code != "SESSION_FULL" or not request.waitlist:
                raise
        waitlisted = appointment.model_copy(update={"status": "waitlisted"})
        try:
            schedule_db.book(principal.tenant, waitlisted, lead.owner_name)
        except schedule_db.SeatFree:
            continue  # a seat came free (and nobody waits): take it
        if int(target.get("taken") or 0) < int(target["capacity"]):
            # a seat looked free while others waited: it goes to the head of the waitlist
            _fill_free_seats(principal.tenant, waitlisted.session_id, waitlisted.event_id, principal)
            found = schedule_db.get_appointment(principal.tenant, lead.id, waitlisted.id)
            return found or waitlisted
        return waitlisted
    raise BusyError()


def _load(principal: Principal, appointment_id: str) -> Appointment:
    lead_id = appointment_id.split("-", 1)[0]
    leads.visible_lead(principal, lead_id)  # 404 for a lead you may not see
    appointment = schedule_db.get_appointment(principal.tenant, lead_id, appointment_id)
    if appointment is None:
        raise NotFoundError("No such appointment.", code="APPOINTMENT_NOT_FOUND")
    return appointment


def cancel(principal: Principal, appointment_id: str) -> Appointment | None:
    """Cancels and releases what the appointment held. A seat freed while others wait passes
    to the head of the waitlist in the same transaction (their consultant is told); it is
    never free for a newcomer. Sent again, it repairs what an earlier failure left: a seat
    free while someone waits goes to the head of the waitlist. Returns the promoted one."""
    appointment = _load(principal, appointment_id)
    tenant = principal.tenant
    for _ in range(QUEUE_TRIES):  # a booking or cancellation changing the queue meanwhile: read it again
        if appointment.status == "cancelled":  # sent again: repair what an earlier failure left
            if appointment.kind == "visit":
                return None
            event_fees.refund_if_due(principal, appointment)
            return _fill_free_seats(tenant, appointment.session_id, appointment.event_id, principal)
        cancelled = appointment.model_copy(update={"status": "cancelled", "cancelled_at": clock.now()})
        waiting, promoted = 0, None
        if (
            appointment.status == "booked"
            and appointment.kind != "visit"
            and not _target_cancelled(tenant, appointment)
        ):
            queue = schedule_db.waitlist(tenant, appointment.session_id, appointment.event_id)
            waiting = len(queue)
            promoted = _head(tenant, queue)
        try:
            schedule_db.cancel(
                tenant, appointment, cancelled, waiting=waiting, promoted=promoted, note=_promotion_note(promoted)
            )
        except transactions.TransactionConflict:
            appointment = _load(principal, appointment_id)  # cancelled by someone else, or the queue moved
            continue
        event_fees.refund_if_due(principal, cancelled)  # charged before: refunded by the school's rule, once
        if promoted is not None:
            event_fees.charge_if_due(principal, promoted, "booking")
        return promoted
    raise BusyError()


QUEUE_TRIES = 6


def _target_cancelled(tenant: str, appointment: Appointment) -> bool:
    if appointment.session_id:
        target = schedule_db.get_session(tenant, appointment.session_id)
    else:
        target = schedule_db.get_event(tenant, appointment.event_id)
    return target is None or bool(target.get("cancelled"))


def _head(tenant: str, queue: list[dict[str, Any]]) -> Appointment | None:
    """The head of the waitlist as its booked appointment would be."""
    if not queue:
        return None
    first = queue[0]
    waiting = schedule_db.get_appointment(tenant, first["lead_id"], first["appointment_id"])
    if waiting is None:
        return None  # the transaction's conditions refuse this; the caller reads again
    return waiting.model_copy(update={"status": "booked"})


def _promotion_note(promoted: Appointment | None) -> tuple[str, str, str] | None:
    if promoted is None or not promoted.owner_id:
        return None
    message = f"{promoted.lead_name} 已从候补转为正式预约：{promoted.title}"
    return promoted.owner_id, message, clock.iso(clock.now())


def _fill_free_seats(
    tenant: str, session_id: str | None, event_id: str | None, charging: Principal | None = None
) -> Appointment | None:
    """While the session or event has a free seat and someone waits, the head of the
    waitlist takes it (a repair: the rules above never leave that state behind)."""
    promoted = None
    for _ in range(QUEUE_TRIES):
        target = schedule_db.get_session(tenant, session_id) if session_id else schedule_db.get_event(tenant, event_id)
        if target is None or target.get("cancelled"):
            return promoted
        if int(target.get("taken") or 0) >= int(target["capacity"]) or not int(target.get("waitlist") or 0):
            return promoted
        queue = schedule_db.waitlist(tenant, session_id, event_id)
        head = _head(tenant, queue)
        if head is None:
            return promoted
        if schedule_db.fill_seat(tenant, len(queue), head, _promotion_note(head)):
            promoted = head
            if charging is not None:  # a paid event charging at booking: the seat is booked now
                event_fees.charge_if_due(charging, head, "booking")
    return promoted


def mark_attendance(principal: Principal, appointment_id: str, request: AppointmentPatchRequest) -> Appointment:
    if principal.role not in ATTENDANCE_ROLES:
        raise ForbiddenError("Your role may not mark attendance.", code="ROLE_FORBIDDEN")
    appointment = _load(principal, appointment_id)
    if appointment.status != "booked":
        raise ConflictError("Only a booked appointment can be marked.", code="NOT_BOOKED")
    attendance.check_open(principal.tenant, appointment.at)  # 409 ATTENDANCE_NOT_OPEN before the window
    arrived_at = None
    if request.attendance == "arrived":
        arrived_at = school_time(request.arrived_at, get_tenant(principal.tenant).timezone) or clock.now()
        if arrived_at > clock.now() + timedelta(minutes=1):
            raise _invalid("arrived_at", "must not be in the future")
    updated = appointment.model_copy(update={"attendance": request.attendance, "arrived_at": arrived_at})
    schedule_db.set_attendance(principal.tenant, appointment, updated)
    if request.attendance == "arrived":
        event_fees.charge_if_due(principal, updated, "arrival")  # a paid event charging at arrival, once
    return updated


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
