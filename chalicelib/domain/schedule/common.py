"""What the schedule's parts share: who marks attendance, campus checks, a school day's bounds."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.db import tenants as tenants_db
from chalicelib.domain import clock
from chalicelib.domain.auth import Principal
from chalicelib.errors import ValidationFailedError
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
