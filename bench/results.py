"""bench/results.json (the figures of the last full `make bench`) and the table in
docs/benchmarks.md made from it.

A figure is one number a section printed, with what it is divided by (its baseline, as
printed), the ratio the section computed and, where the section measures one, its spread
(p95, or the fastest run). `figures(section, result)` takes them from the section's
printed rows; `render(results)` makes the Markdown that sits between the two markers of
docs/benchmarks.md, and `write_doc` puts it there (`python -m bench --write-doc`).
tests/unit/test_bench_doc.py checks that the committed doc holds exactly that.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.context import ROOT

RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- figures: made by `python -m bench --write-doc` from bench/results.json; do not edit -->"
END = "<!-- end of figures -->"


def figure(
    name: str,
    value: float | None,
    unit: str,
    baseline: str | None = None,
    baseline_value: float | None = None,
    ratio: float | None = None,
    spread: tuple[str, float | None, float | None] | None = None,
) -> dict[str, Any]:
    """`spread` is (what, value, its ratio), e.g. ("p95", 12.8, 3.99)."""
    return {
        "figure": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_value": baseline_value,
        "ratio": ratio,
        "spread": None if spread is None else {"of": spread[0], "value": spread[1], "ratio": spread[2]},
    }


# --- one extractor per section: its printed rows -> figures --------------------------------


def _of(row: dict[str, Any] | None, key: str) -> Any:
    return None if row is None else row.get(key)


def _rows(result, index: int) -> list[dict[str, Any]]:
    return result.tables[index].rows if len(result.tables) > index else []


def _cold_import(result) -> list[dict[str, Any]]:
    """Each table of ratios (the working tree's, then the deployed zip's), each row against its own
    table's baseline (the row of ratio 1.0); the -X importtime tables have no ratio and are skipped."""
    out = []
    for table in result.tables:
        rows = table.rows
        base = next((r for r in rows if r.get("ratio") == 1.0), None)
        if base is None:
            continue
        for r in rows:
            if r is base:
                continue
            out.append(
                figure(
                    f"{r['figure']}: median import",
                    r.get("median_ms"),
                    "ms",
                    _of(base, "figure"),
                    _of(base, "median_ms"),
                    r.get("ratio"),
                    ("min", r.get("min_ms"), r.get("min_ratio")),
                )
            )
    return out


def _warm_latency(result) -> list[dict[str, Any]]:
    rows = _rows(result, 0)
    bases = {"GetItem": rows[0] if rows else None}
    bases["scrypt"] = next((r for r in rows if r["figure"].startswith("hashlib.scrypt")), None)
    out = []
    for r in rows[1:]:
        base = bases.get(r["vs"])
        out.append(
            figure(
                f"{r['figure']}: p50",
                r.get("p50_ms"),
                "ms",
                _of(base, "figure"),
                _of(base, "p50_ms"),
                r.get("p50_ratio"),
                ("p95", r.get("p95_ms"), r.get("p95_ratio")),
            )
        )
    return out


def _capacity(result) -> list[dict[str, Any]]:
    return [
        figure(
            f"{r['route']}: request units", r.get("total"), "RU", "DynamoDB Local's ConsumedCapacity", r.get("local_cu")
        )
        for r in _rows(result, 0)
    ]


def _route_units(result) -> list[dict[str, Any]]:
    """Its rows are figures already: a value against a goal, or a ratio to a baseline of the run."""
    keys = ("value", "unit", "baseline", "baseline_value", "ratio")
    return [figure(r["figure"], *(r.get(k) for k in keys)) for r in _rows(result, 0)]


def _first_request(result) -> list[dict[str, Any]]:
    rows = _rows(result, 0)
    if len(rows) < 2:
        return []
    base = rows[0]
    return [
        figure(
            f"{r['figure']}: median cold start",
            r.get("median_ms"),
            "ms",
            base["figure"],
            base.get("median_ms"),
            r.get("ratio"),
            ("min", r.get("min_ms"), None),
        )
        for r in rows[1:]
    ]


