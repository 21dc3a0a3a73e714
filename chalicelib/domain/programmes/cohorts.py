"""Cohorts (班级): opening, changing and listing them, and the open ones the website shows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

from chalicelib.db import programmes as programmes_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.db.programmes import CohortRecord
from chalicelib.domain import clock, ids, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.programmes.catalogue import _programme_not_found
from chalicelib.domain.programmes.common import _invalid, _today, _zone
from chalicelib.domain.programmes.reminders import _cancel_reminder, _reschedule
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError
from chalicelib.schemas.common import Page
from chalicelib.schemas.programmes import (
    Cohort,
    CohortListQuery,
    CohortPatch,
    CohortRequest,
    PublicCohort,
)
from chalicelib.schemas.users import Role


def _cohort_not_found() -> NotFoundError:
    return NotFoundError("No such cohort.", code="COHORT_NOT_FOUND")


def _public(data: CohortRecord) -> dict[str, Any]:
    return {
        **data,
        "price": wallets.decimal(data["price"]),
        "seats_left": max(0, int(data["seats"]) - int(data.get("confirmed") or 0)),
    }


def _cohort_out(data: CohortRecord) -> Cohort:
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
    # the request's fields (campus_id, name, the dates and time, schedule, teacher_id,
    # instalment_options, seats) and the rest: a whole cohort, built in one literal
    data = cast(
        CohortRecord,
        {
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
        },
    )
    programmes_db.put_cohort(principal.tenant, data)
    return _cohort_out(data)


def _load_cohort(tenant: str, cohort_id: str, *, consistent: bool = False) -> CohortRecord:
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
    after = cast(CohortRecord, {**before, **changes})  # a CohortPatch's fields are a cohort's
    ends_on = after.get("ends_on")
    if ends_on and ends_on < after["starts_on"]:
        raise _invalid("ends_on", "is before starts_on")
    moved = after["starts_on"] != before["starts_on"]
    if moved and date.fromisoformat(after["starts_on"]) < _today(_zone(principal.tenant)):
        raise _invalid("starts_on", "must not be in the past")
    if "teacher_id" in changes:
        after["teacher_name"] = (
            _teacher_name(principal.tenant, changes["teacher_id"]) if changes["teacher_id"] else None
        )
    if "price" in changes:
        after["price"] = wallets.units(cast(Decimal, patch.price))  # a null price was refused above
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
