"""(a) Cold import of app.py, and of the stream function's and the jobs' lean entry points
(chalicelib/entry), in fresh interpreters, as ratios to a bare Chalice + boto3 app: from the
working tree, and as deployed (the lean zip `make package` ships, unpacked, alone on sys.path,
with the baseline imported from the same unpacked zip), all in the same interleaved rounds."""

from __future__ import annotations

import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path
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
if len(sys.argv) > 2:  # as deployed: the unpacked zip alone, first on the path, as /var/task on Lambda
    sys.path.insert(0, sys.argv[2])
    assert not [p for p in sys.path if "site-packages" in p], sys.path
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


def _time_import(ctx: Context, module: str, task_root: Path | None = None) -> dict[str, Any]:
    """One fresh interpreter importing `module`: from the working tree, or with `task_root` (an
    unpacked deployment zip) alone on sys.path (-I -S: no site-packages, no PYTHON* variables; -B:
    nothing written, /var/task is read-only)."""
    if task_root is None:
        command = [sys.executable, "-c", _RUNNER, module]
    else:
        command = [sys.executable, "-I", "-S", "-B", "-c", _RUNNER, module, str(task_root)]
    done = subprocess.run(
        command,
        cwd=task_root or ctx.root,
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


# --- as deployed: the lean zip `make package` ships ------------------------------------------

PACKAGE_ZIP = Path("build") / "package" / "deployment.zip"  # what `make package` leaves
# What the zip is made from: a zip older than any of these is stale and built again.
PACKAGE_INPUTS = ("app.py", "chalicelib", "requirements.txt", "infra/package.py", "infra/table.yml", ".chalice")
DEPLOYED_BASELINE = "bench_baseline_app"  # bench/baseline_app.py, copied into the unpacked zip
DEPLOYED = "deployed:"  # prefix of the sample keys of the deployed rows


def _newest_input(root: Path) -> float:
    newest = 0.0
    for name in PACKAGE_INPUTS:
        path = root / name
        files = (
            [f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts] if path.is_dir() else [path]
        )
        newest = max([newest, *(f.stat().st_mtime for f in files if f.exists())])
    return newest


def _is_fresh(root: Path) -> bool:
    """Whether `make package` left a zip newer than everything it is made from."""
    try:
        return (root / PACKAGE_ZIP).stat().st_mtime >= _newest_input(root)
    except FileNotFoundError:
        return False


def _lean_zip(ctx: Context, into: Path) -> tuple[Path, str]:
    """The lean zip, copied into `into`: `make package`'s if it is newer than everything it is made
    from, else one built now by infra/package.py (as `make package` does, into a temp dir)."""
    made = ctx.root / PACKAGE_ZIP
    if _is_fresh(ctx.root):
        copy = into / "deployment.zip"
        shutil.copyfile(made, copy)  # a copy: someone running `make package` meanwhile cannot pull it away
        return copy, f"{PACKAGE_ZIP} (left by `make package`, newer than app.py, chalicelib/ and requirements.txt)"
    out = into / "package"
    env = {k: v for k, v in ctx.original_env.items() if not k.startswith(("CRM_", "POWERTOOLS_"))}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "infra.package", str(out)],
        cwd=ctx.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=ctx.options.package_timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`python -m infra.package` failed:\n{(done.stderr or done.stdout)[-2000:]}")
    why = "missing" if not made.exists() else "older than the code"
    return out / "deployment.zip", (
        f"built in this run by `python -m infra.package` in {time.perf_counter() - started:.0f} s"
        f" ({PACKAGE_ZIP} was {why})"
    )


