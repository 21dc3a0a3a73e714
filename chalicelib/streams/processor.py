"""Turns table changes into derived data: report aggregates, access counters, usage.

DynamoDB Streams delivers at least once, in order per item only, and a batch may be split
and retried. So a record's effect is never a bare `ADD`:

1. Each record is turned into *effects*: (aggregate key, counter deltas), by the functions
   registered with `@effects(kind)`. A record that cannot be turned (a poisoned record)
   is left out and reported as failed.
2. The effects of the batch are **coalesced** (one UpdateItem per aggregate key, however
   many records touch it) and written in transactions together with one **marker per
   record** (`attribute_not_exists`). A record whose marker exists was applied before:
   it is dropped and the transaction retried without it. Deltas and markers commit
   together, so replaying a batch, or a part of it, changes no figure.
3. The answer reports, per record, what failed (`ReportBatchItemFailures`: the sequence
   numbers in `batchItemFailures`, the answer powertools' batch utility gave, made here so
   the function loads none of it); Lambda redelivers from the first failure, and the markers
   make the redelivery exact.
4. Functions registered with `@after` see the committed records (the anti-scraping check).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from chalicelib.observability import count, logger
from chalicelib.streams.registry import Effect, StreamRecord, _after, _effects, after, effects  # noqa: F401 - the public face

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse, PartialItemFailures


def item_kind(record: dict[str, Any]) -> str | None:
    images = record.get("dynamodb", {})
    for image in (images.get("NewImage"), images.get("OldImage")):
        if image and "type" in image:
            return image["type"].get("S")
    return None


def _load() -> None:
    from chalicelib.streams import access, aggregates  # noqa: F401 - register their effects


def parse(raw: dict[str, Any]) -> StreamRecord:
    from chalicelib.db import keys
    from chalicelib.db import streams as streams_db

    images = raw.get("dynamodb", {})
    key = (images.get("Keys") or {}).get("PK", {}).get("S", "")
    return StreamRecord(
        sequence=images.get("SequenceNumber", ""),
        event_id=raw.get("eventID") or images.get("SequenceNumber", ""),
        event_name=raw.get("eventName", ""),
        kind=item_kind(raw),
        tenant=keys.tenant_of_key(key),
        old=streams_db.image(images.get("OldImage")),
        new=streams_db.image(images.get("NewImage")),
    )


def handle(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    from chalicelib.db import streams as streams_db

    _load()
    raws = event.get("Records") or []
    records: dict[str, StreamRecord] = {}
    for raw in raws:
        record = parse(raw)
        records[record.sequence] = record
        try:
            for fn in _effects.get(record.kind or "", []):
                record.effects += fn(record)
        except Exception as exc:  # noqa: BLE001 - a poisoned record fails alone
            # logged without its message (observability), and kept as its type only: the
            # message may quote the item's values
            logger.exception("stream record failed", extra={"kind": record.kind})
            record.error = type(exc).__name__
            record.effects = []
    ready = [r for r in records.values() if r.error is None]
    try:
        streams_db.apply([r for r in ready if r.effects and r.tenant])
    except Exception as exc:  # noqa: BLE001 - nothing was written: every record of the batch is retried
        logger.exception("stream batch could not be written")
        for record in ready:
            record.error = f"not written: {type(exc).__name__}"
    committed = [r for r in records.values() if r.error is None]
    for check in _after:
        try:
            check(committed)
        except Exception:  # noqa: BLE001 - the figures are written; a failed check runs again next batch
            logger.exception("after-stream check failed")

    seen: Counter[str] = Counter()
    failures: list[PartialItemFailures] = []
    for raw in raws:  # in the batch's order: Lambda redelivers from the first one reported
        sequence = raw.get("dynamodb", {}).get("SequenceNumber", "")
        mine = records[sequence]
        seen[mine.kind or "unknown"] += 1
        if mine.error:
            failures.append({"itemIdentifier": sequence})
    # a batch whose every record failed is reported record by record too, not raised
    result: PartialItemFailureResponse = {"batchItemFailures": failures}
    if seen:
        logger.info("stream batch", extra={"records": dict(seen), "failures": len(failures)})
        count("StreamRecords", sum(seen.values()))
    return result
