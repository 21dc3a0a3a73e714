"""Appointments and the seats they hold.

Seats are an invariant of the database, not of Python: a booking is one transaction that
raises the session's `taken` under the condition `taken < capacity`, writes the lead's
booking item under `attribute_not_exists` (one per lead and session), the lead's trial
marker for the course (one active trial per course), and the appointment.
"""

from __future__ import annotations

from typing import Any

from chalicelib.db import hydrate, keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import AppointmentItem, BookingItem, EventItem, NotificationItem, SessionItem, TrialMarkerItem
from chalicelib.db.paging import Scope, scoped_page
from chalicelib.db.schedule.sessions import _target_pk
from chalicelib.errors import ConflictError
from chalicelib.schemas.schedule import Appointment


def appointment_item(tenant: str, appointment: Appointment) -> AppointmentItem:
    data = appointment.model_dump(mode="json")
    data["appointment_kind"] = data.pop("kind")
    item = AppointmentItem(keys.lead_pk(tenant, appointment.lead_id), keys.appointment_sk(appointment.id), **data)
    sort = keys.sort_key(appointment.at, appointment.id)
    if appointment.owner_id:
        item.GSI2PK, item.GSI2SK = keys.appointments_by(tenant, appointment.owner_id), sort
    item.GSI4PK, item.GSI4SK = keys.appointments_in(tenant, appointment.campus_id), sort
    if appointment.status == "booked" and appointment.attendance is None:
        # filed by the UTC date of the visit until it happens; the reminder job reads it the day before
        at = keys.stamp(appointment.at)
        if at is None:  # `at` is a datetime, so it always stamps (None[:10] was a TypeError too)
            raise TypeError("an appointment without `at`")
        item.DUEPK, item.DUESK = keys.reminder_due(at[:10], item.PK, appointment.id)
    return item


def to_appointment(item: AppointmentItem) -> Appointment:
    data = values(item)
    data["kind"] = data.pop("appointment_kind")
    return Appointment.model_validate(data)


def get_appointment(tenant: str, lead_id: str, appointment_id: str) -> Appointment | None:
    try:
        item = AppointmentItem.get(
            keys.lead_pk(tenant, lead_id), keys.appointment_sk(appointment_id), consistent_read=True
        )
    except AppointmentItem.DoesNotExist:
        return None
    return to_appointment(item)


def put_visit(tenant: str, appointment: Appointment) -> None:
    appointment_item(tenant, appointment).save(condition=AppointmentItem.PK.does_not_exist())


_Seats = type[SessionItem] | type[EventItem]


def _target(tenant: str, appointment: Appointment) -> tuple[_Seats, SessionItem | EventItem]:
    if appointment.session_id:
        return SessionItem, SessionItem(keys.session_pk(tenant, appointment.session_id), keys.SESSION_SK)
    # str(): an event id of None keys "EVENT#None" as the f-string always made it (an empty partition)
    return EventItem, EventItem(keys.event_pk(tenant, str(appointment.event_id)), keys.EVENT_SK)


def book(tenant: str, appointment: Appointment, owner_name: str | None) -> None:
    """Books a seat (status booked) or a waitlist place (status waitlisted), all or nothing."""
    model, target = _target(tenant, appointment)
    seat = appointment.status == "booked"
    booking = BookingItem(
        target.PK,
        keys.booking_sk(appointment.lead_id),
        lead_id=appointment.lead_id,
        lead_name=appointment.lead_name,
        appointment_id=appointment.id,
        state=appointment.status,
        owner_name=owner_name,
        waited_at=None if seat else keys.stamp(appointment.created_at),
    )
    usable = model.PK.exists() & (model.cancelled == False)  # noqa: E712 - a DynamoDB condition
    try:
        with transactions.write() as tx:
            if seat:
                # a seat only while nobody waits: a freed seat belongs to the head of the waitlist
                actions = [model.taken.add(1)] + ([model.trials.add(1)] if model is SessionItem else [])
                tx.update(
                    target,
                    actions=actions,
                    condition=usable & (model.taken < model.capacity) & _nobody_waits(model),
                    label="full",
                )
            else:
                # a waitlist place only while there is no free seat to take (or others wait already)
                queue = (model.taken >= model.capacity) | (model.waitlist > 0)
                tx.update(target, actions=[model.waitlist.add(1)], condition=usable & queue, label="free")
            tx.save(booking, condition=BookingItem.PK.does_not_exist(), label="booked")
            if appointment.kind == "trial" and appointment.course_id:
                marker = TrialMarkerItem(
                    keys.lead_pk(tenant, appointment.lead_id),
                    keys.trial_marker_sk(appointment.course_id),
                    appointment_id=appointment.id,
                )
                tx.save(marker, condition=TrialMarkerItem.PK.does_not_exist(), label="trial")
            tx.save(appointment_item(tenant, appointment), condition=AppointmentItem.PK.does_not_exist())
    except transactions.TransactionConflict as exc:
        failed = set(exc.failed)
        if "booked" in failed:
            raise ConflictError("This lead is already booked here.", code="ALREADY_BOOKED") from exc
        if "trial" in failed:
            raise ConflictError("This lead already has an active trial of this course.", code="ALREADY_BOOKED") from exc
        if "full" in failed:
            raise ConflictError("No seats left, or others are waiting for one.", code="SESSION_FULL") from exc
        if "free" in failed:
            raise SeatFree() from exc
        raise ConflictError("It was cancelled meanwhile.", code="NOT_BOOKABLE") from exc


