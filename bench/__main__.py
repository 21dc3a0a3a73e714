"""`python -m bench [--only NAME ...] [--skip NAME ...] [--json PATH] [--results PATH] [--list] [--write-doc]`.

A full run (no --only, no --skip) writes its figures to bench/results.json and regenerates
the figures table of docs/benchmarks.md from it; `--write-doc` alone only regenerates the table.

Environment: BENCH_ITERATIONS (200), BENCH_WARMUP (20), BENCH_IMPORT_RUNS (7),
BENCH_IMPORTTIME_RUNS (3), BENCH_STAFF (10), BENCH_PACKAGE_TIMEOUT (900 s),
BENCH_SKIP_PACKAGE=1 (skip `chalice package`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from bench import report, results
from bench.context import ROOT, Context, Options
from bench.registry import Result, load_sections


def main(argv: list[str] | None = None) -> int:
    sections = load_sections()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these sections")
    parser.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="skip these sections")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json", help="where to write the JSON")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="where to write the figures (default: bench/results.json, on a full run only)",
    )
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument(
        "--write-doc",
        action="store_true",
        help="regenerate docs/benchmarks.md's table from bench/results.json and exit",
    )
    args = parser.parse_args(argv)
    if args.write_doc:
        results.write_doc(args.results or results.RESULTS)
        print(f"Wrote the figures table of {results.DOC.relative_to(ROOT)}", file=sys.stdout)
        return 0
    if args.list:
        for s in sections:
            print(f"{s.name:16} {s.title}" + (f"  (skip with {s.skip_env}=1)" if s.skip_env else ""))
        return 0
    unknown = (set(args.only or []) | set(args.skip)) - {s.name for s in sections}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}; see --list")

    options = Options()
    ctx = Context(options)
    out = sys.stdout
    started = time.perf_counter()
    document = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "options": vars(options),
        "sections": {},
    }
    print(
        f"Campus CRM bench — {document['generated_at']} — {os.cpu_count()} CPU(s), Python {platform.python_version()}",
        file=out,
    )
    print("Every speed figure is a ratio to a baseline measured in this same run.", file=out)
    figures: dict[str, dict] = {}
    checks = []
    failed = errors = 0
    try:
        for s in sections:
            if (args.only and s.name not in args.only) or s.name in args.skip:
                continue
            if s.skipped_by_env:
                print(f"\n== {s.title}  [{s.name}]: skipped ({s.skip_env} is set)", file=out)
                document["sections"][s.name] = report.section_json(s, None, 0.0, f"{s.skip_env} is set")
                figures[s.name] = {"title": s.title, "skipped": f"{s.skip_env} is set"}
                continue
            t0 = time.perf_counter()
            try:
                result = s.fn(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
                failed += 1
                result = Result(error=f"{type(exc).__name__}: {exc}")
                result.details["traceback"] = traceback.format_exc()
            seconds = time.perf_counter() - t0
            errors += bool(result.error)
            report.print_section(s, result, seconds, out)
            out.flush()
            document["sections"][s.name] = report.section_json(s, result, seconds, None)
            figures[s.name] = results.section(s.name, s.title, result)
            checks += result.checks
    finally:
        ctx.close()
    if checks:
        print("\n== Targets", file=out)
        for check in checks:
            print(report.render_check(check), file=out)
    document["checks"] = [
        {"name": c.name, "value": c.value, "limit": c.limit, "unit": c.unit, "ok": c.ok} for c in checks
    ]
    document["seconds"] = time.perf_counter() - started
    report.write_json(args.json, document)
    shown = args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json
    full = not args.only and not args.skip
    if args.results or full:
        path = args.results or results.RESULTS
        results.write(
            path,
            {
                "date": document["generated_at"],
                "machine": results.machine(),
                "rounds": document["options"],
                "sections": figures,
                "targets": document["checks"],
            },
        )
        print(f"\nWrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=out)
        if path == results.RESULTS:
            results.write_doc(path)
            print(f"Wrote the figures table of {results.DOC.relative_to(ROOT)}", file=out)
    print(
        f"\nWrote {shown} in {document['seconds']:.0f} s; {failed} section(s) failed, {errors} reported an error.",
        file=out,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
