"""Read, decide, write; if the write lost a race, read and decide again.

Every money write is conditional (a version, a balance, a status). When a condition fails
because something changed since the read, the whole attempt (read, decide, write) runs
again, after a short jittered pause, so the decision is made afresh on what is there now.
The conditions, not this loop, keep the data right; the loop only spares the user a retry.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from chalicelib.db import transactions
from chalicelib.errors import ConflictError

T = TypeVar("T")


def pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # noqa: S311 - jitter, not a secret


def backoff(attempt: int) -> None:
    """Longer, doubling: for a transaction DynamoDB cancelled because another was writing
    the same items (50 ms, 100 ms, ... with jitter)."""
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not a secret


def until_written(
    attempt: Callable[[], T],
    *,
    tries: int,
    give_up: ConflictError,
    on_conflict: Callable[[transactions.TransactionConflict], None] | None = None,
) -> T:
    """Runs `attempt` until it returns. `on_conflict` sees each failed condition first and
    may raise the error it means (an idempotent replay, a taken number, a full session).
    TransactionBusy passes through (409 BUSY): `transactions.write` has retried it already."""
    for n in range(tries):
        try:
            return attempt()
        except transactions.TransactionConflict as exc:
            if on_conflict is not None:
                on_conflict(exc)
        pause(n)  # a TransactionBusy is not caught: the write already sent itself again
    raise give_up
