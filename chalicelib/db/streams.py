"""Writing the stream's effects: coalesced per aggregate key, exactly once per record; and the
few reads the stream function makes (a school's time zone, the access counters and the
security settings its freeze check compares).

Through the low-level client (db/client.py), not pynamodb: the stream function's cold start
loads no item class. The requests are the ones pynamodb sent (the same items, keys,
expressions and conditions), so replays and retries stay exact (docs/decisions/0004 and 0007).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.db import client as db
from chalicelib.db import keys
from chalicelib.db.recent import Recent

MAX_ITEMS = 100  # a transaction's limit: markers + aggregate updates
MARKER_TTL = timedelta(days=2)  # a stream keeps records 24 hours: no replay comes later
ATTEMPTS = 10
# seconds: the ceiling of each jittered pause before sending a busy transaction again (as
# db/transactions.py's BUSY_PAUSES, then at that ceiling)
BUSY_PAUSES = (0.025, 0.05, 0.1, 0.2, 0.4)
AGGREGATE, SEEN = "Aggregate", "Seen"  # the items' `type` (db/items/audit.py: AggregateItem, SeenItem)


class _Busy(Exception):
    """DynamoDB cancelled the transaction for a conflict or throttled it: nothing was written."""


def image(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stream record's item image as plain values (numbers as Decimals, as boto3 gives them);
    None for no image. An empty map can come through as {} (DynamoDB Local does so): it means
    nothing here and is left out."""
    if not values:
        return None
    return {name: db.plain(value) for name, value in values.items() if value}


def _chunks(records: list[Any]) -> list[list[Any]]:
    """Consecutive records whose markers and distinct aggregate keys fit one transaction."""
    chunks: list[list[Any]] = []
    current: list[Any] = []
    keys_in: set[tuple[str, str]] = set()
    for record in records:
        new = {(e.pk, e.sk) for e in record.effects} - keys_in
        if current and len(current) + 1 + len(keys_in) + len(new) > MAX_ITEMS:
            chunks.append(current)
            current, keys_in = [], set()
            new = {(e.pk, e.sk) for e in record.effects}
        current.append(record)
        keys_in |= new
    if current:
        chunks.append(current)
    return chunks


def apply(records: list[Any]) -> dict[str, int]:
    """Writes every record's effects once; returns how many were applied and how many had
    been applied before (their markers existed)."""
    outcome: Counter[str] = Counter()
    for chunk in _chunks(records):
        outcome.update(_commit(chunk))
    return dict(outcome)


def _marker(table: str, record: Any, expires: int) -> dict[str, Any]:
    """The record's marker, put only if absent: a record whose marker exists was applied."""
    item = {
        "PK": {"S": keys.seen_pk(record.tenant, record.event_id)},
        "SK": {"S": record.event_id},
        "expires_at": db.number(expires),
        "type": {"S": SEEN},
    }
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists (#0)",
            "ExpressionAttributeNames": {"#0": "PK"},
        }
    }