def _package(result) -> list[dict[str, Any]]:
    """The lean zip against the 10 MB goal, and against chalice's unpruned zip of the same run."""
    rows = _rows(result, 0)
    if len(rows) < 2:
        return []
    raw, lean = rows
    return [
        figure(
            f"{lean['figure']}: deployment.zip", lean.get("zipped_mb"), "MB", "the 10 MB goal", 10.0, lean.get("ratio")
        ),
        figure(
            f"{lean['figure']}: deployment.zip vs unpruned",
            lean.get("zipped_mb"),
            "MB",
            raw["figure"],
            raw.get("zipped_mb"),
            lean.get("vs_unpruned"),
        ),
    ]


def _leads(result) -> list[dict[str, Any]]:
    rows = _rows(result, 1)
    out = []
    for r in rows:
        if r["op"].startswith("bare"):
            continue
        base = next((b for b in rows if b["size"] == r["size"] and b["op"].startswith(f"bare Query {r['vs']}")), None)
        out.append(
            figure(
                f"{r['op']} at {r['size']} leads: p50",
                r.get("p50"),
                "ms",
                _of(base, "op"),
                _of(base, "p50"),
                r.get("r50"),
                ("p95", r.get("p95"), r.get("r95")),
            )
        )
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    if len(sizes) >= 2:
        for r in _rows(result, 2):
            out.append(
                figure(
                    f"{r['op']} at {sizes[-1]} leads: request units",
                    r.get("rules_large"),
                    "RU",
                    f"the same at {sizes[0]} leads",
                    r.get("rules_small"),
                    r.get("rules_ratio"),
                )
            )
    return out


def _dashboard(result) -> list[dict[str, Any]]:
    rows = _rows(result, 0)
    out = [
        figure(
            f"GET /dashboard/today at {r['size']}: p50",
            r.get("p50"),
            "ms",
            "a bare Query of the due leads (GSI2)",
            None,
            r.get("ratio"),
            ("p95", r.get("p95"), None),
        )
        for r in rows
    ]
    if len(rows) >= 2:
        check = next((c for c in result.checks if c.name.startswith("dashboard capacity")), None)
        out.append(
            figure(
                f"GET /dashboard/today at {rows[-1]['size']}: request units",
                rows[-1].get("rules"),
                "RU",
                f"the same at {rows[0]['size']}",
                rows[0].get("rules"),
                check and check.value,
            )
        )
    return out


def _cards(result) -> list[dict[str, Any]]:
    rows = _rows(result, 0)
    base = next((r for r in rows if r["what"].startswith("bare")), None)
    out = [
        figure(f"{r['what']}: p50", r.get("p50"), "ms", _of(base, "what"), _of(base, "p50"), r.get("ratio"))
        for r in rows
        if r is not base
    ]
    check = next((c for c in result.checks if c.name.startswith("deduction write units")), None)
    if rows and rows[0] is not base:
        out.append(
            figure(
                f"{rows[0]['what']}: write units",
                rows[0].get("wru"),
                "WRU",
                "the theoretical minimum",
                rows[0].get("min"),
                check and check.value,
            )
        )
    return out


def _jobs(result) -> list[dict[str, Any]]:
    out = []
    if result.tables:
        headers = {c.key: c.header for c in result.tables[0].columns}
        large = headers.get("large", "large").removeprefix("RRU ")
        small = headers.get("small", "small").removeprefix("RRU ")
        out += [
            figure(
                f"{r['job']} {large} leads: read units", r.get("large"), "RRU", small, r.get("small"), r.get("ratio")
            )
            for r in _rows(result, 0)
        ]
    rows = _rows(result, 1)
    if len(rows) >= 2:
        out.append(
            figure(
                f"{rows[0]['what']}: rate",
                rows[0].get("rate"),
                "messages/s",
                rows[1]["what"],
                rows[1].get("rate"),
                rows[0].get("ratio"),
            )
        )
    out += [
        figure(
            f"{r['job']}: write units of the next run with nothing new",
            r.get("again"),
            "WRU",
            "the first run, which made the due work",
            r.get("first"),
            r.get("ratio"),
        )
        for r in _rows(result, 2)
    ]
    return out


