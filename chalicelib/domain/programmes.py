"""Programmes (课程), their cohorts (班级) and enrolments (报名).

A cohort opens on a date with a price, instalment options and seats. A lead is enrolled
pending, then confirmed (takes a seat, never more than there are) or declined (gives a
confirmed seat back). A confirmed enrolment may carry a reminder: an SMS to the guardian
a set time before the first session, made and sent by the messaging machinery under a
deterministic id, and stopped when the enrolment is declined or the cohort cancelled.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import leads as leads_db
from chalicelib.db import programmes as programmes_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, ids, leads, messaging, retry, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.programmes import (
    Cohort,
    CohortListQuery,
    CohortPatch,
    CohortRequest,
    Enrolment,
    EnrolmentRequest,
    Programme,
    ProgrammePatch,
    ProgrammeRequest,
    PublicCohort,
)
from chalicelib.schemas.users import Role

MANAGERS = frozenset({Role.admin, Role.manager})
ENROLLERS = frozenset({Role.admin, Role.manager, Role.supervisor, Role.consultant, Role.frontdesk})
TRIES = 25  # confirmations of one cohort all touch its counter; DynamoDB refuses overlapping ones
REMINDER = (
    "{{ guardian.name }}您好，提醒您：{{ learner.name }}报名的{{ appointment.title }}"
    "将于{{ appointment.date }} {{ appointment.time }}开课，地点：{{ campus.name }}{{ campus.address }}。"
)
WEEKDAYS = "一二三四五六日"


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _zone(tenant: str) -> ZoneInfo:
    return ZoneInfo(get_tenant(tenant).timezone)


def _today(zone: ZoneInfo) -> date:
    return clock.now().astimezone(zone).date()


# --- programmes ----------------------------------------------------------------------


def _programme_not_found() -> NotFoundError:
    return NotFoundError("No such programme.", code="PROGRAMME_NOT_FOUND")


def create_programme(principal: Principal, request: ProgrammeRequest) -> Programme:
    now = clock.iso(clock.now())
    data = {
        **request.model_dump(),
        "id": ids.new_id(),
        "active": True,
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
    }
    programmes_db.put_programme(principal.tenant, data)
    return Programme.model_validate(data)


def get_programme(principal: Principal, programme_id: str) -> Programme:
    data = programmes_db.get_programme(principal.tenant, programme_id)
    if data is None:
        raise _programme_not_found()
    return Programme.model_validate(data)


def list_programmes(principal: Principal, query: PageQuery) -> Page[Programme]:
    items, cursor = programmes_db.list_programmes(
        principal.tenant, active=None, limit=query.limit, cursor=query.cursor, scope=f"{principal.tenant}:programmes"
    )
    return Page[Programme](items=[Programme.model_validate(p) for p in items], next_cursor=cursor)


def patch_programme(principal: Principal, programme_id: str, patch: ProgrammePatch) -> Programme:
    changes = patch.model_dump(exclude_unset=True)
    for name in ("name", "kind", "recurrence", "active"):
        if name in changes and changes[name] is None:
            raise _invalid(name, "may not be null")
    if not changes:
        return get_programme(principal, programme_id)
    changes["updated_at"] = clock.iso(clock.now())
    data = programmes_db.update_programme(principal.tenant, programme_id, changes)
    if data is None:
        raise _programme_not_found()
    return Programme.model_validate(data)


# --- cohorts -------------------------------------------------------------------------


def _cohort_not_found() -> NotFoundError:
    return NotFoundError("No such cohort.", code="COHORT_NOT_FOUND")


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "price": wallets.decimal(data["price"]),
        "seats_left": max(0, int(data["seats"]) - int(data.get("confirmed") or 0)),
    }


def _cohort_out(data: dict[str, Any]) -> Cohort:
    return Cohort.model_validate(_public(data))


def _teacher_name(tenant: str, teacher_id: str) -> str:
    user = users_db.get(tenant, teacher_id)
    if user is None or not user.active or user.role is not Role.teacher:
        raise _invalid("teacher_id", "not an active teacher of this school")
    return user.display_name


def _campus_name(principal: Principal, campus_id: str) -> str:
    campus = tenants_db.campuses_by_id(principal.tenant, [campus_id]).get(campus_id)
    if campus is None:
        raise _invalid("campus_id", "unknown campus")
    if principal.role is not Role.admin and campus_id not in principal.campus_ids:
        raise _invalid("campus_id", "not one of your campuses")
    return campus.name


def create_cohort(principal: Principal, programme_id: str, request: CohortRequest) -> Cohort:
    programme = programmes_db.get_programme(principal.tenant, programme_id)
    if programme is None:
        raise _programme_not_found()
    if not programme["active"]:
        raise ConflictError("The programme is inactive; reactivate it first.", code="PROGRAMME_INACTIVE")
    if request.starts_on < _today(_zone(principal.tenant)):
        raise _invalid("starts_on", "must not be in the past")
    now = clock.iso(clock.now())
    data = {
        **request.model_dump(mode="json"),
        "id": ids.new_id(),
        "programme_id": programme_id,
        "programme_name": programme["name"],
        "programme_kind": programme["kind"],
        "campus_name": _campus_name(principal, request.campus_id),
        "teacher_name": _teacher_name(principal.tenant, request.teacher_id) if request.teacher_id else None,
        "price": wallets.units(request.price),
        "confirmed": 0,
        "pending": 0,
        "declined": 0,
        "status": "open",
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
        "version": 0,
    }
    programmes_db.put_cohort(principal.tenant, data)
    return _cohort_out(data)


def _load_cohort(tenant: str, cohort_id: str, *, consistent: bool = False) -> dict[str, Any]:
    data = programmes_db.get_cohort(tenant, cohort_id, consistent=consistent)
    if data is None:
        raise _cohort_not_found()
    return data


def get_cohort(principal: Principal, cohort_id: str) -> Cohort:
    return _cohort_out(_load_cohort(principal.tenant, cohort_id))


def list_cohorts(principal: Principal, query: CohortListQuery) -> Page[Cohort]:
    """Cohorts starting on or after a day (default today, school time), earliest first."""
    day = (query.from_ or _today(_zone(principal.tenant))).isoformat()
    items, cursor = programmes_db.list_cohorts(
        principal.tenant,
        programme_id=query.programme_id,
        status=query.status,
        from_day=day,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:cohorts:{query.programme_id}:{query.status}:{day}",
    )
    return Page[Cohort](items=[_cohort_out(c) for c in items], next_cursor=cursor)


def patch_cohort(principal: Principal, cohort_id: str, patch: CohortPatch) -> Cohort:
    before = _load_cohort(principal.tenant, cohort_id, consistent=True)
    if principal.role is not Role.admin and before["campus_id"] not in principal.campus_ids:
        raise ForbiddenError("This cohort is in another campus.", code="NOT_YOUR_CAMPUS")
    if before["status"] == "cancelled":
        raise ConflictError("The cohort was cancelled; it takes no changes.", code="COHORT_CANCELLED")
    changes = patch.model_dump(mode="json", exclude_unset=True)
    for name in ("name", "starts_on", "starts_at", "price", "instalment_options", "seats", "status"):
        if name in changes and changes[name] is None:
            raise _invalid(name, "may not be null")
    after = {**before, **changes}
    if after.get("ends_on") and after["ends_on"] < after["starts_on"]:
        raise _invalid("ends_on", "is before starts_on")
    moved = after["starts_on"] != before["starts_on"]
    if moved and date.fromisoformat(after["starts_on"]) < _today(_zone(principal.tenant)):
        raise _invalid("starts_on", "must not be in the past")
    if "teacher_id" in changes:
        after["teacher_name"] = (
            _teacher_name(principal.tenant, changes["teacher_id"]) if changes["teacher_id"] else None
        )
    if "price" in changes:
        after["price"] = wallets.units(patch.price)
    after["updated_at"] = clock.iso(clock.now())
    saved = programmes_db.update_cohort(principal.tenant, before, after)
    if after["status"] == "cancelled":
        for enrolment in programmes_db.confirmed_enrolments(principal.tenant, cohort_id):
            _cancel_reminder(principal.tenant, enrolment, "cohort cancelled")
    elif (after["starts_on"], after["starts_at"]) != (before["starts_on"], before["starts_at"]):
        _reschedule(principal.tenant, saved)
    return _cohort_out(saved)


def open_cohorts(tenant: str, programme_id: str | None, limit: int, cursor: str | None) -> Page[PublicCohort]:
    """Open cohorts starting today or later (school time) with seats left, earliest first:
    what the school's website may list. Nothing staff-only (no learners, no user ids).
    Full cohorts are filtered out of a page, so a page may hold fewer than `limit`."""
    day = _today(_zone(tenant)).isoformat()
    items, next_cursor = programmes_db.open_cohorts(
        tenant,
        programme_id=programme_id,
        from_day=day,
        limit=limit,
        cursor=cursor,
        scope=f"{tenant}:open-cohorts:{programme_id}:{day}",
    )
    return Page[PublicCohort](items=[PublicCohort.model_validate(_public(c)) for c in items], next_cursor=next_cursor)


def cohort_for_application(tenant: str, cohort_id: str) -> PublicCohort | None:
    """The cohort an application names (any status: the caller decides), or None."""
    data = programmes_db.get_cohort(tenant, cohort_id)
    return PublicCohort.model_validate(_public(data)) if data is not None else None


# --- enrolments ----------------------------------------------------------------------


def _enrolment_not_found() -> NotFoundError:
    return NotFoundError("No such enrolment.", code="ENROLMENT_NOT_FOUND")


def _enrolment_out(data: dict[str, Any]) -> Enrolment:
    return Enrolment.model_validate({**data, "agreed_price": wallets.decimal(data["agreed_price"])})


def _require(principal: Principal) -> None:
    if principal.role not in ENROLLERS:
        raise ForbiddenError("Your role does not enrol learners.", code="ROLE_FORBIDDEN")


def enrol(principal: Principal, cohort_id: str, request: EnrolmentRequest) -> Enrolment:
    _require(principal)
    cohort = _load_cohort(principal.tenant, cohort_id)
    lead = leads.require_live(leads.visible_lead(principal, request.lead_id))
    if cohort["status"] != "open":
        raise ConflictError("The cohort is not open for enrolment.", code="COHORT_NOT_OPEN")
    options = {o["name"]: int(o["count"]) for o in cohort["instalment_options"]}
    instalments = request.instalments or next(iter(options))
    if instalments not in options:
        raise _invalid("instalments", f"not an option of this cohort; use one of {', '.join(options)}")
    price = request.agreed_price if request.agreed_price is not None else wallets.decimal(cohort["price"])
    data = {
        "id": f"{cohort_id}-{lead.id}",
        "cohort_id": cohort_id,
        "programme_id": cohort["programme_id"],
        "lead_id": lead.id,
        "lead_name": lead.name,
        "status": "pending",
        "agreed_price": wallets.units(price),
        "instalments": instalments,
        "instalment_count": options[instalments],
        "notify_before_minutes": request.notify_before_minutes,
        "note": request.note,
        "created_by": principal.user_id,
        "created_by_name": principal.display_name,
        "created_at": clock.iso(clock.now()),
        "version": 0,
    }
    programmes_db.create_enrolment(principal.tenant, data)
    return _enrolment_out(data)


def _load_enrolment(principal: Principal, enrolment_id: str) -> dict[str, Any]:
    cohort_id, _, lead_id = enrolment_id.partition("-")
    leads.visible_lead(principal, lead_id)  # 404 for a lead you may not see
    data = programmes_db.get_enrolment(principal.tenant, cohort_id, lead_id) if cohort_id and lead_id else None
    if data is None:
        raise _enrolment_not_found()
    return data


def list_enrolments(principal: Principal, cohort_id: str, query: PageQuery) -> Page[Enrolment]:
    """A cohort's enrolments, of the leads the caller may see (its teacher sees them all)."""
    cohort = _load_cohort(principal.tenant, cohort_id)
    items, cursor = programmes_db.list_enrolments(
        principal.tenant,
        cohort_id,
        status=None,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:enrolments:{cohort_id}",
    )
    if cohort.get("teacher_id") != principal.user_id and principal.role is not Role.admin:
        found = {lead.id: lead for lead in leads_db.batch_get(principal.tenant, [e["lead_id"] for e in items])}
        items = [e for e in items if e["lead_id"] in found and leads.can_see(principal, found[e["lead_id"]])]
    return Page[Enrolment](items=[_enrolment_out(e) for e in items], next_cursor=cursor)


