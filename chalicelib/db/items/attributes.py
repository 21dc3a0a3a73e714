"""Typed constructors for the attributes whose pynamodb stubs cannot say what they hold.

- `ListAttribute(of=UnicodeAttribute)` reads as a list of strings, but the stub types `of=`
  as the element type itself, so mypy would make it a list of UnicodeAttribute
  (PynamoDB#1246).
- `MapAttribute(...)` (a raw map: a JSON-like document) has an unannotated `__init__`.

Each returns the very attribute it always was; only its static type is spelt out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, UnicodeAttribute


def unicode_list(*, default: Callable[[], list[str]] | None = None) -> ListAttribute[str]:
    """A list of strings (`ListAttribute(of=UnicodeAttribute)`)."""
    return ListAttribute(of=UnicodeAttribute, default=default)  # type: ignore[arg-type]  # PynamoDB#1246, above


def raw_map() -> MapAttribute[str, Any]:
    """A raw map, empty by default (`MapAttribute(default=dict)`). Its values are Any: the
    stub's one value type serves both an item's values and the class's update paths
    (`Item.map[key].set(...)`)."""
    return MapAttribute(default=dict)  # type: ignore[no-untyped-call]  # unannotated in pynamodb, above
