"""(a) Cold import of app.py, and of the stream function's and the jobs' lean entry points
(chalicelib/entry), in fresh interpreters, as ratios to a bare Chalice + boto3 app."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from typing import Any

from bench import stats
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section
from bench.stack import app_environment

APP = "app"
BASELINE = "bench.baseline_app"
STREAM = "chalicelib.entry.stream"  # HandleStream's Handler: loads all a batch needs at import
JOBS = "chalicelib.entry.jobs"  # each job function's Handler: its job loads its domain on its first run
# A job's cold start is the entry point plus what its first run imports: the heaviest job's
# domain module (scheduled_messages: domain.messaging) is timed with it, so the figure is not flattered.
JOB_FIRST_RUN = f"{JOBS},chalicelib.jobs.due,chalicelib.domain.messaging"
TARGET_RATIO = 1.3  # issue 17: import app <= 1.3x the baseline
LEAN_TARGET_RATIO = 0.8  # issue 17: the stream and job entry points <= 0.8x
MEASURED = (
    (APP, "import app (app.py)", TARGET_RATIO),
    (STREAM, f"stream entry point ({STREAM})", LEAN_TARGET_RATIO),
    (JOBS, f"job entry point ({JOBS})", LEAN_TARGET_RATIO),
    (JOB_FIRST_RUN, "job entry point + the heaviest job's first-run imports (domain.messaging)", LEAN_TARGET_RATIO),
)

# Runs in the child: refuses (and counts) any network use, then times the import alone.
_RUNNER = """
import socket, sys, time
_attempts = []
def _refuse(*args, **kwargs):
    _attempts.append(repr(args[1:3] if len(args) > 1 else args)[:200])
    raise OSError("bench: no network access while importing")
socket.socket.connect = socket.socket.connect_ex = _refuse
socket.getaddrinfo = socket.create_connection = _refuse
_start = time.perf_counter()
for _name in sys.argv[1].split(","):
    __import__(_name)
_seconds = time.perf_counter() - _start
import json
print(json.dumps({"seconds": _seconds, "modules": len(sys.modules), "network": _attempts}))
"""

_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def _prod_stage_env(ctx: Context) -> dict[str, str]:
    """The CRM_ variables `.chalice/config.json` gives the prod stage (CRM_STAGE, CRM_CORS_ORIGIN,
    ...): on stage prod the app refuses to import without a console origin."""
    import json

    config = json.loads((ctx.root / ".chalice" / "config.json").read_text())
    stage = config.get("stages", {}).get("prod", {}).get("environment_variables", {})
    return {k: str(v) for k, v in stage.items() if k.startswith("CRM_")}


def _env(ctx: Context) -> dict[str, str]:
    env = {k: v for k, v in ctx.original_env.items() if not k.startswith(("CRM_", "POWERTOOLS_"))}
    env.update(app_environment())
    env.update(_prod_stage_env(ctx))
    env["CRM_STAGE"] = "prod"
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _time_import(ctx: Context, module: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, module],
        cwd=ctx.root,
        env=_env(ctx),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{done.stderr[-2000:]}")
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def _importtime(ctx: Context, module: str) -> dict[str, dict[str, Any]]:
    """-X importtime of one fresh import: {module: {self_us, cumulative_us, depth, parent}}."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ctx.root,
        env=_env(ctx),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"-X importtime {module} failed:\n{done.stderr[-2000:]}")
    found: dict[str, dict[str, Any]] = {}
    pending: list[str] = []  # finished imports still waiting for the import that caused them
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = match.groups()
        depth = len(indent) // 2
        # Lines come in completion order: the deeper ones just before are this import's children.
        while pending and found[pending[-1]]["depth"] > depth:
            found[pending.pop()]["parent"] = name
        found[name] = {"self_us": int(self_us), "cumulative_us": int(cumulative_us), "depth": depth, "parent": None}
        pending.append(name)
    return found


def _median_importtime(ctx: Context, module: str, runs: int) -> dict[str, dict[str, Any]]:
    per_module: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(runs):
        for name, entry in _importtime(ctx, module).items():
            per_module[name].append(entry)
    return {
        name: {
            "self_us": stats.median([e["self_us"] for e in entries]),
            "cumulative_us": stats.median([e["cumulative_us"] for e in entries]),
            "depth": entries[0]["depth"],
            "parent": entries[0]["parent"],
        }
        for name, entries in per_module.items()
    }


def _top_package(name: str) -> str:
    return name.split(".", 1)[0]


def _package_costs(times: dict[str, dict[str, Any]], skip: set[str]) -> list[dict[str, Any]]:
    """Per top-level package: the summed cumulative time of its outermost imports, and who imported it."""
    costs: dict[str, dict[str, Any]] = {}
    for name, entry in times.items():
        package = _top_package(name)
        if package in skip:
            continue
        parent = entry["parent"]
        while parent is not None and _top_package(parent) != package:
            parent = times[parent]["parent"]
        if parent is not None:
            continue  # nested inside another import of the same package: already counted there
        cost = costs.setdefault(package, {"package": package, "cumulative_us": 0, "imports": 0, "first_by": None})
        cost["cumulative_us"] += entry["cumulative_us"]
        cost["imports"] += 1
        if cost["first_by"] is None:
            cost["first_by"] = entry["parent"] or "(top level)"
    return sorted(costs.values(), key=lambda c: c["cumulative_us"], reverse=True)