def _unpack(ctx: Context, zip_path: Path, root: Path) -> None:
    """The zip as Lambda unpacks it to /var/task, plus the baseline app compiled as the zip's own code
    is (source beside an unchecked-hash .pyc): it imports chalice and boto3 from the zip."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root)
    for needed in ("chalice/__init__.pyc", "chalice/app.pyc", "boto3/__init__.pyc", "botocore/client.pyc"):
        if not (root / needed).exists():
            raise RuntimeError(f"the lean zip lacks {needed}: the baseline cannot be imported from it")
    source = root / f"{DEPLOYED_BASELINE}.py"
    shutil.copyfile(ctx.root / "bench" / "baseline_app.py", source)
    py_compile.compile(
        str(source),
        cfile=str(root / "__pycache__" / f"{DEPLOYED_BASELINE}.{sys.implementation.cache_tag}.pyc"),
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )


def _rows(
    samples: dict[str, list[dict[str, Any]]], base_key: str, base_label: str, measured: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The baseline row (ratio 1.0), then each measured (key, label): medians, fastest runs, ratios."""

    def med(key: str) -> float:
        return stats.median([s["seconds"] for s in samples[key]])

    def fastest(key: str) -> float:
        return min(s["seconds"] for s in samples[key])

    rows = []
    for key, label in [(base_key, base_label), *measured]:
        rows.append(
            {
                "figure": label,
                "median_ms": med(key) * 1e3,
                "min_ms": fastest(key) * 1e3,
                "runs": len(samples[key]),
                "modules": samples[key][-1]["modules"],
                "ratio": 1.0 if key == base_key else stats.ratio(med(key), med(base_key)),
                "min_ratio": 1.0 if key == base_key else stats.ratio(fastest(key), fastest(base_key)),
            }
        )
    return rows


_COLUMNS = [
    Column("figure", "figure"),
    Column("median_ms", "median ms", "{:.1f}"),
    Column("min_ms", "min ms", "{:.1f}"),
    Column("runs", "N"),
    Column("modules", "sys.modules"),
    Column("ratio", "ratio", "{:.2f}"),
    Column("min_ratio", "min ratio", "{:.2f}"),
]


@section("cold_import", "(a) Cold import of app.py vs a bare Chalice + boto3 app", order=10)
def cold_import(ctx: Context) -> Result:
    runs = ctx.options.import_runs
    with tempfile.TemporaryDirectory(prefix="bench-cold-import-") as tmp:
        zip_path, provenance = _lean_zip(ctx, Path(tmp))
        zip_mb = zip_path.stat().st_size / 1e6
        task_root = Path(tmp) / "task"
        _unpack(ctx, zip_path, task_root)
        # (sample key, module, the unpacked zip or None for the working tree)
        probes: list[tuple[str, str, Path | None]] = [(m, m, None) for m in [BASELINE] + [m for m, _, _ in MEASURED]]
        probes += [(DEPLOYED + m, m, task_root) for m in [DEPLOYED_BASELINE] + [m for m, _, _ in MEASURED]]
        # One unmeasured import of each first: compiles .pyc files, warms the page cache.
        for _, module, root in probes:
            _time_import(ctx, module, root)
        samples: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in probes}
        for i in range(runs):
            shift = i % len(probes)
            order = probes[shift:] + probes[:shift]  # interleaved, each taking each place in turn
            for key, module, root in order:
                samples[key].append(_time_import(ctx, module, root))

    network = sorted({a for key in samples for s in samples[key] for a in s["network"]})
    rows = _rows(
        samples, BASELINE, "baseline: chalice + boto3 + 1 DynamoDB client", [(m, label) for m, label, _ in MEASURED]
    )
    deployed_rows = _rows(
        samples,
        DEPLOYED + DEPLOYED_BASELINE,
        "as deployed, baseline: chalice + boto3 + 1 DynamoDB client from the same zip",
        [(DEPLOYED + m, f"as deployed: {label}") for m, label, _ in MEASURED],
    )
    result = Result(
        tables=[
            Table(f"working tree: import time, median of {runs} fresh interpreters each, interleaved", _COLUMNS, rows),
            Table(
                f"as deployed (the lean zip unpacked, alone on sys.path, python -I -S -B): median of {runs}, "
                "in the same interleaved rounds",
                _COLUMNS,
                deployed_rows,
            ),
        ],
        checks=[
            Check(f"cold import {module} / baseline", row["ratio"], limit, "x")
            for (module, _, limit), row in zip(MEASURED, rows[1:], strict=True)
        ]
        + [
            Check(f"cold import {module} as deployed / baseline as deployed", row["ratio"], limit, "x")
            for (module, _, limit), row in zip(MEASURED, deployed_rows[1:], strict=True)
        ],
        details={"runs": runs, "samples": samples, "network_attempts": network, "package": provenance},
    )
    result.notes.append(
        f"as deployed: the zip is {provenance}, {zip_mb:.2f} MB; the baseline's chalice, boto3 and botocore are"
        " the zip's own (pruned models, .pyc only), bench/baseline_app.py compiled beside them as our code is."
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