def _update(table: str, pk: str, sk: str, counts: Counter[str], ttl: int | None) -> dict[str, Any]:
    """ADD each counter and SET the item's type (and its expiry, for the access windows)."""
    names, values, sets = {"#0": "type"}, {":0": {"S": AGGREGATE}}, ["#0 = :0"]
    if ttl is not None:
        names["#1"], values[":1"] = "expires_at", db.number(ttl)
        sets.append("#1 = :1")
    adds = []
    for name, value in counts.items():
        if value:
            slot = str(len(names))
            names[f"#{slot}"], values[f":{slot}"] = name, db.number(value)
            adds.append(f"#{slot} :{slot}")
    expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
    return {
        "Update": {
            "TableName": table,
            "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _commit(chunk: list[Any]) -> Counter[str]:
    """One transaction: a marker per record (attribute_not_exists) and one update per aggregate
    key. A record whose marker exists is dropped and the rest sent again; a busy transaction
    (a conflict, throttling) is sent again after a jittered pause; at most ATTEMPTS sends."""
    outcome: Counter[str] = Counter()
    expires = int((datetime.now(UTC) + MARKER_TTL).timestamp())
    table = db.table_name()
    for attempt in range(ATTEMPTS):
        if not chunk:
            return outcome
        totals: dict[tuple[str, str], Counter[str]] = {}
        ttls: dict[tuple[str, str], int] = {}
        for record in chunk:
            for effect in record.effects:
                totals.setdefault((effect.pk, effect.sk), Counter()).update(dict(effect.add))
                if effect.ttl:
                    ttls[(effect.pk, effect.sk)] = max(effect.ttl, ttls.get((effect.pk, effect.sk), 0))
        items = [_marker(table, record, expires) for record in chunk]
        items += [_update(table, pk, sk, counts, ttls.get((pk, sk))) for (pk, sk), counts in totals.items()]
        try:
            done = _send(items, chunk)
        except _Busy:
            pause = BUSY_PAUSES[min(attempt, len(BUSY_PAUSES) - 1)]
            time.sleep(random.uniform(pause / 2, pause))  # noqa: S311 - jitter, not a secret
            continue
        if done:
            outcome["already_applied"] += len(done)
            chunk = [r for r in chunk if r.sequence not in done]
            continue
        outcome["applied"] += len(chunk)
        outcome["updates"] += len(totals)
        return outcome
    raise RuntimeError(f"stream effects could not be written after {ATTEMPTS} attempts")


def _send(items: list[dict[str, Any]], chunk: list[Any]) -> set[str]:
    """Sends the transaction: the sequence numbers of the records whose markers existed (nothing was
    written then), or an empty set when it committed. Raises _Busy for a conflict or throttling."""
    from botocore.exceptions import ClientError

    from chalicelib.errors import THROTTLE_CODES

    try:
        db.client().transact_write_items(TransactItems=items)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in THROTTLE_CODES:  # the whole call, after botocore's own retries
            raise _Busy() from exc
        if code != "TransactionCanceledException":
            raise
        reasons = [(r or {}).get("Code") for r in exc.response.get("CancellationReasons") or []]
        # the markers come first, one per record, in the chunk's order
        markers = reasons[: len(chunk)]
        done = {chunk[i].sequence for i, reason in enumerate(markers) if reason == "ConditionalCheckFailed"}
        if done:
            return done
        if ({"TransactionConflict"} | THROTTLE_CODES) & set(reasons):
            raise _Busy() from exc
        raise
    return set()


_field_types: Recent[str, dict[str, str]] = Recent(1024)
FIELD_TYPES_SECONDS = 30.0  # as long as the API's containers trust their read of a school's settings


def lead_field_types(tenant: str, now: float, *, fresh: bool = False) -> dict[str, str]:
    """The school's own lead fields by key, each its type (list, text, number, date), as read
    from its `CONFIG#LEAD_FIELDS` item (one GetItem of its body) in the last 30 s, or now when
    `fresh` (a field the caller met and this read did not know: it was defined since)."""
    if fresh:
        _field_types.forget(tenant)

    def read(consistent: bool) -> dict[str, str]:
        answer = db.client().get_item(
            TableName=db.table_name(),
            Key={"PK": {"S": keys.tenant_pk(tenant)}, "SK": {"S": keys.LEAD_FIELDS_SK}},
            ProjectionExpression="#0",
            ExpressionAttributeNames={"#0": "body"},
            ConsistentRead=consistent,
        )
        body = answer.get("Item", {}).get("body", {}).get("S")
        fields = json.loads(body) if body else []
        if isinstance(fields, dict):
            fields = fields.get("fields") or []
        return {str(f["key"]): str(f.get("type")) for f in fields if isinstance(f, dict) and f.get("key")}

    found, _ = _field_types.get_or_read(tenant, now, FIELD_TYPES_SECONDS, read)
    return found or {}


def timezone(tenant: str) -> str | None:
    """The school's time zone (its tenant item's `timezone`), None when there is no such school."""
    answer = db.client().get_item(
        TableName=db.table_name(),
        Key={"PK": {"S": keys.tenant_pk(tenant)}, "SK": {"S": keys.TENANT_SK}},
        ProjectionExpression="#0",
        ExpressionAttributeNames={"#0": "timezone"},
    )
    found = answer.get("Item", {}).get("timezone")
    return found["S"] if found else None


def access_counts(
    wanted: dict[str, set[tuple[str, str]]],
) -> tuple[dict[tuple[str, str], int], dict[str, dict[str, Any] | None]]:
    """For the freeze check, in BatchGetItems of at most 100 keys: the weighted reads counted in
    these access windows ({tenant: {(pk, sk)}}; 0 where none yet) and each school's stored
    security settings (None: the defaults)."""
    settings = {tenant: (keys.tenant_pk(tenant), keys.SECURITY_SETTINGS_SK) for tenant in wanted}
    asked = list(dict.fromkeys([k for pairs in wanted.values() for k in sorted(pairs)] + list(settings.values())))
    found: dict[tuple[str, str], dict[str, Any]] = {}
    table = db.table_name()
    for start in range(0, len(asked), 100):
        request: dict[str, Any] | None = {
            table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in asked[start : start + 100]]}
        }
        while request:
            answer = db.client().batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[(item["PK"]["S"], item["SK"]["S"])] = item
            request = answer.get("UnprocessedKeys") or None
    counts = {key: db.as_int(found.get(key, {}).get("weight")) for pairs in wanted.values() for key in pairs}
    stored: dict[str, dict[str, Any] | None] = {}
    for tenant, key in settings.items():
        body = found.get(key, {}).get("body")
        stored[tenant] = json.loads(body["S"]) if body and "S" in body else None
    return counts, stored