def _rate_against(unit: str) -> Callable[[Any], list[dict[str, Any]]]:
    """The measured row and its baseline (streams, imports), and any rows between them (the
    import's floor and its claims alone), each a rate against the same baseline."""

    def extract(result) -> list[dict[str, Any]]:
        rows = _rows(result, 0)
        if len(rows) < 2:
            return []
        mine, *between, base = rows  # the measured row first, the baseline last; rows between: parts of it
        return [
            figure(f"{mine['what']}: rate", mine.get("rate"), unit, base["what"], base.get("rate"), mine.get("ratio")),
            *(
                figure(f"{p['what']}: rate", p.get("rate"), unit, base["what"], base.get("rate"), p.get("ratio"))
                for p in between
            ),
            figure(
                f"{mine['what']}: write units per {unit.split('/')[0][:-1]}",
                mine.get("wru"),
                "WRU",
                base["what"] if base.get("wru") is not None else None,
                base.get("wru"),
            ),
        ]

    return extract


EXTRACTORS: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
    "cold_import": _cold_import,
    "warm_latency": _warm_latency,
    "capacity": _capacity,
    "route_units": _route_units,
    "first_request": _first_request,
    "package": _package,
    "leads": _leads,
    "dashboard": _dashboard,
    "cards": _cards,
    "jobs": _jobs,
    "streams": _rate_against("records/s"),
    "imports": _rate_against("rows/s"),
}


def figures(name: str, result) -> list[dict[str, Any]]:
    """A section's figures; a section with no extractor here has none in the doc."""
    extract = EXTRACTORS.get(name)
    return extract(result) if extract else []


def section(name: str, title: str, result) -> dict[str, Any]:
    """What bench/results.json keeps of one section that ran."""
    try:
        found = figures(name, result)
    except Exception as exc:  # noqa: BLE001 - a figure that cannot be read must not lose the run
        return {"title": title, "error": f"figures: {type(exc).__name__}: {exc}", "figures": []}
    return {"title": title, "error": result.error, "figures": found}


# --- the file ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version()}


def write(path: Path, results: dict[str, Any]) -> None:
    from bench.report import _clean

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(results), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path = RESULTS) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the table -----------------------------------------------------------------------------


def _num(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 10:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _value(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{_num(value)} {unit}"


def _cell(text: str | None) -> str:
    return "–" if not text else text.replace("|", "\\|")


def render(results: dict[str, Any]) -> str:
    """The Markdown between the markers: the run's header line, the figures, the targets."""
    m, r = results["machine"], results["rounds"]
    cpu = f" ({m['cpu_model']})" if m.get("cpu_model") else ""
    lines = [
        f"Run of {results['date']} on {m['cpus']} CPU(s){cpu}, Python {m['python']}; "
        f"{r['iterations']} timed calls per route after {r['warmup']} warm-up calls, "
        f"{r['import_runs']} fresh interpreters per import, {r['staff']} staff seeded.",
        "",
        "| section | figure | value | baseline | ratio | spread |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for name, section in results["sections"].items():
        if section.get("skipped") or section.get("error"):
            why = section.get("skipped") or section.get("error")
            lines.append(f"| {name} | {_cell(section['title'])}: not run ({_cell(why)}) | – | – | – | – |")
        for f in section.get("figures", []):
            base = _cell(f["baseline"])
            if f["baseline_value"] is not None:
                base += f" ({_value(f['baseline_value'], f['unit'])})"
            spread = "–"
            if f["spread"] and f["spread"]["value"] is not None:
                s = f["spread"]
                spread = f"{s['of']} {_value(s['value'], f['unit'])}"
                if s["ratio"] is not None:
                    spread += f" ({_ratio(s['ratio'])})"
            lines.append(
                f"| {name} | {_cell(f['figure'])} | {_value(f['value'], f['unit'])} | {base} | {_ratio(f['ratio'])} "
                f"| {spread} |"
            )
    if results.get("targets"):
        lines += ["", "| target | value | limit | status |", "| --- | ---: | ---: | --- |"]
        for t in results["targets"]:
            status = {True: "PASS", False: "FAIL", None: "n/a"}[t["ok"]]
            unit = t["unit"] or ""
            lines.append(f"| {_cell(t['name'])} | {_num(t['value'])}{unit} | ≤ {_num(t['limit'])}{unit} | {status} |")
    return "\n".join(lines)


def replace_table(doc: str, table: str) -> str:
    head, sep, rest = doc.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"docs/benchmarks.md lacks the markers {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def write_doc(results_path: Path = RESULTS, doc_path: Path = DOC) -> None:
    doc = doc_path.read_text(encoding="utf-8")
    doc_path.write_text(replace_table(doc, render(load(results_path))), encoding="utf-8")