@section("cold_import", "(a) Cold import of app.py vs a bare Chalice + boto3 app", order=10)
def cold_import(ctx: Context) -> Result:
    runs = ctx.options.import_runs
    modules = [BASELINE] + [m for m, _, _ in MEASURED]
    # One unmeasured import of each first: compiles .pyc files, warms the page cache.
    for module in modules:
        _time_import(ctx, module)
    samples: dict[str, list[dict[str, Any]]] = {m: [] for m in modules}
    for i in range(runs):
        shift = i % len(modules)
        order = modules[shift:] + modules[:shift]  # interleaved, each taking each place in turn
        for module in order:
            samples[module].append(_time_import(ctx, module))

    def med(module: str) -> float:
        return stats.median([s["seconds"] for s in samples[module]])

    base_s = med(BASELINE)
    network = sorted({a for m in modules for s in samples[m] for a in s["network"]})
    rows = [
        {
            "figure": "baseline: chalice + boto3 + 1 DynamoDB client",
            "median_ms": base_s * 1e3,
            "min_ms": min(s["seconds"] for s in samples[BASELINE]) * 1e3,
            "modules": samples[BASELINE][-1]["modules"],
            "ratio": 1.0,
        },
    ]
    for module, label, _ in MEASURED:
        rows.append(
            {
                "figure": label,
                "median_ms": med(module) * 1e3,
                "min_ms": min(s["seconds"] for s in samples[module]) * 1e3,
                "modules": samples[module][-1]["modules"],
                "ratio": stats.ratio(med(module), base_s),
            }
        )
    result = Result(
        tables=[
            Table(
                f"import time, median of {runs} fresh interpreters each, interleaved",
                [
                    Column("figure", "figure"),
                    Column("median_ms", "median ms", "{:.1f}"),
                    Column("min_ms", "min ms", "{:.1f}"),
                    Column("modules", "sys.modules"),
                    Column("ratio", "ratio", "{:.2f}"),
                ],
                rows,
            )
        ],
        checks=[
            Check(f"cold import {module} / baseline", row["ratio"], limit, "x")
            for (module, _, limit), row in zip(MEASURED, rows[1:], strict=True)
        ],
        details={"runs": runs, "samples": samples, "network_attempts": network},
    )
    result.notes.append(
        "network attempts during import: "
        + ("none" if not network else f"{len(network)} (refused): " + "; ".join(network[:5]))
    )

    app_times = _median_importtime(ctx, APP, ctx.options.importtime_runs)
    base_times = _median_importtime(ctx, BASELINE, ctx.options.importtime_runs)
    top = sorted(
        ((name, e) for name, e in app_times.items() if name != APP),
        key=lambda item: item[1]["cumulative_us"],
        reverse=True,
    )[:10]
    columns = [
        Column("module", "module"),
        Column("cumulative_ms", "cumulative ms", "{:.1f}"),
        Column("self_ms", "self ms", "{:.2f}"),
        Column("depth", "depth"),
        Column("imported_by", "imported by"),
        Column("in_baseline", "baseline imports it too"),
    ]

    def row(name: str, entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "module": name,
            "cumulative_ms": entry["cumulative_us"] / 1e3,
            "self_ms": entry["self_us"] / 1e3,
            "depth": entry["depth"],
            "imported_by": entry["parent"] or "(top level)",
            "in_baseline": "yes" if name in base_times else "no",
        }

    result.tables.append(
        Table(
            f"top 10 modules by cumulative import time under `import app` (-X importtime, median of "
            f"{ctx.options.importtime_runs}; nested, so figures overlap)",
            columns,
            [row(n, e) for n, e in top],
        )
    )
    baseline_packages = {_top_package(n) for n in base_times}
    packages = _package_costs(app_times, skip=baseline_packages | {APP, "chalicelib", "bench", "infra"})
    result.tables.append(
        Table(
            "top 10 packages app imports that the baseline does not: what to make lazy",
            [
                Column("package", "package"),
                Column("cumulative_ms", "cumulative ms", "{:.1f}"),
                Column("imports", "outermost imports"),
                Column("first_by", "first imported by"),
            ],
            [{**c, "cumulative_ms": c["cumulative_us"] / 1e3} for c in packages[:10]],
        )
    )
    result.details["importtime_app"] = app_times
    result.details["importtime_baseline_modules"] = sorted(base_times)
    result.notes.append(
        "-X importtime attributes a module to whichever import reached it first; 'depth' is its nesting level."
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        result.notes.append(
            "PYTHONDONTWRITEBYTECODE is set: modules with no cached .pyc (here the project's own code; pip"
            " compiled site-packages) compile from source on every import, as on Lambda if the zip ships no .pyc."
        )
    return result
