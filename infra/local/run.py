"""`make run`: the whole local stack in one terminal; Ctrl-C stops all of it.

DynamoDB Local (persisted under .local/dynamodb) on 127.0.0.1:8001, the table from
infra/table.yml, a demo school on first start, `chalice local` on 127.0.0.1:8000, the
file server standing in for S3's presigned URLs on 127.0.0.1:8002 (files under
.local/files), and the event pump (the table's stream and the cron schedules) in this
process, and the staff console (web/, built when its sources changed) on 127.0.0.1:8003.
Ports: CRM_LOCAL_API_PORT, CRM_LOCAL_DDB_PORT, CRM_LOCAL_FILES_PORT, CRM_LOCAL_WEB_PORT.
Start over with `rm -rf .local`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".local"
TABLE = "campus-crm-local"
STAGE = "local"
REGION = "us-east-1"
DEMO = {"slug": "demo", "name": "演示学校 Demo School", "timezone": "Asia/Shanghai", "phone_region": "CN"}
DEMO_ADMIN = "admin"

log = logging.getLogger("crm.local.run")


class StartupError(Exception):
    """A clear, user-facing reason the stack cannot start."""


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _port(var: str, default: int) -> int:
    raw = os.environ.get(var)
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StartupError(f"{var}={raw!r} is not a port number")
    return int(raw)


def port_busy(port: int) -> bool:
    """True when something listens on 127.0.0.1:port or the port cannot be bound."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return True
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _private_file(path: Path, text: str) -> None:
    """Writes `text` to a file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)


def jwt_secret(path: Path) -> str:
    """The local token-signing secret: generated on first start, then reused."""
    if path.exists():
        os.chmod(path, 0o600)
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
    secret = secrets.token_urlsafe(48)
    _private_file(path, secret + "\n")
    return secret


def local_env(ddb_port: int, secret: str, files_port: int = 8002, data: Path = DATA) -> dict[str, str]:
    return {
        "CRM_DYNAMODB_ENDPOINT": f"http://127.0.0.1:{ddb_port}",
        "CRM_FILES_DIR": str(data / "files"),
        "CRM_FILES_URL": f"http://127.0.0.1:{files_port}",
        "CRM_TABLE": TABLE,
        "CRM_JWT_SECRET": secret,
        "CRM_STAGE": STAGE,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "PYTHONUNBUFFERED": "1",
    }


def chalice_stage_env(stage: str = STAGE) -> dict[str, str]:
    """The environment `chalice local --stage` gives the app, for the pump's side of it."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return env


def _configure_logging(log_file: Path) -> None:
    formatter = logging.Formatter("%(asctime)s %(name)-16s %(message)s", "%H:%M:%S")
    root = logging.getLogger("crm.local")
    root.setLevel(logging.INFO)
    root.propagate = False
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(log_file, encoding="utf-8")):
        handler.setFormatter(formatter)
        root.addHandler(handler)


def _tee(stream: IO[bytes], log_file: Path, prefix: str) -> None:
    """Copies a child's output to this terminal (prefixed) and to its log file."""
    with open(log_file, "ab") as out:
        for line in iter(stream.readline, b""):
            out.write(line)
            out.flush()
            sys.stdout.write(prefix + line.decode("utf-8", "replace"))
            sys.stdout.flush()


