"""(d) The zipped size of the `chalice package` deployment against the 25 MB target."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

from bench.context import Context
from bench.registry import Check, Column, Result, Table, section

TARGET_MB = 25.0
MB = 1_000_000  # decimal megabytes: the stricter reading of "25 MB"
MIB = 1024 * 1024


def _top_entries(zip_path: Path, limit: int = 10) -> list[dict[str, object]]:
    """Compressed bytes per top-level entry of the zip (a vendored package, app.py, chalicelib)."""
    compressed: dict[str, int] = defaultdict(int)
    unpacked: dict[str, int] = defaultdict(int)
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            top = info.filename.split("/", 1)[0]
            compressed[top] += info.compress_size
            unpacked[top] += info.file_size
    ranked = sorted(compressed, key=compressed.__getitem__, reverse=True)[:limit]
    return [{"entry": e, "zipped_mb": compressed[e] / MB, "unzipped_mb": unpacked[e] / MB} for e in ranked]


@section(
    "package",
    "(d) Deployment package: zipped size of `chalice package --stage prod`",
    order=40,
    skip_env="BENCH_SKIP_PACKAGE",
)
def package_size(ctx: Context) -> Result:
    chalice = Path(sys.executable).with_name("chalice")
    env = {k: v for k, v in ctx.original_env.items() if not k.startswith(("CRM_", "POWERTOOLS_"))}
    # chalice insists on a region even though packaging contacts no AWS service.
    if not env.get("AWS_DEFAULT_REGION") and not env.get("AWS_REGION"):
        env["AWS_DEFAULT_REGION"] = "us-east-1"
    with tempfile.TemporaryDirectory(prefix="bench-package-") as tmp:
        out = Path(tmp) / "package"
        command = [str(chalice), "package", "--stage", "prod", "--merge-template", "infra/table.yml", str(out)]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                cwd=ctx.root,
                env=env,
                capture_output=True,
                text=True,
                timeout=ctx.options.package_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Result(
                error=f"`chalice package` did not finish in {ctx.options.package_timeout} s",
                checks=[Check("deployment.zip size", None, TARGET_MB, " MB")],
            )
        seconds = time.perf_counter() - started
        zip_path = out / "deployment.zip"
        if done.returncode != 0 or not zip_path.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
            return Result(
                error=f"`chalice package` failed (exit {done.returncode}):\n    " + "\n    ".join(tail),
                checks=[Check("deployment.zip size", None, TARGET_MB, " MB")],
                details={"command": command, "stderr": done.stderr[-8000:], "stdout": done.stdout[-4000:]},
            )
        size = zip_path.stat().st_size
        with zipfile.ZipFile(zip_path) as zf:
            unzipped = sum(i.file_size for i in zf.infolist())
            files = len(zf.infolist())
        top = _top_entries(zip_path)
    size_mb = size / MB
    return Result(
        tables=[
            Table(
                "deployment.zip",
                [
                    Column("figure", "figure"),
                    Column("zipped_mb", "zipped MB", "{:.2f}"),
                    Column("zipped_mib", "zipped MiB", "{:.2f}"),
                    Column("unzipped_mb", "unzipped MB", "{:.2f}"),
                    Column("files", "files"),
                    Column("ratio", "ratio to 25 MB", "{:.2f}"),
                ],
                [
                    {
                        "figure": "chalice package --stage prod",
                        "zipped_mb": size_mb,
                        "zipped_mib": size / MIB,
                        "unzipped_mb": unzipped / MB,
                        "files": files,
                        "ratio": size_mb / TARGET_MB,
                    }
                ],
            ),
            Table(
                "largest top-level entries in the zip",
                [
                    Column("entry", "entry"),
                    Column("zipped_mb", "zipped MB", "{:.2f}"),
                    Column("unzipped_mb", "unzipped MB", "{:.2f}"),
                ],
                top,
            ),
        ],
        checks=[Check("deployment.zip size", size_mb, TARGET_MB, " MB")],
        notes=[f"`chalice package` took {seconds:.0f} s (downloads wheels from PyPI unless cached)."],
        details={"bytes": size, "unzipped_bytes": unzipped, "files": files, "top": top, "command": command},
    )
