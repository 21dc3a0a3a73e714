"""Turns table changes into derived data, one record at a time, failures reported per record.

DynamoDB Streams delivers at least once, in order per item only. Each handler registered
here must be idempotent; a record whose handler raises is reported in
`batchItemFailures` (ReportBatchItemFailures) and retried alone, while the rest proceed.
Report aggregates, audit and anti-scraping counters register here as they land.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from chalicelib.observability import count, logger

Handler = Callable[[str, dict[str, Any] | None, dict[str, Any] | None], None]
_handlers: dict[str, list[Handler]] = {}


def on(kind: str) -> Callable[[Handler], Handler]:
    """Register `fn(event_name, old_image, new_image)` for items whose `type` is `kind`."""

    def register(fn: Handler) -> Handler:
        _handlers.setdefault(kind, []).append(fn)
        return fn

    return register


def item_kind(record: dict[str, Any]) -> str | None:
    images = record.get("dynamodb", {})
    for image in (images.get("NewImage"), images.get("OldImage")):
        if image and "type" in image:
            return image["type"].get("S")
    return None


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    seen: Counter[str] = Counter()

    def process(record: DynamoDBRecord) -> None:
        raw = record.raw_event
        kind = item_kind(raw) or "unknown"
        seen[kind] += 1
        images = raw.get("dynamodb", {})
        for fn in _handlers.get(kind, []):
            fn(raw.get("eventName", ""), images.get("OldImage"), images.get("NewImage"))

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    result = process_partial_response(event=event, record_handler=process, processor=processor, context=context)
    if seen:
        logger.info("stream batch", extra={"records": dict(seen), "failures": len(result["batchItemFailures"])})
        count("StreamRecords", sum(seen.values()))
    return result
