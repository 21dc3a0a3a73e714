"""What the schedule's parts share: who marks attendance, campus checks, a school day's bounds."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock
from chalicelib.domain.auth import Principal
from chalicelib.errors import ValidationFailedError
from chalicelib.schemas.schedule import SessionOut
from chalicelib.schemas.users import Role, UserRecord

# Teachers mark attendance only from their own sessions' rosters (domain/teaching.py), so they
# are not among these roles (who mark any appointment of a lead they may see).
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


def teacher_of(tenant: str, teacher_id: str, campus_id: str, field: str = "teacher_id") -> UserRecord:
    """The account a class or session names as its teacher: an active teacher of its campus
    (so a teacher of campus A is never given campus B's learners)."""
    user = users_db.get(tenant, teacher_id)
    if user is None or not user.active or user.role is not Role.teacher:
        raise _invalid(field, "not an active teacher of this school")
    if campus_id not in user.campus_ids:
        raise _invalid(field, "the teacher does not work at this campus")
    return user


def _session_out(data: dict[str, Any]) -> SessionOut:
    """A stored session as the API shows it (seats left; `taken` is internal)."""
    return SessionOut(
        **{k: v for k, v in data.items() if k not in ("taken", "trials")},
        trials=int(data.get("trials") or 0),
        seats_left=max(0, int(data["capacity"]) - int(data.get("taken") or 0)),
    )
