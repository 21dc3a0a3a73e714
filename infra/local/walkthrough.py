"""`make walkthrough`: runs docs/walkthrough.md against a fresh local stack and checks its outputs.

The stack is what `make run` starts, minus the console: DynamoDB Local in memory, the table,
the demo school, the API, the file server and the event pump (stream and schedules), all on
free ports, with its data in a temporary folder, so a `make run` going at the same time is
not touched. Then every ```sh block of the document runs, in order, in one bash session
(variables carry from block to block) whose working folder is a temporary folder holding
`.local` (this stack's data) and `.venv` (the project's). In the blocks,
`http://127.0.0.1:8000` is replaced by this stack's API address; `.venv/bin/python -m
chalicelib.cli` finds this stack's DynamoDB Local through CRM_DYNAMODB_ENDPOINT.

A ```text or ```json block that follows a ```sh block (before the next one) is what that
block prints (stdout and stderr together); a ```sh block followed by none must print
nothing. How outputs are compared (placeholders): see `matches` and `json_matches`, and
the top of docs/walkthrough.md. Other fenced blocks are not run.

    python -m infra.local.walkthrough [--doc docs/walkthrough.md] [--show] [--keep-going]

--show prints every block's output (to write the expected blocks); --keep-going runs every
block even after a difference. Exit status 1 on any difference.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "walkthrough.md"
DOC_API = "http://127.0.0.1:8000"
BLOCK_TIMEOUT = 420.0
MARK = "__WALKTHROUGH_BLOCK_DONE__"

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
PLACEHOLDER = re.compile(r"<[a-z][a-z0-9_-]*>")
ELLIPSIS = "…"


@dataclass
class Step:
    line: int  # where the ```sh block starts in the document (1-based)
    script: str
    expected: str | None = None
    kind: str = "text"  # of the expected block: text or json


def parse(doc: str) -> list[Step]:
    """The ```sh blocks in order, each with the ```text/```json block after it, if any."""
    steps: list[Step] = []
    for match in FENCE.finditer(doc):
        info, body = match.group(1).strip(), match.group(2)
        line = doc.count("\n", 0, match.start()) + 1
        if info == "sh":
            steps.append(Step(line, body))
        elif info in ("text", "json") and steps and steps[-1].expected is None:
            steps[-1].expected, steps[-1].kind = body, info
    return steps


def _line_pattern(expected: str) -> re.Pattern[str]:
    """`…` is any text (maybe none); `<name>` is one or more characters that are not
    whitespace; everything else is literal."""
    parts = []
    for piece in re.split(r"(…|<[a-z][a-z0-9_-]*>)", expected):
        if piece == ELLIPSIS:
            parts.append(".*?")
        elif PLACEHOLDER.fullmatch(piece):
            parts.append(r"\S+?")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts), re.S)


def matches(expected: str, actual: str) -> bool:
    """Line by line, trailing spaces and blank lines at the end ignored; a line that is
    only `…` stands for any number of lines (none included)."""
    want = expected.rstrip().splitlines() if expected.strip() else []
    got = actual.rstrip().splitlines() if actual.strip() else []
    want = [line.rstrip() for line in want]
    got = [line.rstrip() for line in got]

    def walk(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i] == ELLIPSIS:
            return any(walk(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and bool(_line_pattern(want[i]).fullmatch(got[j])) and walk(i + 1, j + 1)

    return walk(0, 0)


def json_matches(want: Any, got: Any) -> bool:
    """An object matches when every key shown matches (a key `"…"` lets the answer have
    more keys); a list element by element (a last element `"…"` allows more elements); a
    string as one text line (placeholders above); anything else by equality."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return False
        keys = set(want) - {ELLIPSIS}
        if ELLIPSIS not in want and set(got) != keys:
            return False
        return all(key in got and json_matches(want[key], got[key]) for key in keys)
    if isinstance(want, list):
        if not isinstance(got, list):
            return False
        if want and want[-1] == ELLIPSIS:
            head = want[:-1]
            return len(got) >= len(head) and all(json_matches(w, g) for w, g in zip(head, got, strict=False))
        return len(want) == len(got) and all(json_matches(w, g) for w, g in zip(want, got, strict=True))
    if isinstance(want, str):
        return isinstance(got, str) and bool(_line_pattern(want).fullmatch(got))
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    return want == got


def compare(step: Step, actual: str) -> bool:
    if step.expected is None:
        return not actual.strip()
    if step.kind == "json":
        try:
            return json_matches(json.loads(step.expected), json.loads(actual))
        except ValueError:
            return False
    return matches(step.expected, actual)


class Shell:
    """One bash session; each block is sourced in it, its output captured to a file."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.proc = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def run(self, number: int, script: str, timeout: float = BLOCK_TIMEOUT) -> tuple[str, int]:
        block, out = self.cwd / f".step-{number}.sh", self.cwd / f".step-{number}.out"
        block.write_text(script, encoding="utf-8")
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f". {block.name} > {out.name} 2>&1 < /dev/null; echo {MARK} $?\n")
        self.proc.stdin.flush()
        result: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith(MARK):
                    result.append(line.split()[1])
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        text = out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
        if not result:
            return text + f"\n[walkthrough: the block did not finish within {timeout:.0f} s]", -1
        return text, int(result[0])

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=5)


class FreshStack:
    """`make run`'s stack without the console, in memory, on free ports, data in `data`."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.stop = threading.Event()
        self.dynamodb: subprocess.Popen | None = None
        self.api: subprocess.Popen | None = None
        self.files: Any = None
        self.pump: Any = None
        self.api_url = ""

    def start(self) -> None:
        from infra.local import dynamodb
        from infra.local.run import REGION, TABLE, chalice_stage_env, ensure_demo, jwt_secret, local_env

        api_port, ddb_port, files_port = (dynamodb.free_port() for _ in range(3))
        self.data.mkdir(mode=0o700, exist_ok=True)
        os.environ.update(local_env(ddb_port, jwt_secret(self.data / "jwt-secret"), files_port, self.data))
        for key, value in chalice_stage_env().items():
            os.environ.setdefault(key, value)
        handler = logging.FileHandler(self.data / "pump.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)-16s %(message)s", "%H:%M:%S"))
        root = logging.getLogger("crm.local")
        root.setLevel(logging.INFO)
        root.propagate = False
        root.addHandler(handler)

        import boto3

        from infra.local.table import ensure_table

        endpoint = os.environ["CRM_DYNAMODB_ENDPOINT"]
        self.dynamodb = dynamodb.start(ddb_port, log_path=self.data / "dynamodb.log")
        ensure_table(boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION), TABLE)

        from chalicelib.db.base import reset_connection
        from chalicelib.settings import reset_settings

        reset_settings()
        reset_connection()
        from chalicelib.storage import store
        from infra.local import files
        from infra.local.run import start_api, wait_for_port

        self.files = files.serve(store(), files_port)
        self.api_url = f"http://127.0.0.1:{api_port}"
        ensure_demo(self.data, self.api_url)
        self.api = start_api(api_port, self.data / "api.log")
        wait_for_port(api_port, self.api, self.stop)

        import app as app_module
        from infra.local.pump import EventPump, Scheduler, StreamPump

        stream = StreamPump(
            table_name=TABLE,
            endpoint=endpoint,
            checkpoint_path=self.data / "stream-checkpoint.json",
            handler=app_module.handle_stream,
            region=REGION,
        )
        self.pump = EventPump(stream, Scheduler(app_module, region=REGION), stop=self.stop)
        self.pump.start()

    def shutdown(self) -> None:
        from infra.local import dynamodb
        from infra.local.run import stop_process_group

        self.stop.set()
        if self.pump is not None:
            self.pump.join(timeout=15)
        if self.api is not None:
            stop_process_group(self.api, "chalice local")
        if self.files is not None:
            self.files.shutdown()
        if self.dynamodb is not None:
            dynamodb.stop(self.dynamodb)


def run(doc_path: Path, show: bool, keep_going: bool) -> int:
    steps = parse(doc_path.read_text(encoding="utf-8"))
    if not steps:
        print(f"walkthrough: no ```sh blocks in {doc_path}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="crm-walkthrough-"))
    (work / ".venv").symlink_to(ROOT / ".venv")
    stack = FreshStack(work / ".local")
    # `chalice local`'s output is teed to sys.stdout (and .local/api.log): keep it off the report
    out, sys.stdout = sys.stdout, open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    failures = 0
    shell: Shell | None = None
    try:
        stack.start()
        print(f"walkthrough: fresh stack up (API {stack.api_url}); {len(steps)} blocks of {doc_path.name}", file=out)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
        shell = Shell(work, env)
        for number, step in enumerate(steps, 1):
            actual, status = shell.run(number, step.script.replace(DOC_API, stack.api_url))
            ok = compare(step, actual)
            where = f"{doc_path.name}:{step.line}"
            if show:
                print(f"--- block {number} ({where}) exit {status} {'ok' if ok else 'DIFFERS'}", file=out)
                print(actual, end="" if actual.endswith("\n") or not actual else "\n", file=out)
            elif ok:
                print(f"ok   block {number:>2} ({where})", file=out, flush=True)
            if not ok:
                failures += 1
                if not show:
                    print(f"FAIL block {number:>2} ({where}), exit {status}: the output differs", file=out)
                    want = (step.expected or "").rstrip().splitlines()
                    got = actual.rstrip().splitlines()
                    diff = difflib.unified_diff(want, got, "document", "actual", lineterm="")
                    print("\n".join(diff), file=out, flush=True)
                if not keep_going:
                    break
    finally:
        if shell is not None:
            shell.close()
        stack.shutdown()
        sys.stdout.close()
        sys.stdout = out
    if failures:
        print(f"walkthrough: {failures} block(s) differ; the stack's logs and the blocks' files: {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"walkthrough: all {len(steps)} blocks print what {doc_path.name} shows")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--show", action="store_true", help="print every block's output")
    parser.add_argument("--keep-going", action="store_true", help="run every block even after a difference")
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    return run(args.doc.resolve(), args.show, args.keep_going)


if __name__ == "__main__":
    sys.exit(main())
