"""The one Logger and the one Metrics object (powertools).

Logged exceptions keep their type, their chain and where they were raised, never their
message: a message may quote what a customer typed (a pydantic ValidationError's
input_value, a phone in an f-string, an item in a botocore error). A validation error is
logged as the fields and error types it names. Chalice logs its own unhandled errors
through this same logger ("campus-crm"), so they are covered too.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.settings import get_settings


def describe(exc: BaseException) -> str:
    """An exception as its type, and for a validation error its fields and error types:
    nothing that may hold an input value."""
    from pydantic import ValidationError

    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, ValidationError):
        found = exc.errors(include_url=False, include_context=False, include_input=False)
        where = ", ".join(f"{'.'.join(str(p) for p in e.get('loc', ())) or '-'} ({e.get('type')})" for e in found)
        return f"{name}: {where}"
    return f"{name} (message not logged: it may hold customer data)"


def redacted_traceback(exc: BaseException) -> str:
    """The traceback Python would print, oldest exception first, with `describe` in place
    of each exception's message."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = []
    for one in reversed(chain):
        frames = "".join(traceback.format_list(traceback.extract_tb(one.__traceback__)))
        parts.append(f"Traceback (most recent call last):\n{frames}{describe(one)}")
    return "\n\nwhich led to:\n\n".join(parts)


class RedactingFormatter(LambdaPowertoolsFormatter):
    def formatException(self, ei) -> str:  # noqa: N802 - logging's naming
        return redacted_traceback(ei[1]) if ei and ei[1] is not None else ""

    def _extract_log_exception(self, log_record: logging.LogRecord):
        formatted, name, _notes = super()._extract_log_exception(log_record)
        return formatted, name, None  # notes may quote data too

    def _serialize_stacktrace(self, log_record: logging.LogRecord):
        trace = super()._serialize_stacktrace(log_record)
        if trace is not None:
            # powertools returns a trace only when exc_info's first item is an exception class,
            # so exc_info is the (type, exception, traceback) form
            exc_info = cast("tuple[type[BaseException], BaseException, TracebackType | None]", log_record.exc_info)
            trace["value"] = describe(exc_info[1])
        return trace


logger = Logger(service="campus-crm", logger_formatter=RedactingFormatter())
metrics = Metrics(namespace=get_settings().metrics_namespace, service="campus-crm")

__all__ = ["logger", "metrics", "MetricUnit", "count"]


def count(name: str, value: int = 1) -> None:
    """A business metric (PascalCase name), flushed at the end of the invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
