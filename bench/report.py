"""The stdout table and build/bench.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TextIO

from bench.registry import Check, Result, Section, Table


def render_table(table: Table) -> str:
    headers = [c.header for c in table.columns]
    cells = [[c.render(row.get(c.key)) for c in table.columns] for row in table.rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        parts = []
        for i, value in enumerate(values):
            numeric = i > 0 and _looks_numeric(value)
            parts.append(value.rjust(widths[i]) if numeric else value.ljust(widths[i]))
        return "  " + "  ".join(parts).rstrip()

    out = [f"  {table.title}", line(headers), "  " + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells] or ["  (no rows)"]
    return "\n".join(out)


def _looks_numeric(text: str) -> bool:
    try:
        float(text.rstrip("x%"))
    except ValueError:
        return text == "-"
    return True


def render_check(check: Check) -> str:
    status = {True: "PASS", False: "FAIL", None: "n/a "}[check.ok]
    value = "-" if check.value is None else f"{check.value:.2f}{check.unit}"
    return f"  [{status}] {check.name}: {value} (target <= {check.limit:g}{check.unit})"


def print_section(section: Section, result: Result, seconds: float, out: TextIO) -> None:
    print(f"\n== {section.title}  [{section.name}, {seconds:.1f} s]", file=out)
    if result.error:
        print(f"  ERROR: {result.error}", file=out)
    for table in result.tables:
        print(render_table(table), file=out)
        print(file=out)
    for note in result.notes:
        print(f"  note: {note}", file=out)
    for check in result.checks:
        print(render_check(check), file=out)


def _clean(value: Any) -> Any:
    """JSON without NaN/inf."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def section_json(section: Section, result: Result | None, seconds: float, skipped: str | None) -> dict[str, Any]:
    if result is None:
        return {"title": section.title, "skipped": skipped}
    return _clean(
        {
            "title": section.title,
            "seconds": seconds,
            "error": result.error,
            "tables": [{"title": t.title, "rows": t.rows} for t in result.tables],
            "notes": result.notes,
            "checks": [
                {"name": c.name, "value": c.value, "limit": c.limit, "unit": c.unit, "ok": c.ok} for c in result.checks
            ],
            "details": result.details,
        }
    )


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(document), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
