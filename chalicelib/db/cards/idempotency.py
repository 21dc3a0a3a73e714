"""The idempotency claim a guarded write saves in its own transaction, and the stored
response a replay finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.db import keys, transactions
from chalicelib.db.items import IdempotencyItem

IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass
class IdempotencyClaim:
    """Written in the same transaction as the change it guards: a replay finds it."""

    key: str
    fingerprint: str
    response: str
    status: int = 200


@dataclass
class Stored:
    fingerprint: str
    response: str
    status: int


def get_idempotent(tenant: str, key: str) -> Stored | None:
    try:
        item = IdempotencyItem.get(keys.idempotency_pk(tenant, key), keys.IDEMPOTENCY_SK, consistent_read=True)
    except IdempotencyItem.DoesNotExist:
        return None
    return Stored(item.fingerprint, item.response, int(item.status))


def _claim(tx: transactions.Transaction, tenant: str, claim: IdempotencyClaim | None) -> None:
    if claim is None:
        return
    item = IdempotencyItem(
        keys.idempotency_pk(tenant, claim.key),
        keys.IDEMPOTENCY_SK,
        fingerprint=claim.fingerprint,
        response=claim.response,
        status=claim.status,
    )
    item.expires_at = int((datetime.now(UTC) + IDEMPOTENCY_TTL).timestamp())
    tx.save(item, condition=IdempotencyItem.PK.does_not_exist(), label="idempotency")
