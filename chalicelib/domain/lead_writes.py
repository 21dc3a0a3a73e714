"""Appending is not editing (issue 14): how a change to a lead meets a concurrent one.

A write states the fields its caller means to edit (status, owner, next follow-up time,
...). It is stored field by field (db.lead_fields). If another writer changed one of those
same fields since it was read, the later writer is refused with 409 EDIT_CONFLICT naming
each such field and its value now. If another writer only changed something this write
derives (the last contact, the protection period, the due marker), or a field it does not
touch, the write is worked out again on the fresh lead and sent again: an append (a
follow-up, a plan, a history entry) never conflicts with another append.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

from chalicelib.db import lead_fields
from chalicelib.db.lead_fields import LeadChanged, Snapshot
from chalicelib.errors import BusyError, ConflictError, NotFoundError

T = TypeVar("T")
ATTEMPTS = 25  # each failed attempt means another writer's change went in: this is progress


SHOWN_WITHOUT_VALUE = frozenset({"guardians"})  # full phone numbers are shown only through reveal-phone


def edit_conflict(fields: dict[str, object], expected: dict[str, object]) -> ConflictError:
    names = ", ".join(sorted(fields))
    details = []
    for name in sorted(fields):
        detail: dict[str, object] = {"field": name, "message": "changed meanwhile"}
        if name not in SHOWN_WITHOUT_VALUE:
            was = expected.get(name)
            if name.startswith("custom."):  # a key of the school's own fields (db.lead_fields)
                mine = expected.get("custom")
                was = mine.get(name.removeprefix("custom.")) if isinstance(mine, dict) else None
            detail.update(current=fields[name], yours_was=was)
        details.append(detail)
    return ConflictError(
        f"Someone else changed {names} of this lead meanwhile; look at the values now and try again.",
        code="EDIT_CONFLICT",
        details=details,
    )


def change(tenant: str, lead_id: str, work: Callable[[Snapshot], T], not_found: Callable[[], NotFoundError]) -> T:
    """Runs `work(snapshot)` on a fresh consistent read of the lead until it succeeds. `work`
    checks what it must and writes through `intending(...)`. A clash on a field its caller
    meant to edit is EDIT_CONFLICT; any other change meanwhile: the work is done again."""
    for _ in range(ATTEMPTS):
        snapshot = lead_fields.read(tenant, lead_id)
        if snapshot is None:
            raise not_found()
        try:
            return work(snapshot)
        except LeadChanged as exc:
            edits: Collection[str] = getattr(exc, "intended", set())
            clash = {name: value for name, value in exc.fields.items() if name in edits}
            if clash:
                raise edit_conflict(clash, snapshot.lead.model_dump(mode="json")) from exc
    raise BusyError()


def intending(edits: Collection[str], write: Callable[[], None]) -> None:
    """Calls `write`; a LeadChanged it raises carries `edits`, the fields meant to be edited."""
    try:
        write()
    except LeadChanged as exc:
        exc.intended = set(edits)
        raise
