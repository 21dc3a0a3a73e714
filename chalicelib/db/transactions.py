"""Transactions on the shared connection, with failed conditions named.

pynamodb sends a transaction's operations grouped by type (condition checks, deletes,
puts, updates), not in call order, and DynamoDB reports cancellation reasons by position.
So every operation here carries a label, kept in the order pynamodb sends them, and a
failed condition comes back as the labels of the operations that failed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.db.base import connection


class TransactionConflict(Exception):
    """A condition inside the transaction failed; `failed` holds the labels of those operations."""

    def __init__(self, failed: list[str]):
        super().__init__(f"conditions failed: {failed}")
        self.failed = failed


def condition_failed(exc: Exception) -> bool:
    """A single write (PutItem, UpdateItem, DeleteItem) refused by its condition."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class TransactionBusy(Exception):
    """Another transaction was changing the same items at that moment; safe to try again."""


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
    """`with write() as tx: tx.save(item, condition, label="...")`; raises TransactionConflict."""
    tx = TransactWrite(connection=connection(), client_request_token=client_request_token)
    labelled = Transaction(tx)
    try:
        with tx:
            yield labelled
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        order = labelled.sent_order()
        failed = [
            order[i] if i < len(order) else ""
            for i, reason in enumerate(reasons)
            if reason is not None and reason.code == "ConditionalCheckFailed"
        ]
        if failed:
            raise TransactionConflict(failed) from exc
        if any(reason is not None and reason.code == "TransactionConflict" for reason in reasons):
            raise TransactionBusy(str(exc)) from exc
        raise
