"""Transactions on the shared connection, with cancellation reasons made readable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.db.base import connection


class TransactionConflict(Exception):
    """A condition inside the transaction failed; `failed` lists the indexes that did."""

    def __init__(self, failed: list[int]):
        super().__init__(f"conditions failed at {failed}")
        self.failed = failed


@contextlib.contextmanager
def write(client_request_token: str | None = None) -> Iterator[TransactWrite]:
    """`with write() as tx: tx.save(...)`; raises TransactionConflict on a failed condition.

    The order of the calls on `tx` is the index reported in `TransactionConflict.failed`.
    """
    tx = TransactWrite(connection=connection(), client_request_token=client_request_token)
    try:
        with tx:
            yield tx
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        failed = [i for i, r in enumerate(reasons) if r is not None and r.code == "ConditionalCheckFailed"]
        if failed:
            raise TransactionConflict(failed) from exc
        raise