def start_api(port: int, log_file: Path) -> subprocess.Popen:
    """`chalice local` in its own process group, without its reloader (see `code_snapshot`)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.api_server", "local", "--host", "127.0.0.1", "--port", str(port)]
        + ["--stage", STAGE, "--no-autoreload"],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    threading.Thread(target=_tee, args=(proc.stdout, log_file, "api | "), name="api-log", daemon=True).start()
    return proc


def code_snapshot(root: Path = ROOT) -> dict[Path, float]:
    """Modification times of the code the API runs.

    chalice's own reloader watches the whole project, .local/ included, so every log line
    and every DynamoDB write would restart it; this watches only the app's code.
    """
    paths = [root / "app.py", root / ".chalice" / "config.json", *sorted((root / "chalicelib").rglob("*.py"))]
    snapshot = {}
    for path in paths:
        with contextlib.suppress(OSError):
            snapshot[path] = path.stat().st_mtime
    return snapshot


def wait_for_port(port: int, proc: subprocess.Popen, stop: threading.Event, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        if proc.poll() is not None:
            raise StartupError(f"chalice local exited with code {proc.returncode}; see .local/api.log")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        stop.wait(0.2)
    if not stop.is_set():
        raise StartupError(f"chalice local did not open port {port} within {timeout:.0f} s")


def stop_process_group(proc: subprocess.Popen, name: str, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop in %.0f s; killing it", name, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    # The reloader's worker shares the group; make sure none of it outlives us.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def ensure_demo(data: Path, api_url: str) -> list[str]:
    """Creates the demo school on first start; returns the lines to print about it."""
    from chalicelib.db import tenants
    from chalicelib.domain.tenants import create_tenant

    text_file, json_file = data / "demo-credentials.txt", data / "demo-credentials.json"
    if tenants.get(DEMO["slug"]) is not None:
        if text_file.exists():
            return [f"demo sign-in      tenant {DEMO['slug']}, user {DEMO_ADMIN}; password in {_rel(text_file)}"]
        return [
            f"demo sign-in      tenant {DEMO['slug']}, user {DEMO_ADMIN}; {_rel(text_file)} is gone, so set a new",
            f"                  password: .venv/bin/python -m chalicelib.cli user set-password --tenant {DEMO['slug']}"
            f" --username {DEMO_ADMIN}",
        ]
    password = secrets.token_urlsafe(12)
    create_tenant(admin_username=DEMO_ADMIN, admin_password=password, **DEMO)
    credentials = {"api": api_url, "tenant": DEMO["slug"], "username": DEMO_ADMIN, "password": password}
    _private_file(text_file, "".join(f"{key}: {value}\n" for key, value in credentials.items()))
    _private_file(json_file, json.dumps(credentials, indent=2) + "\n")
    return [
        f"demo school       created: tenant {DEMO['slug']!r} ({DEMO['name']})",
        f"  sign in with    tenant={DEMO['slug']}  username={DEMO_ADMIN}  password={password}",
        f"  (saved to {_rel(text_file)} and {_rel(json_file)}, readable only by you)",
    ]


def console_line(data: Path, web_url: str) -> str:
    """The console's URL with the demo sign-in (from .local/demo-credentials.json when it is there)."""
    try:
        saved = json.loads((data / "demo-credentials.json").read_text(encoding="utf-8"))
        password = saved["password"]
    except (OSError, ValueError, KeyError):
        password = f"in {_rel(data / 'demo-credentials.txt')}"
    return f"Console: {web_url}/ (school {DEMO['slug']}, user {DEMO_ADMIN}, password {password})"


