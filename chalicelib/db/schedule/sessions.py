"""Courses, classes, sessions and events, and the bookings of a session or an event."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.db import hydrate, keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import BookingItem, ClassItem, CourseItem, EventItem, SessionItem
from chalicelib.errors import ConflictError

# --- courses and classes (tenant partition) ----------------------------------------


def put_course(tenant: str, data: dict[str, Any]) -> None:
    CourseItem(keys.tenant_pk(tenant), keys.course_sk(data["id"]), **data).save(
        condition=CourseItem.PK.does_not_exist()
    )


def get_course(tenant: str, course_id: str) -> dict[str, Any] | None:
    try:
        return values(CourseItem.get(keys.tenant_pk(tenant), keys.course_sk(course_id)))
    except CourseItem.DoesNotExist:
        return None


def list_courses(tenant: str) -> list[dict[str, Any]]:
    return [values(i) for i in CourseItem.query(keys.tenant_pk(tenant), CourseItem.SK.startswith(keys.COURSE_PREFIX))]


def put_class(tenant: str, data: dict[str, Any]) -> None:
    ClassItem(keys.tenant_pk(tenant), keys.class_sk(data["id"]), **data).save(condition=ClassItem.PK.does_not_exist())


def get_class(tenant: str, class_id: str) -> dict[str, Any] | None:
    try:
        return values(ClassItem.get(keys.tenant_pk(tenant), keys.class_sk(class_id)))
    except ClassItem.DoesNotExist:
        return None


def list_classes(tenant: str) -> list[dict[str, Any]]:
    return [values(i) for i in ClassItem.query(keys.tenant_pk(tenant), ClassItem.SK.startswith(keys.CLASS_PREFIX))]


# --- sessions ----------------------------------------------------------------------


def put_session_if_absent(tenant: str, data: dict[str, Any]) -> bool:
    """Creates a session unless it exists (session ids are deterministic: regenerating is safe)."""
    item = SessionItem(keys.session_pk(tenant, data["id"]), keys.SESSION_SK, **data)
    item.GSI1PK = keys.sessions_on(tenant, data["date"])
    item.GSI1SK = f"{data['campus_id']}#{data['start']}#{data['id']}"
    if data.get("teacher_id"):
        item.GSI2PK = keys.teacher_sessions(tenant, data["teacher_id"])
        item.GSI2SK = keys.sort_key(data["starts_at"], data["id"])
    try:
        item.save(condition=SessionItem.PK.does_not_exist())
    except PutError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def get_session(tenant: str, session_id: str) -> dict[str, Any] | None:
    try:
        return values(SessionItem.get(keys.session_pk(tenant, session_id), keys.SESSION_SK, consistent_read=True))
    except SessionItem.DoesNotExist:
        return None


def sessions_on(tenant: str, day: str, campus_id: str | None) -> list[dict[str, Any]]:
    condition = SessionItem.GSI1SK.startswith(f"{campus_id}#") if campus_id else None
    found = list(SessionItem.gsi1.query(keys.sessions_on(tenant, day), condition))
    return [values(i) for i in hydrate.full(found, "GSI1")]


def teacher_sessions(tenant: str, teacher_id: str, lo: str, hi: str) -> list[dict[str, Any]]:
    """The sessions a teacher teaches starting between `lo` and `hi` (UTC stamps): one Query of
    GSI2 `TEACHES#<teacher>`, then one BatchGetItem of the sessions (the index holds keys)."""
    condition = SessionItem.GSI2SK.between(f"{keys.stamp(lo)}#", f"{keys.stamp(hi)}#~")
    found = list(SessionItem.gsi2.query(keys.teacher_sessions(tenant, teacher_id), condition))
    return [values(i) for i in hydrate.full(found, "GSI2")]


def update_session(
    tenant: str, session_id: str, changes: dict[str, Any], starts_at: str | None = None
) -> dict[str, Any]:
    """Capacity never drops below the seats taken; a cancelled session stays cancelled. A new
    `teacher_id` (a substitute) moves the session to that teacher's GSI2 list (`starts_at`: the
    session's, for the sort key)."""
    item = SessionItem(keys.session_pk(tenant, session_id), keys.SESSION_SK)
    actions = [getattr(SessionItem, k).set(v) for k, v in changes.items()]
    if changes.get("teacher_id") and starts_at:
        actions += [
            SessionItem.GSI2PK.set(keys.teacher_sessions(tenant, changes["teacher_id"])),
            SessionItem.GSI2SK.set(keys.sort_key(starts_at, session_id)),
        ]
    condition = SessionItem.PK.exists() & (SessionItem.cancelled == False)  # noqa: E712 - a DynamoDB condition
    if "capacity" in changes:
        condition &= SessionItem.taken <= changes["capacity"]
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            raise ConflictError(
                "The session is cancelled, or more seats are taken than the new capacity.", code="SESSION_CONFLICT"
            ) from exc
        raise
    return values(item)


# --- events ------------------------------------------------------------------------


def put_event(tenant: str, data: dict[str, Any], day: str) -> None:
    item = EventItem(keys.event_pk(tenant, data["id"]), keys.EVENT_SK, **data)
    item.GSI1PK, item.GSI1SK = keys.events_on(tenant, day), keys.sort_key(data["starts_at"], data["id"])
    item.save(condition=EventItem.PK.does_not_exist())


def get_event(tenant: str, event_id: str) -> dict[str, Any] | None:
    try:
        return values(EventItem.get(keys.event_pk(tenant, event_id), keys.EVENT_SK, consistent_read=True))
    except EventItem.DoesNotExist:
        return None


def events_on(tenant: str, day: str) -> list[dict[str, Any]]:
    return [values(i) for i in hydrate.full(list(EventItem.gsi1.query(keys.events_on(tenant, day))), "GSI1")]


def _target_pk(tenant: str, session_id: str | None, event_id: str | None) -> str:
    # str(): neither id keys "EVENT#None" as the f-string always made it (an empty partition)
    return keys.session_pk(tenant, session_id) if session_id else keys.event_pk(tenant, str(event_id))


def bookings(tenant: str, *, session_id: str | None = None, event_id: str | None = None) -> list[dict[str, Any]]:
    """The bookings and waitlist places of a session or an event (one Query)."""
    target = _target_pk(tenant, session_id, event_id)
    return [values(i) for i in BookingItem.query(target, BookingItem.SK.startswith(keys.BOOKING_PREFIX))]
