"""Appointments (邀约): booking visits, trials and events, cancelling, the waiting list, attendance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from chalicelib.db import schedule as schedule_db
from chalicelib.db import transactions
from chalicelib.domain import attendance, clock, event_fees, ids, leads, teaching
from chalicelib.domain.auth import Principal
from chalicelib.domain.clock import school_time
from chalicelib.domain.schedule.common import ATTENDANCE_ROLES, _invalid
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import BusyError, ConflictError, ForbiddenError, NotFoundError
from chalicelib.schemas.leads import Lead
from chalicelib.schemas.schedule import (
    Appointment,
    AppointmentCreateRequest,
    AppointmentPatchRequest,
)
from chalicelib.schemas.users import Role


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
        # AppointmentCreateRequest._target: a visit has `at`, a trial `session_id`, an event `event_id`
        at = school_time(cast(datetime, request.at), tenant.timezone)
        if at < now - timedelta(minutes=1) and not allow_started:
            raise _invalid("at", "must not be in the past")
        appointment = Appointment(**base, at=at, title="到中心参观")
        schedule_db.put_visit(principal.tenant, appointment)
        return appointment
    if request.kind == "trial":
        target = schedule_db.get_session(principal.tenant, cast(str, request.session_id))
        field, extra = "session_id", {}
        if target is not None:
            extra = dict(
                session_id=target["id"],
                course_id=target["course_id"],
                title=target["course_name"],
                campus_id=target["campus_id"],
            )
    else:
        target = schedule_db.get_event(principal.tenant, cast(str, request.event_id))
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


def _load_for_teacher(principal: Principal, appointment_id: str) -> Appointment:
    """A trial appointment in a session the teacher teaches; anything else is not found."""
    lead_id = appointment_id.split("-", 1)[0]
    appointment = schedule_db.get_appointment(principal.tenant, lead_id, appointment_id)
    if (
        appointment is None
        or appointment.kind != "trial"
        or not teaching.may_mark_trial(principal, appointment.session_id, lead_id)
    ):
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
        # only a trial's or an event's appointment is asked: without a session it is an event's
        target = schedule_db.get_event(tenant, cast(str, appointment.event_id))
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
        # every caller names the session or the event: without a session, there is an event
        target = (
            schedule_db.get_session(tenant, session_id)
            if session_id
            else schedule_db.get_event(tenant, cast(str, event_id))
        )
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
    if principal.role is Role.teacher:  # a trial in one of their own sessions (domain/teaching.py)
        appointment = _load_for_teacher(principal, appointment_id)
    elif principal.role not in ATTENDANCE_ROLES:
        raise ForbiddenError("Your role may not mark attendance.", code="ROLE_FORBIDDEN")
    else:
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
