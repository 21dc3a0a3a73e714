"""The Lambda handlers of the functions that are not the API (docs/architecture.md, "Functions").

app.py declares every function (chalice generates each one, its trigger, schedule and
permissions from the decorators), but a deployed function's `Handler` is the lean module
here that infra/table.yml names: the stream function runs `chalicelib.entry.stream.handle_stream`,
each scheduled job `chalicelib.entry.jobs.<job>`. They import what their work needs and none
of the API (chalicelib.api, chalice's routing, the blueprints), so their cold start is not the API's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from chalicelib.observability import publish_metrics

T = TypeVar("T")


def published(work: Callable[[], T]) -> T:
    """Runs one invocation's work, then publishes its business metrics once, as app.py's
    `flush_metrics` middleware does for the invocations chalice routes."""
    try:
        return work()
    finally:
        publish_metrics()