def _decide(principal: Principal, enrolment_id: str, status: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Moves an enrolment to `status` (read, decide, conditional write; again if it lost a
    race). Returns (before, after); before is after when nothing had to change."""
    _require(principal)
    zone = _zone(principal.tenant)

    def attempt() -> tuple[dict[str, Any], dict[str, Any]]:
        before = _load_enrolment(principal, enrolment_id)
        if before["status"] == status:
            return before, before
        if before["status"] == "declined" and status == "pending":
            raise ConflictError("A declined enrolment cannot go back to pending.", code="ENROLMENT_DECIDED")
        after = {**before, "status": status, "decided_by": principal.user_id, "decided_at": clock.iso(clock.now())}
        after["version"] = int(before.get("version") or 0) + 1
        if status == "confirmed":
            cohort = _load_cohort(principal.tenant, before["cohort_id"], consistent=True)
            _check_seat(cohort)
            after["reminder_message_id"], after["reminder_at"] = _reminder_plan(cohort, after, zone)
        programmes_db.move_enrolment(principal.tenant, before, after)
        return before, after

    def on_conflict(exc) -> None:
        if "cohort" in exc.failed:
            _check_seat(_load_cohort(principal.tenant, enrolment_id.partition("-")[0], consistent=True))

    busy = ConflictError("The cohort kept changing; try again.", code="EDIT_CONFLICT")
    return retry.until_written(attempt, tries=TRIES, give_up=busy, on_conflict=on_conflict)


def _check_seat(cohort: dict[str, Any]) -> None:
    if cohort["status"] != "open":
        raise ConflictError("The cohort is not open for enrolment.", code="COHORT_NOT_OPEN")
    if int(cohort["confirmed"]) >= int(cohort["seats"]):
        raise ConflictError("No seats left in this cohort.", code="COHORT_FULL")


def confirm(principal: Principal, enrolment_id: str) -> Enrolment:
    """Takes a seat. Confirming again changes nothing (and makes sure the reminder exists)."""
    _, after = _decide(principal, enrolment_id, "confirmed")
    if after.get("reminder_message_id"):
        cohort = _load_cohort(principal.tenant, after["cohort_id"], consistent=True)  # a cancel just now counts
        if cohort["status"] != "cancelled":
            _send_reminder(principal.tenant, cohort, after)
            latest = _load_enrolment(principal, enrolment_id)
            if latest.get("reminder_message_id") != after["reminder_message_id"] or latest["status"] != "confirmed":
                _cancel_reminder(principal.tenant, after, "enrolment changed")  # declined meanwhile
    return _enrolment_out(after)


def decline(principal: Principal, enrolment_id: str) -> Enrolment:
    """Declines (a confirmed one gives its seat back) and stops its reminder."""
    _, after = _decide(principal, enrolment_id, "declined")
    _cancel_reminder(principal.tenant, after, "enrolment declined")
    return _enrolment_out(after)


# --- reminders (through the messaging machinery) -------------------------------------


def _first_session(cohort: dict[str, Any], zone: ZoneInfo) -> datetime:
    hour, minute = map(int, cohort["starts_at"].split(":"))
    return datetime.combine(date.fromisoformat(cohort["starts_on"]), time(hour, minute), tzinfo=zone)


def _reminder_plan(cohort: dict[str, Any], enrolment: dict[str, Any], zone: ZoneInfo) -> tuple[str | None, str | None]:
    """(message id, when) of a confirmed enrolment's reminder, or (None, None). The id is
    the enrolment's and its version's, so a retried confirmation never makes two."""
    minutes = enrolment.get("notify_before_minutes")
    start, now = _first_session(cohort, zone), clock.now()
    if not minutes or start <= now:
        return None, None
    at = max(start - timedelta(minutes=int(minutes)), now)
    return f"cohort-{enrolment['id']}-{enrolment['version']}", clock.iso(at)


def _send_reminder(tenant: str, cohort: dict[str, Any], enrolment: dict[str, Any]) -> None:
    lead = leads_db.get(tenant, enrolment["lead_id"])
    if lead is None:
        return
    zone = _zone(tenant)
    campus = tenants_db.campuses_by_id(tenant, [cohort["campus_id"]]).get(cohort["campus_id"])
    start = _first_session(cohort, zone)
    extra = {
        "appointment": {
            "kind": "cohort",
            "title": f"{cohort['programme_name']}（{cohort['name']}）",
            "date": cohort["starts_on"],
            "time": cohort["starts_at"],
            "weekday": "周" + WEEKDAYS[start.weekday()],
        },
        "campus": {
            "name": cohort["campus_name"],
            "address": campus.address if campus else None,
            "phone": campus.phone if campus else None,
        },
    }
    messaging.enqueue(
        tenant,
        channel="sms",
        purpose="notice",
        body=REMINDER,
        subject=None,
        targets=[messaging.Target(lead=lead, extra=extra)],
        send_at=datetime.fromisoformat(enrolment["reminder_at"].replace("Z", "+00:00")),
        source="cohort_reminder",
        message_id=enrolment["reminder_message_id"],
    )


def _cancel_reminder(tenant: str, enrolment: dict[str, Any], reason: str) -> None:
    if enrolment.get("reminder_message_id"):
        messaging.cancel(tenant, enrolment["reminder_message_id"], reason)


def _reschedule(tenant: str, cohort: dict[str, Any]) -> None:
    """The cohort's start moved: each confirmed reminder is stopped and made anew."""
    zone = _zone(tenant)
    for enrolment in programmes_db.confirmed_enrolments(tenant, cohort["id"]):
        if not enrolment.get("notify_before_minutes"):
            continue
        _cancel_reminder(tenant, enrolment, "cohort rescheduled")
        moved = {**enrolment, "version": int(enrolment.get("version") or 0) + 1}
        message_id, at = _reminder_plan(cohort, moved, zone)
        if programmes_db.set_reminder(tenant, enrolment, message_id, at) and message_id:
            _send_reminder(tenant, cohort, {**moved, "reminder_message_id": message_id, "reminder_at": at})
