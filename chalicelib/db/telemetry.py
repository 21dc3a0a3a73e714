"""Records every DynamoDB call made through the shared client.

Tests use it to assert that no request path issues a Scan; `bench/` uses it to report
consumed capacity. Recording is off unless a recorder is active, so production pays one
list check per call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_recorders: list[Recorder] = []
_attached: set[int] = set()


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    consumed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def capacity_units(self) -> float:
        return sum(float(c.get("CapacityUnits", 0)) for c in self.consumed)


@dataclass
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


def _before(params: dict[str, Any], model: Any, **_: Any) -> None:
    if not _recorders:
        return
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    for rec in _recorders:
        rec.calls.append(Call(model.name, dict(params)))


def _after(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    if not _recorders:
        return
    consumed = parsed.get("ConsumedCapacity")
    if consumed is None:
        return
    items = consumed if isinstance(consumed, list) else [consumed]
    for rec in _recorders:
        for call in reversed(rec.calls):
            if call.operation == model.name and not call.consumed:
                call.consumed = items
                break


def attach(client: Any) -> None:
    """Hook a botocore DynamoDB client (idempotent)."""
    if id(client) in _attached:
        return
    _attached.add(id(client))
    client.meta.events.register("before-parameter-build.dynamodb", _before)
    client.meta.events.register("after-call.dynamodb", _after)
