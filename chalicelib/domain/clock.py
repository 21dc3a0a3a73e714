"""The one clock. Tests freeze it with `clock.frozen(...)`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import overload
from zoneinfo import ZoneInfo

_frozen: list[datetime] = []


def now() -> datetime:
    return _frozen[-1] if _frozen else datetime.now(UTC)


def epoch() -> int:
    return int(now().timestamp())


@overload
def school_time(value: datetime, timezone: str) -> datetime: ...
@overload
def school_time(value: None, timezone: str) -> None: ...
@overload
def school_time(value: datetime | None, timezone: str) -> datetime | None: ...


def school_time(value: datetime | None, timezone: str) -> datetime | None:
    """A time without an offset is the school's local time."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(timezone)) if value.tzinfo is None else value


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextlib.contextmanager
def frozen(at: datetime) -> Iterator[None]:
    if at.tzinfo is None:
        raise ValueError("freeze the clock with an aware datetime")
    _frozen.append(at)
    try:
        yield
    finally:
        _frozen.pop()