def check_in_ops(
    tenant: str, session_id: str, lead_id: str, lead_name: str, entry_id: str, at: str
) -> tuple[tuple[Any, str], tuple[Any, list[Any], Any, str]]:
    """A member checked into a class: their booking (one per lead and session) and a regular
    seat taken under the capacity, for the caller's transaction (with the credit deduction).
    Labels name the conflict each condition means."""
    pk = keys.session_pk(tenant, session_id)
    booking = BookingItem(
        pk,
        keys.booking_sk(lead_id),
        lead_id=lead_id,
        lead_name=lead_name,
        appointment_id=f"checkin-{entry_id}",
        state="attended",
        attendance="arrived",
        waited_at=at,
    )
    seat = (
        SessionItem(pk, keys.SESSION_SK),
        [SessionItem.taken.add(1), SessionItem.regular.add(1)],
        SessionItem.PK.exists() & (SessionItem.cancelled == False) & (SessionItem.taken < SessionItem.capacity),  # noqa: E712
        "conflict:SESSION_FULL:No seats left in this session, or it was cancelled.",
    )
    return (booking, "conflict:ALREADY_CHECKED_IN:This learner is already booked or checked in here."), seat


def cancel(
    tenant: str,
    appointment: Appointment,
    cancelled: Appointment,
    *,
    waiting: int = 0,
    promoted: Appointment | None = None,
    note: tuple[str, str, str] | None = None,
) -> None:
    """Cancels an appointment and gives back exactly what it held, in ONE transaction.

    A seat freed while others wait is not freed: it passes to `promoted` (the head of the
    waitlist, read by the caller) in the same transaction, so `taken` stays and `waitlist`
    drops by one. `waiting` is the number of waitlist places the caller saw; the condition
    `waitlist = waiting` refuses the transaction (TransactionConflict `waitlist`) if anyone
    joined or left the queue since, and the caller reads the queue again. Without a
    promotion, a seat is given back only while nobody waits (or the session is cancelled).
    Busy, nothing is written (TransactionBusy), so the very same cancellation can be sent
    again. `note` = (user, message, at) tells the promoted lead's consultant, in the same write."""
    with transactions.write() as tx:
        tx.save(
            appointment_item(tenant, cancelled), condition=AppointmentItem.status == appointment.status, label="changed"
        )
        if appointment.kind == "visit":
            return
        model, target = _target(tenant, appointment)
        booking = BookingItem(target.PK, keys.booking_sk(appointment.lead_id))
        tx.delete(booking, condition=BookingItem.appointment_id == appointment.id, label="changed")
        if appointment.kind == "trial" and appointment.course_id:
            marker = TrialMarkerItem(
                keys.lead_pk(tenant, appointment.lead_id), keys.trial_marker_sk(appointment.course_id)
            )
            tx.delete(marker, condition=TrialMarkerItem.appointment_id == appointment.id, label="changed")
        if appointment.status != "booked":
            tx.update(target, actions=[model.waitlist.add(-1)], condition=model.PK.exists(), label="changed")
        elif promoted is not None:
            # the seat passes straight to the head of the waitlist: taken and trials unchanged
            _pass_seat(tx, tenant, model, target, waiting, promoted, note, actions=[model.waitlist.add(-1)])
        else:
            actions = [model.taken.add(-1)] + ([model.trials.add(-1)] if model is SessionItem else [])
            gone = model.cancelled == True  # noqa: E712 - a cancelled session promotes nobody
            tx.update(
                target, actions=actions, condition=model.PK.exists() & (_nobody_waits(model) | gone), label="waitlist"
            )


class SeatFree(Exception):
    """A waitlist place was refused because a seat is free: book the seat instead."""


def _nobody_waits(model: Any) -> Any:
    return (model.waitlist == 0) | model.waitlist.does_not_exist()


