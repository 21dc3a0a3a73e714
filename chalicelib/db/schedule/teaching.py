"""Teachers' classes: the in-class records (课堂记录) of a session's learners.

A record lives in the session's partition (`REC#<lead>`: the roster reads them with the
bookings' partition, one Query) and, as the history entry `class_record`, in the learner's
partition under a key fixed by the session (`HIST#<session start>#class-<session>`), so an
edit overwrites both and the lead's history shows it once, at the time of the class. Both
are written in one transaction: never one without the other.
"""

from __future__ import annotations

from typing import Any

from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import BookingItem, ClassRecordItem, SessionItem
from chalicelib.db.leads.records import history_item
from chalicelib.schemas.leads import HistoryEntry


def class_records(tenant: str, session_id: str) -> list[dict[str, Any]]:
    """A session's class records, one per learner (one Query of the session's partition)."""
    query = ClassRecordItem.query(
        keys.session_pk(tenant, session_id), ClassRecordItem.SK.startswith(keys.CLASS_RECORD_PREFIX)
    )
    return [values(i) for i in query]


def save_class_record(tenant: str, session_starts_at: str, record: dict[str, Any], entry: HistoryEntry) -> None:
    """Writes the record and its history entry together, while the session is there and not
    cancelled (TransactionConflict `session` otherwise); TransactionBusy when DynamoDB stays busy."""
    session_id, lead_id = record["session_id"], record["lead_id"]
    pk = keys.session_pk(tenant, session_id)
    item = ClassRecordItem(pk, keys.class_record_sk(lead_id), **record)
    history = history_item(keys.lead_pk(tenant, lead_id), entry, keys.class_record_entry_id(session_id))
    # the history entry sorts at the class's start, whatever the time it was written or edited
    history.SK = keys.history_sk(session_starts_at, keys.class_record_entry_id(session_id))
    with transactions.write() as tx:
        tx.condition_check(
            SessionItem,
            pk,
            keys.SESSION_SK,
            condition=SessionItem.PK.exists() & (SessionItem.cancelled == False),  # noqa: E712 - a DynamoDB condition
            label="session",
        )
        tx.save(item)
        tx.save(history)


def booking(tenant: str, session_id: str, lead_id: str) -> dict[str, Any] | None:
    """A learner's booking or check-in at a session (one GetItem, consistent)."""
    try:
        item = BookingItem.get(keys.session_pk(tenant, session_id), keys.booking_sk(lead_id), consistent_read=True)
    except BookingItem.DoesNotExist:
        return None
    return values(item)
