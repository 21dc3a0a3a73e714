"""Records every DynamoDB call made through the shared client.

Tests use it to assert that no request path issues a Scan; `bench/` uses it to report
consumed capacity. Recording is off unless a recorder is active, so production pays one
list check per call.

While a recorder is active each `Call` also keeps what DynamoDB returned that costing
needs (`Call.response`: Item, Items, Count, ScannedCount, Attributes, Responses, ... in
the wire format, e.g. `{"S": "..."}`; references, not copies) and the error code of a
failed call (`Call.error`). A response is paired with its request through botocore's
per-request context, so it is never attached to the wrong call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_recorders: list[Recorder] = []
_attached: set[int] = set()

# What `Call.response` keeps of a parsed response: enough to size the items read or written.
RESPONSE_KEYS = (
    "Item",
    "Items",
    "Count",
    "ScannedCount",
    "Attributes",
    "Responses",
    "LastEvaluatedKey",
    "UnprocessedKeys",
    "UnprocessedItems",
    "CancellationReasons",
)
_CONTEXT_KEY = "crm_telemetry_calls"


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    consumed: list[dict[str, Any]] = field(default_factory=list)
    # What DynamoDB returned (see RESPONSE_KEYS); None until the response arrives.
    response: dict[str, Any] | None = None
    # The error code (e.g. ConditionalCheckFailedException) when the call failed.
    error: str | None = None

    @property
    def capacity_units(self) -> float:
        return sum(float(c.get("CapacityUnits", 0)) for c in self.consumed)


@dataclass(eq=False)  # recorders are told apart by identity: nested ones may hold equal calls
class Recorder:
    calls: list[Call] = field(default_factory=list)

    @property
    def operations(self) -> list[str]:
        return [c.operation for c in self.calls]

    @property
    def capacity_units(self) -> float:
        return sum(c.capacity_units for c in self.calls)


@contextlib.contextmanager
def record() -> Iterator[Recorder]:
    rec = Recorder()
    _recorders.append(rec)
    try:
        yield rec
    finally:
        _recorders.remove(rec)


def _before(params: dict[str, Any], model: Any, context: Any = None, **_: Any) -> None:
    if not _recorders:
        return
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    calls = []
    for rec in _recorders:
        call = Call(model.name, dict(params))
        rec.calls.append(call)
        calls.append(call)
    if isinstance(context, dict):
        context[_CONTEXT_KEY] = calls


def _matching_calls(model: Any, context: Any) -> list[Call]:
    if isinstance(context, dict) and _CONTEXT_KEY in context:
        paired: list[Call] = context.pop(_CONTEXT_KEY)  # what _before put there
        return paired
    # No context to pair with (a client that does not pass one): the latest unanswered call.
    found = []
    for rec in _recorders:
        for call in reversed(rec.calls):
            if call.operation == model.name and call.response is None and not call.consumed:
                found.append(call)
                break
    return found


def _after(http_response: Any, parsed: dict[str, Any], model: Any, context: Any = None, **_: Any) -> None:
    if not _recorders:
        return
    consumed = parsed.get("ConsumedCapacity")
    items = [] if consumed is None else consumed if isinstance(consumed, list) else [consumed]
    response = {key: parsed[key] for key in RESPONSE_KEYS if key in parsed}
    error = parsed.get("Error", {}).get("Code") if getattr(http_response, "status_code", 200) >= 300 else None
    for call in _matching_calls(model, context):
        if items and not call.consumed:
            call.consumed = items
        call.response = response
        call.error = error


def attach(client: Any) -> None:
    """Hook a botocore DynamoDB client (idempotent)."""
    if id(client) in _attached:
        return
    _attached.add(id(client))
    client.meta.events.register("before-parameter-build.dynamodb", _before)
    client.meta.events.register("after-call.dynamodb", _after)
