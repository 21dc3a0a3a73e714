"""The lease of an import run, kept alive by a heartbeat (issue 14).

A run takes an import with a lease of `LEASE` (60 s) and, while it works, renews it
whenever `HEARTBEAT` (20 s) has passed since the last renewal: `beat()` is called between
pieces of work (every few hundred rows checked, before every transaction written), and
costs nothing when no renewal is due. A run that dies stops beating, so its lease passes
at most 60 s after its last beat, and the `lead_imports` job (every minute) takes the
import over within about two minutes of the crash; it resumes where the dead run stopped
(lead ids are derived from the import and the row: rows already written are found, not
written again). A live run that is slow keeps its lease however long it takes.

A renewal is conditional on the run's own token. If it fails, another run took the
import over (this one stalled for more than a minute): `beat()` raises `LeaseLost`, every
writer of this run stops before its next transaction, and the run neither finishes nor
reports the import (the run that took it over does). A transaction already in flight when
the lease passed may still land; the run that took over finds its rows as its own.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from chalicelib.db import imports as imports_db
from chalicelib.domain import clock, ids

LEASE = timedelta(seconds=60)
HEARTBEAT = timedelta(seconds=20)  # three chances to renew before the lease passes
PROGRESS = timedelta(seconds=3)  # while writing, the rows settled are kept at most this often


class LeaseLost(Exception):
    """Another run took the import over: this run must write nothing more."""


class Lease:
    """One run's hold on one import. Thread-safe: the import's writers share it."""

    def __init__(self, tenant: str, import_id: str, owner: str, renewed_at: datetime) -> None:
        self.tenant, self.import_id, self.owner = tenant, import_id, owner
        self.renewed_at = renewed_at
        self.renewals = 0
        self.rows_done: int | None = None  # as last kept on the import
        self.lost = False
        self._lock = threading.Lock()

    @classmethod
    def take(cls, tenant: str, import_id: str) -> Lease | None:
        """The import for this run, if it is queued or its last run's lease has passed."""
        now, owner = clock.now(), ids.new_id()
        if not imports_db.claim(tenant, import_id, clock.iso(now), clock.iso(now + LEASE), owner):
            return None
        return cls(tenant, import_id, owner, now)

    def beat(self, rows_done: int | None = None) -> None:
        """Renews the lease if HEARTBEAT has passed, or, with `rows_done` (the rows settled so
        far while writing), if PROGRESS has and that number moved: one conditional UpdateItem
        keeps both. Raises LeaseLost if the import was taken."""
        with self._lock:  # one renewal at a time; the other writers wait for its answer
            if self.lost:
                raise LeaseLost(self.import_id)
            now = clock.now()
            progress = rows_done is not None and rows_done != self.rows_done and now - self.renewed_at >= PROGRESS
            if now - self.renewed_at < HEARTBEAT and not progress:
                return
            told = rows_done if progress else None
            if not imports_db.renew(self.tenant, self.import_id, self.owner, clock.iso(now + LEASE), told):
                self.lost = True
                raise LeaseLost(self.import_id)
            self.renewed_at = now
            self.renewals += 1
            if told is not None:
                self.rows_done = told

    def finish(self, *, status: str, result: dict[str, Any] | None, error: str | None) -> None:
        """Keeps the run's outcome, if the lease is still this run's."""
        with self._lock:
            if self.lost or not imports_db.finish(
                self.tenant,
                self.import_id,
                owner=self.owner,
                status=status,
                at=clock.iso(clock.now()),
                result=result,
                error=error,
            ):
                self.lost = True
                raise LeaseLost(self.import_id)
