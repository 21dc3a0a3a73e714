"""The stream function's handler: `chalicelib.entry.stream.handle_stream` (infra/table.yml
sets it as HandleStream's Handler). Loads the processor, the effects it applies and the
writer at init, so a cold start pays for them once and for nothing of the API; none of them
loads pynamodb, pydantic or boto3, and the DynamoDB client (botocore) is made by the first
batch (db/client.py; docs/decisions/0007-lean-stream-and-logging.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.db import streams as _streams_db  # noqa: F401 - the writer every batch uses
from chalicelib.entry import published
from chalicelib.streams import access, aggregates, processor  # noqa: F401 - access, aggregates: their effects

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse


def handle_stream(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """A batch of DynamoDB stream records (the raw Lambda event): what `processor.handle` reports
    (ReportBatchItemFailures)."""
    return published(lambda: processor.handle(event, context))
