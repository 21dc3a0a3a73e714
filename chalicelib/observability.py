"""The one Logger and the one Metrics object (powertools).

The Metrics object is made on first use (`count`, or importing `metrics` as app.py does), so
a stream or job invocation that publishes nothing never makes it; `publish_metrics` ends an
invocation (docs/decisions/0007-lean-stream-and-logging.md).

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
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.logger import Logger

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import Metrics


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
_made: list[Metrics] = []  # the one Metrics object, once made

__all__ = ["logger", "count", "publish_metrics"]  # and `metrics` (module __getattr__)


def _metrics() -> Metrics:
    if not _made:
        from aws_lambda_powertools.metrics import Metrics

        _made.append(Metrics(namespace=get_settings().metrics_namespace, service="campus-crm"))
    return _made[0]


def __getattr__(name: str) -> Any:
    """`metrics`: the Metrics object, made now if it was not (app.py imports it by name)."""
    if name == "metrics":
        return _metrics()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def count(name: str, value: int = 1) -> None:
    """A business metric (PascalCase name), flushed at the end of the invocation."""
    from aws_lambda_powertools.metrics import MetricUnit

    _metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def publish_metrics() -> None:
    """Ends an invocation: publishes its business metrics once, if it added any, and forgets
    them (flushing does not clear when metrics are disabled: local, tests). Makes no Metrics
    object when none was made."""
    if not _made:
        return
    if _made[0].metric_set:
        _made[0].flush_metrics()
    _made[0].clear_metrics()
