"""The registry of benchmark sections, and the shapes they return.

A section is a function `fn(ctx: Context) -> Result`, registered with `@section(...)` in
a module under `bench/sections/` (every module there is imported). To add a figure, e.g.
"create lead at 10,000 leads":

    from bench.registry import Column, Result, Table, section

    @section("leads", "Create lead at 10,000 leads", order=50)
    def create_lead_at_scale(ctx):
        stack = ctx.stack()        # DynamoDB Local + the app + a seeded school, started once
        ...                        # seed, time against a baseline, cost with bench.capacity
        return Result(tables=[Table("...", [Column("figure", "figure"), ...], rows)])

A section that raises is reported as failed; the others still run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.context import Context


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: str = "{}"  # a str.format spec for the value; None prints as "-"

    def render(self, value: Any) -> str:
        if value is None:
            return "-"
        try:
            return self.fmt.format(value)
        except (ValueError, TypeError):
            return str(value)


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]


@dataclass
class Check:
    """A figure against a target (`value <= limit` passes). Reported, never asserted."""

    name: str
    value: float | None
    limit: float
    unit: str = ""

    @property
    def ok(self) -> bool | None:
        return None if self.value is None else self.value <= self.limit


@dataclass
class Result:
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # JSON only
    error: str | None = None  # a part that failed without failing the section


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    fn: Callable[[Context], Result]
    order: int = 100
    skip_env: str | None = None  # e.g. BENCH_SKIP_PACKAGE=1 skips the section

    @property
    def skipped_by_env(self) -> bool:
        return bool(self.skip_env) and os.environ.get(self.skip_env, "") not in ("", "0", "false", "no")


SECTIONS: dict[str, Section] = {}


def section(
    name: str, title: str, *, order: int = 100, skip_env: str | None = None
) -> Callable[[Callable[[Context], Result]], Callable[[Context], Result]]:
    def register(fn: Callable[[Context], Result]) -> Callable[[Context], Result]:
        if name in SECTIONS:
            raise ValueError(f"bench section {name!r} is registered twice")
        SECTIONS[name] = Section(name, title, fn, order, skip_env)
        return fn

    return register


def load_sections() -> list[Section]:
    """Imports every module of bench.sections; returns the sections in order."""
    import importlib
    import pkgutil

    from bench import sections

    for info in pkgutil.iter_modules(sections.__path__):
        importlib.import_module(f"{sections.__name__}.{info.name}")
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.name))
