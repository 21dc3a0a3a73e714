"""What every partition shares: the tenant prefix, times inside keys, the cross-tenant DUE index,
uniqueness items, idempotency records and the platform's job cursors."""

from __future__ import annotations

from datetime import UTC, datetime


def tenant_pk(tenant: str) -> str:
    return f"T#{tenant}"


# Uniqueness items, written with attribute_not_exists in the same transaction.
UNIQUE_SK = "UNIQUE"


def tenant_of_key(key_value: str) -> str | None:
    """The tenant a key belongs to, or None for platform partitions."""
    if not key_value.startswith("T#"):
        return None
    return key_value[2:].split("#", 1)[0]


# The cross-tenant DUE index: date-keyed and sharded so no bucket grows hot.
DUE_SHARDS = 4


def due_pk(kind: str, bucket: str, shard: int) -> str:
    return f"DUE#{kind}#{bucket}#{shard}"


NO_DATE = "~"  # sorts after every ISO timestamp: leads with no next follow-up come last


def stamp(value: str | datetime | None) -> str | None:
    """One fixed form for times inside keys (UTC, milliseconds, Z), so keys sort by time:
    pydantic writes 10:00:00Z but 10:00:00.5Z, which would not sort as strings."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sort_key(at: str | datetime | None, item_id: str) -> str:
    return f"{stamp(at) or NO_DATE}#{item_id}"


def shard_of(item_id: str) -> int:
    return sum(item_id.encode()) % DUE_SHARDS


def idempotency_pk(tenant: str, key: str) -> str:
    return f"T#{tenant}#IDEM#{key}"


IDEMPOTENCY_SK = "IDEM"


# Platform job cursors: how far a job has read its buckets (not tenant data).
JOB_CURSOR_PK = "PLATFORM#JOBS"
