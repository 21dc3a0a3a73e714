"""Attendance is not prophecy: arrival and no-show are marked from a short while before the
start on, never for tomorrow's class today. The same holds for a walk-in's trial class and a
member's check-in to a class.

The school's lead setting `attendance_opens_minutes_before` (default 60, 0 to 1,440) says
how long before the start marking opens. Earlier, marking is refused with
`409 ATTENDANCE_NOT_OPEN`, saying when it opens in the school's time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain import clock, config
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError


def session_start(session: dict[str, Any]) -> datetime:
    """When a stored class session starts (its `starts_at`, UTC)."""
    return datetime.fromisoformat(session["starts_at"].replace("Z", "+00:00"))


def check_open(tenant: str, starts_at: datetime, field: str = "attendance") -> None:
    """Refuses marking attendance of what starts at `starts_at` before marking opens."""
    minutes = config.load(tenant).lead_settings.attendance_opens_minutes_before
    opens = starts_at - timedelta(minutes=minutes)
    if clock.now() >= opens:
        return
    local = opens.astimezone(ZoneInfo(get_tenant(tenant).timezone)).isoformat(timespec="minutes")
    raise ConflictError(
        f"Attendance can be marked from {local} on ({minutes} minutes before the start), not before.",
        code="ATTENDANCE_NOT_OPEN",
        details=[{"field": field, "opens_at": local, "message": "attendance is not open yet"}],
    )
