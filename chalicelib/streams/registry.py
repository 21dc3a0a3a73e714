"""What the stream processor and the derived-data modules share: the records, their effects,
and the registries that `@effects(kind)` and `@after` fill. Below processor.py, which loads
streams/access.py and streams/aggregates.py (they register here), so none imports back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Effect:
    """Add `add` to the counters of item (pk, sk); `ttl` (epoch seconds) sets its expiry."""

    pk: str
    sk: str
    add: tuple[tuple[str, int], ...]
    ttl: int | None = None


@dataclass
class StreamRecord:
    sequence: str
    event_id: str
    event_name: str
    kind: str | None
    tenant: str | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    effects: list[Effect] = field(default_factory=list)
    error: str | None = None


EffectFn = Callable[[StreamRecord], list[Effect]]
AfterFn = Callable[[list[StreamRecord]], None]
_effects: dict[str, list[EffectFn]] = {}
_after: list[AfterFn] = []


def effects(kind: str) -> Callable[[EffectFn], EffectFn]:
    """Register `fn(record) -> [Effect]` for items whose `type` is `kind`; it must be pure."""

    def register(fn: EffectFn) -> EffectFn:
        _effects.setdefault(kind, []).append(fn)
        return fn

    return register


def after(fn: AfterFn) -> AfterFn:
    _after.append(fn)
    return fn
