"""bench cold_import as deployed (issue 17): the rows that time what Lambda runs import from the
unpacked zip alone, the baseline from the same zip, and a full run tables them beside the
working tree's rows, each against its own baseline."""

from __future__ import annotations

import os
import py_compile
import sys
import zipfile
from pathlib import Path

import pytest

from bench import results
from bench.context import Context, Options
from bench.registry import Result, Table
from bench.sections import cold_import

# A stand-in for the lean zip: what bench/baseline_app.py needs of chalice and boto3, nothing else.
FAKE_ZIP = {
    "chalice/__init__.py": "from chalice.app import Chalice\n",
    "chalice/app.py": (
        "class Chalice:\n"
        "    def __init__(self, app_name):\n        self.app_name = app_name\n"
        "    def route(self, path):\n        return lambda fn: fn\n"
    ),
    "boto3/__init__.py": "def client(service, region_name=None):\n    return (service, region_name)\n",
    "botocore/client.py": "",
}


@pytest.fixture
def unpacked(tmp_path) -> Path:
    root = tmp_path / "task"
    cold_import._unpack(Context(Options()), _zip_with_pyc(tmp_path), root)
    return root


def _zip_with_pyc(tmp_path: Path) -> Path:
    """The fake zip with the members _unpack checks for (chalice/__init__.pyc, ...) as real bytecode."""
    src = tmp_path / "src"
    made = tmp_path / "lean.zip"
    with zipfile.ZipFile(made, "w") as zf:
        for name, text in FAKE_ZIP.items():
            path = src / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            pyc = path.with_suffix(".pyc")
            py_compile.compile(str(path), cfile=str(pyc), doraise=True)
            zf.write(pyc, name + "c")
    return made


def test_the_deployed_baseline_imports_from_the_unpacked_zip_alone(unpacked):
    ctx = Context(Options())
    # THEN the baseline, copied in and compiled as our code is, imports the zip's chalice and boto3
    assert (unpacked / "__pycache__" / f"{cold_import.DEPLOYED_BASELINE}.{sys.implementation.cache_tag}.pyc").exists()
    timed = cold_import._time_import(ctx, cold_import.DEPLOYED_BASELINE, unpacked)
    assert timed["seconds"] > 0 and timed["network"] == []
    # AND nothing of the venv is on the path: a package the venv has and the zip lacks does not import
    with pytest.raises(RuntimeError, match="No module named 'pynamodb'"):
        cold_import._time_import(ctx, "pynamodb", unpacked)
    # (from the working tree it does)
    assert cold_import._time_import(ctx, "pynamodb")["seconds"] > 0


def test_a_zip_without_chalice_or_boto3_is_refused_for_the_baseline(tmp_path):
    made = tmp_path / "empty.zip"
    with zipfile.ZipFile(made, "w") as zf:
        zf.writestr("app.py", "")
    with pytest.raises(RuntimeError, match="lacks chalice/__init__.pyc"):
        cold_import._unpack(Context(Options()), made, tmp_path / "task")


def test_make_packages_zip_is_reused_only_when_newer_than_the_code(tmp_path):
    (tmp_path / "chalicelib").mkdir()
    code = tmp_path / "chalicelib" / "x.py"
    code.write_text("")
    made = tmp_path / cold_import.PACKAGE_ZIP
    assert not cold_import._is_fresh(tmp_path)  # missing
    made.parent.mkdir(parents=True)
    made.write_bytes(b"zip")
    os.utime(code, (1_000, 1_000))
    assert cold_import._is_fresh(tmp_path)
    os.utime(made, (500, 500))
    assert not cold_import._is_fresh(tmp_path)  # older than the code: built again


def _row(figure: str, ms: float, ratio: float, min_ratio: float) -> dict:
    return {
        "figure": figure,
        "median_ms": ms,
        "min_ms": ms - 1,
        "runs": 7,
        "modules": 1,
        "ratio": ratio,
        "min_ratio": min_ratio,
    }


def test_a_full_run_tables_the_deployed_rows_against_the_deployed_baseline():
    # GIVEN the section's two ratio tables and an -X importtime table (no ratio)
    result = Result(
        tables=[
            Table(
                "working tree",
                cold_import._COLUMNS,
                [_row("baseline", 200, 1.0, 1.0), _row("import app", 400, 2.0, 1.9)],
            ),
            Table(
                "as deployed",
                cold_import._COLUMNS,
                [_row("as deployed, baseline", 100, 1.0, 1.0), _row("as deployed: import app", 120, 1.2, 1.1)],
            ),
            Table("top 10 modules", [], [{"module": "x", "cumulative_ms": 3.0}]),
        ]
    )
    found = results.figures("cold_import", result)
    # THEN each measured row is a figure against its own table's baseline, with its fastest run as spread
    assert [(f["figure"], f["baseline"], f["baseline_value"], f["ratio"]) for f in found] == [
        ("import app: median import", "baseline", 200, 2.0),
        ("as deployed: import app: median import", "as deployed, baseline", 100, 1.2),
    ]
    assert found[1]["spread"] == {"of": "min", "value": 119, "ratio": 1.1}
