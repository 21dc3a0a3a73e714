"""Transactions on the shared connection, with failed conditions named.

pynamodb sends a transaction's operations grouped by type (condition checks, deletes,
puts, updates), not in call order, and DynamoDB reports cancellation reasons by position.
So every operation here carries a label, kept in the order pynamodb sends them, and a
failed condition comes back as the labels of the operations that failed.

DynamoDB cancels a transaction that touches an item another transaction is writing at
that moment (reason `TransactionConflict`), or while it throttles; DynamoDB Local never
does either. Such a cancellation wrote nothing and the very same operations may be sent
again (their conditions are checked afresh), so `write` sends them again a few times with
jittered, doubling pauses (BUSY_PAUSES, under a second in all, well inside a request's
budget), and only then raises TransactionBusy: a 409 `BUSY` with `Retry-After`. A throttled
call (the whole TransactWriteItems refused) has been retried by botocore already
(pynamodb's standard retry mode) and is TransactionBusy at once.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.db.base import connection
from chalicelib.errors import THROTTLE_CODES, BusyError

# seconds: the ceiling of each jittered pause before sending a busy transaction again
BUSY_PAUSES = (0.025, 0.05, 0.1, 0.2, 0.4)
BUSY_REASONS = frozenset({"TransactionConflict"}) | THROTTLE_CODES


class TransactionConflict(Exception):
    """A condition inside the transaction failed; `failed` holds the labels of those operations."""

    def __init__(self, failed: list[str]):
        super().__init__(f"conditions failed: {failed}")
        self.failed = failed


def condition_failed(exc: Exception) -> bool:
    """A single write (PutItem, UpdateItem, DeleteItem) refused by its condition."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class TransactionBusy(BusyError):
    """Another transaction was changing the same items at that moment (or DynamoDB was
    throttling), still after BUSY_PAUSES; nothing was written and it is safe to try again.
    Uncaught, it is the API's 409 `BUSY` with `Retry-After`."""


class Transaction:
    """A TransactWrite whose operations are labelled (see the module docstring)."""

    def __init__(self, tx: TransactWrite):
        self._tx = tx
        self._labels: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def condition_check(
        self, model_cls: Any, hash_key: Any, range_key: Any = None, *, condition: Any, label: str = ""
    ) -> None:
        self._tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self._labels["check"].append(label)

    def delete(self, model: Any, condition: Any = None, *, label: str = "") -> None:
        self._tx.delete(model, condition=condition)
        self._labels["delete"].append(label)

    def save(self, model: Any, condition: Any = None, *, label: str = "") -> None:
        self._tx.save(model, condition=condition)
        self._labels["put"].append(label)

    def update(self, model: Any, actions: list[Any], condition: Any = None, *, label: str = "") -> None:
        self._tx.update(model, actions=actions, condition=condition)
        self._labels["update"].append(label)

    def sent_order(self) -> list[str]:
        return self._labels["check"] + self._labels["delete"] + self._labels["put"] + self._labels["update"]


@contextlib.contextmanager
def write(client_request_token: str | None = None) -> Iterator[Transaction]:
    """`with write() as tx: tx.save(item, condition, label="...")`; raises TransactionConflict
    when a condition fails, TransactionBusy when DynamoDB stayed busy (see the module docstring)."""
    tx = TransactWrite(connection=connection(), client_request_token=client_request_token)
    labelled = Transaction(tx)
    yield labelled  # an exception in the block propagates from here: nothing is sent
    for pause in (*BUSY_PAUSES, None):
        try:
            tx._commit()  # what TransactWrite.__exit__ does, here so that it can be sent again
            return
        except TransactWriteError as exc:
            reasons = [r.code for r in exc.cancellation_reasons or [] if r is not None]
            order = labelled.sent_order()
            failed = [
                order[i] if i < len(order) else ""
                for i, reason in enumerate(exc.cancellation_reasons or [])
                if reason is not None and reason.code == "ConditionalCheckFailed"
            ]
            if failed:
                raise TransactionConflict(failed) from exc
            if exc.cause_response_code in THROTTLE_CODES:  # botocore has retried the call already
                raise TransactionBusy() from exc
            if not BUSY_REASONS & set(reasons):
                raise
            if pause is None:
                raise TransactionBusy() from exc
            time.sleep(random.uniform(pause / 2, pause))  # noqa: S311 - jitter, not a secret