def _pass_seat(
    tx: transactions.Transaction,
    tenant: str,
    model: Any,
    target: Any,
    waiting: int,
    promoted: Appointment,
    note: tuple[str, str, str] | None,
    *,
    actions: list[Any],
    condition: Any = None,
) -> None:
    """The head of the waitlist takes a seat: its booking and appointment become booked,
    under the condition that the queue is exactly as the caller read it."""
    live = model.PK.exists() & (model.cancelled == False) & (model.waitlist == waiting)  # noqa: E712
    tx.update(target, actions=actions, condition=live if condition is None else live & condition, label="waitlist")
    head = BookingItem(target.PK, keys.booking_sk(promoted.lead_id))
    tx.update(
        head,
        actions=[BookingItem.state.set("booked")],
        condition=(BookingItem.state == "waitlisted") & (BookingItem.appointment_id == promoted.id),
        label="waitlist",
    )
    tx.save(appointment_item(tenant, promoted), condition=AppointmentItem.status == "waitlisted", label="waitlist")
    if note:
        user_id, message, at = note
        tx.save(
            NotificationItem(
                keys.notifications_pk(tenant, user_id),
                f"{at}#{promoted.id}",
                id=f"promoted-{promoted.id}",
                message=message,
                lead_id=promoted.lead_id,
                created_at=at,
            ),
            label="note",
        )


def waitlist(tenant: str, session_id: str | None, event_id: str | None) -> list[dict[str, Any]]:
    """The waitlist places of a session or event, first come first (strongly consistent)."""
    target = _target_pk(tenant, session_id, event_id)
    found = BookingItem.query(target, BookingItem.SK.startswith(keys.BOOKING_PREFIX), consistent_read=True)
    waiting = [values(b) for b in found if b.state == "waitlisted"]
    return sorted(waiting, key=lambda b: (b["waited_at"] or "", b["appointment_id"]))


def fill_seat(tenant: str, waiting: int, promoted: Appointment, note: tuple[str, str, str] | None) -> bool:
    """Gives a free seat to the head of the waitlist (repairs a seat left free while someone
    waits, e.g. after a capacity raise); False if the queue or the seats changed meanwhile."""
    model, target = _target(tenant, promoted)
    actions = [model.taken.add(1), model.waitlist.add(-1)] + ([model.trials.add(1)] if model is SessionItem else [])
    try:
        with transactions.write() as tx:
            _pass_seat(
                tx,
                tenant,
                model,
                target,
                waiting,
                promoted,
                note,
                actions=actions,
                condition=model.taken < model.capacity,
            )
    except transactions.TransactionConflict:
        return False
    return True


def set_attendance(tenant: str, before: Appointment, after: Appointment) -> None:
    with transactions.write() as tx:
        tx.save(appointment_item(tenant, after), condition=AppointmentItem.status == "booked")
        if before.kind == "visit":
            return
        model, target = _target(tenant, before)
        booking = BookingItem(target.PK, keys.booking_sk(before.lead_id))
        tx.update(
            booking,
            # pynamodb's stub leaves None out of set(); a nullable attribute takes it (stored as NULL)
            actions=[BookingItem.attendance.set(after.attendance)],  # type: ignore[arg-type]
            condition=BookingItem.appointment_id == before.id,
        )
        if before.kind == "trial" and after.attendance == "no_show" and before.course_id:
            # a no-show frees the lead to book another trial of the course
            marker = TrialMarkerItem(keys.lead_pk(tenant, before.lead_id), keys.trial_marker_sk(before.course_id))
            tx.delete(marker, condition=TrialMarkerItem.appointment_id == before.id)


def list_appointments(
    tenant: str,
    *,
    where: Scope,
    limit: int,
    cursor: str | None,
    scope: str,
    range_from: str | None,
    range_to: str | None,
    filters: dict[str, Any],
) -> tuple[list[Appointment], str | None]:
    by_campus = where.by_campus
    partitions = where.partitions(lambda u: keys.appointments_by(tenant, u), lambda c: keys.appointments_in(tenant, c))
    index = "GSI4" if by_campus else "GSI2"
    page = scoped_page(
        AppointmentItem,
        index,
        partitions,
        scope=scope,
        limit=limit,
        cursor=cursor,
        ascending=True,
        between=(range_from, range_to),
        filters=filters,
        clause=_clause,
    )
    return [to_appointment(i) for i in page.items], page.cursor


def _clause(name: str, value: Any) -> Any:
    """A list filter as a condition on the appointment item (`kind` is stored as appointment_kind)."""
    attr = AppointmentItem.appointment_kind if name == "kind" else getattr(AppointmentItem, name)
    return attr == value


def reminder_candidates(day: str) -> list[tuple[str, Appointment]]:
    """(tenant, appointment) of every booked appointment on a UTC date, every tenant."""
    from chalicelib.db import due as due_db

    found = [(t, i) for t, i in due_db.items("REMIND", day) if isinstance(i, AppointmentItem)]
    whole = {(i.PK, i.SK): i for i in hydrate.full([i for _, i in found], "DUE")}  # the index holds keys and id
    return [(t, to_appointment(whole[(i.PK, i.SK)])) for t, i in found if (i.PK, i.SK) in whole]
