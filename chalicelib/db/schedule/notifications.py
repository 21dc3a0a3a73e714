"""A staff member's notifications (站内通知)."""

from __future__ import annotations

from typing import Any

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import NotificationItem, UniqueItem


def notify(tenant: str, user_id: str, notification_id: str, message: str, lead_id: str | None, at: str) -> None:
    NotificationItem(
        keys.notifications_pk(tenant, user_id),
        f"{at}#{notification_id}",
        id=notification_id,
        message=message,
        lead_id=lead_id,
        created_at=at,
    ).save()


def notify_once(
    tenant: str,
    user_id: str,
    notification_id: str,
    message: str,
    lead_id: str | None,
    at: str,
    *,
    once: tuple[str, str],
) -> bool:
    """A notification guarded by a marker item (`once` = its key), written together: a job
    that runs twice tells nobody twice. False if it was already told."""
    marker = UniqueItem(once[0], once[1], owner_id=user_id)
    note = NotificationItem(
        keys.notifications_pk(tenant, user_id),
        f"{at}#{notification_id}",
        id=notification_id,
        message=message,
        lead_id=lead_id,
        created_at=at,
    )
    try:
        with transactions.write() as tx:
            tx.save(marker, condition=UniqueItem.PK.does_not_exist(), label="once")
            tx.save(note, label="note")
    except transactions.TransactionConflict:
        return False
    return True


def told(markers: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these `notify_once` markers exist (BatchGetItem, keys only): a job skips
    telling again whom a run before it told. A read only: the marker's conditional write
    in `notify_once` stays what tells once."""
    wanted = list(dict.fromkeys(markers))
    if not wanted:
        return set()
    return {(item.PK, item.SK) for item in UniqueItem.batch_get(wanted, attributes_to_get=["PK", "SK"])}


def list_notifications(
    tenant: str, user_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    scope = f"{tenant}:notifications:{user_id}"
    result = NotificationItem.query(
        keys.notifications_pk(tenant, user_id),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    items = [values(i) for i in result]
    return items, cursors.encode(result.last_evaluated_key, scope)
