"""What is due when: the buckets of the sparse, cross-tenant DUE index.

An item that becomes due carries `DUEPK = DUE#<kind>#<bucket>#<shard>`; it drops the
attribute once handled, so a job reads what is due and nothing else. Buckets are UTC;
per-tenant local time is applied by the job that reads them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.db import due as due_db

FOLLOW_UP = "FOLLOWUP"
BIRTHDAY = "BIRTHDAY"
SMS = "SMS"


def day_bucket(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def month_day_bucket(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%m-%d")


def minute_bucket(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def items(kind: str, bucket: str) -> list[dict[str, Any]]:
    return due_db.due_items(kind, bucket)