class Stack:
    """Everything `make run` starts, so that everything can be stopped."""

    def __init__(self, data: Path = DATA) -> None:
        self.data = data
        self.stop = threading.Event()
        self.dynamodb: subprocess.Popen | None = None
        self.api: subprocess.Popen | None = None
        self.pump: Any = None
        self.files: Any = None
        self.web: Any = None
        self.api_port = 8000

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt

    def start(self) -> None:
        api_port = self.api_port = _port("CRM_LOCAL_API_PORT", 8000)
        ddb_port = _port("CRM_LOCAL_DDB_PORT", 8001)
        files_port = _port("CRM_LOCAL_FILES_PORT", 8002)
        web_port = _port("CRM_LOCAL_WEB_PORT", 8003)
        if len({api_port, ddb_port, files_port, web_port}) < 4:
            raise StartupError("the API, DynamoDB Local, the file server and the console need four different ports")
        for what, var, port in (
            ("the API", "CRM_LOCAL_API_PORT", api_port),
            ("DynamoDB Local", "CRM_LOCAL_DDB_PORT", ddb_port),
            ("the file server", "CRM_LOCAL_FILES_PORT", files_port),
            ("the console", "CRM_LOCAL_WEB_PORT", web_port),
        ):
            if port_busy(port):
                raise StartupError(
                    f"port {port} (for {what}) is already in use on 127.0.0.1 -- is another `make run` going?"
                    f" Stop it, or choose another port with {var}=..."
                )
        self.data.mkdir(mode=0o700, exist_ok=True)
        os.environ.update(local_env(ddb_port, jwt_secret(self.data / "jwt-secret"), files_port, self.data))
        for key, value in chalice_stage_env().items():
            os.environ.setdefault(key, value)
        _configure_logging(self.data / "pump.log")

        import boto3

        from infra.local import dynamodb
        from infra.local.table import ensure_table

        api_url = f"http://127.0.0.1:{api_port}"
        endpoint = os.environ["CRM_DYNAMODB_ENDPOINT"]
        log.info("starting DynamoDB Local on %s (data in %s)", endpoint, _rel(self.data / "dynamodb"))
        try:
            self.dynamodb = dynamodb.start(
                ddb_port, data_dir=self.data / "dynamodb", log_path=self.data / "dynamodb.log"
            )
        except (RuntimeError, TimeoutError) as exc:
            raise StartupError(f"DynamoDB Local did not start ({exc}); see .local/dynamodb.log") from exc
        self._check_stop()
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
        ensure_table(client, TABLE)
        self._check_stop()

        from chalicelib.db.base import reset_connection
        from chalicelib.settings import reset_settings

        reset_settings()
        reset_connection()
        from chalicelib.storage import store
        from infra.local import files

        self.files = files.serve(store(), files_port)
        demo_lines = ensure_demo(self.data, api_url)
        self._check_stop()

        log.info("starting chalice local on %s", api_url)
        self.api = start_api(api_port, self.data / "api.log")
        wait_for_port(api_port, self.api, self.stop)
        self._check_stop()

        from infra.local import web

        log.info("building the console (web/) if its sources changed")
        try:
            built = web.ensure_built()
        except web.WebBuildError as exc:
            raise StartupError(f"the console did not build: {exc}") from exc
        log.info("console %s", "built into web/dist" if built else "is up to date (web/dist)")
        self.web = web.serve(web_port, api_url)
        web_url = f"http://127.0.0.1:{web_port}"
        self._check_stop()

        import app as app_module
        from infra.local.pump import EventPump, Scheduler, StreamPump

        stream = StreamPump(
            table_name=TABLE,
            endpoint=endpoint,
            checkpoint_path=self.data / "stream-checkpoint.json",
            handler=app_module.handle_stream,
            region=REGION,
        )
        scheduler = Scheduler(app_module, region=REGION)
        self.pump = EventPump(stream, scheduler, stop=self.stop)
        self.pump.start()
        names = ", ".join(f"{fn.name} {fn.expression}" for fn in scheduler.functions)
        banner = [
            "",
            "Campus CRM local stack is up",
            console_line(self.data, web_url),
            f"  console           {web_url}/   (web/dist; /config.json points at the API)",
            f"  API               {api_url}   (chalice local, stage {STAGE}; log {_rel(self.data / 'api.log')})",
            f"  DynamoDB Local    {endpoint}   table {TABLE}; data {_rel(self.data / 'dynamodb')}/,"
            f" log {_rel(self.data / 'dynamodb.log')}",
            f"  file server       {os.environ['CRM_FILES_URL']}   (presigned uploads and downloads;"
            f" files in {_rel(self.data / 'files')}/)",
            f"  event pump        table stream -> handle_stream; schedules: {names}",
            f"                    log {_rel(self.data / 'pump.log')}, checkpoint"
            f" {_rel(self.data / 'stream-checkpoint.json')}",
            *[f"  {line}" for line in demo_lines],
            "  Ctrl-C stops everything; `rm -rf .local` starts over.",
            "",
        ]
        print("\n".join(banner), flush=True)

    def watch(self) -> int:
        """Waits for Ctrl-C / SIGTERM; restarts the API when its code changes; stops if DynamoDB Local dies."""
        code = code_snapshot()
        api_down = False
        while not self.stop.wait(1.0):
            if self.dynamodb is not None and self.dynamodb.poll() is not None:
                log.error("DynamoDB Local exited with code %s; stopping the stack", self.dynamodb.returncode)
                return 1
            latest = code_snapshot()
            if latest != code:
                changed = sorted({p for p in latest.keys() | code.keys() if latest.get(p) != code.get(p)})
                code = latest
                log.info("%s changed; restarting the API", ", ".join(_rel(p) for p in changed[:3]))
                api_down = not self.restart_api()
            elif self.api is not None and self.api.poll() is not None and not api_down:
                log.error(
                    "chalice local exited with code %s (see above); it starts again when you save a change",
                    self.api.returncode,
                )
                api_down = True
        return 0

    def restart_api(self) -> bool:
        if self.api is not None:
            stop_process_group(self.api, "chalice local")
        self.api = start_api(self.api_port, self.data / "api.log")
        try:
            wait_for_port(self.api_port, self.api, self.stop)
        except StartupError as exc:
            log.error("%s; it starts again when you save a change", exc)
            return False
        return True

    def shutdown(self) -> None:
        self.stop.set()
        if self.pump is not None:
            self.pump.join(timeout=15)
        if self.api is not None:
            stop_process_group(self.api, "chalice local")
        if self.files is not None:
            self.files.shutdown()
        if self.web is not None:
            self.web.shutdown()
        if self.dynamodb is not None:
            from infra.local import dynamodb

            dynamodb.stop(self.dynamodb)
        log.info("stopped; data kept in %s", _rel(self.data))


def main() -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    stack = Stack()

    def on_signal(signum: int, _frame: Any) -> None:
        if not stack.stop.is_set():
            print(f"\n{signal.Signals(signum).name}: stopping the local stack...", flush=True)
        stack.stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        stack.start()
        code = stack.watch()
    except KeyboardInterrupt:
        code = 0
    except StartupError as exc:
        print(f"make run: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        stack.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
