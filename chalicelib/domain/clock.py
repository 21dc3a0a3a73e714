"""The one clock. Tests freeze it with `clock.frozen(...)`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

_frozen: list[datetime] = []


def now() -> datetime:
    return _frozen[-1] if _frozen else datetime.now(UTC)


def epoch() -> int:
    return int(now().timestamp())


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
