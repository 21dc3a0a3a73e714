"""The staff console for `make run` and the browser tests: built when its sources changed,
served from web/dist with a runtime /config.json and the SPA fallback.

`ensure_built()` hashes what the build reads (web/src, index.html, the lock, the Vite and
TypeScript configs) and compares it with the stamp the last build left in web/dist; only
a difference runs `npm run build`, after `npm ci` when node_modules is missing or was
installed from another lock. Builds take a file lock, so parallel test workers and a
`make run` build once. `serve()` answers GET /config.json with the API's base URL (one
build serves every stage), files under web/dist as they are, and index.html for any
other path without a file extension (the router's pages), like CloudFront's fallback.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import mimetypes
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
STAMP_NAME = ".build-stamp"
LOCK_STAMP_NAME = ".crm-lock-hash"
BUILD_INPUTS = ("src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")


class WebBuildError(Exception):
    """The console could not be built: the message says why and what to run."""


def _hash_files(paths: list[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(base)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def source_hash(web: Path = WEB) -> str:
    """A hash of everything the build reads."""
    files: list[Path] = []
    for name in BUILD_INPUTS:
        path = web / name
        if path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file()]
        elif path.is_file():
            files.append(path)
    return _hash_files(files, web)


def lock_hash(web: Path = WEB) -> str:
    return hashlib.sha256((web / "package-lock.json").read_bytes()).hexdigest()


def is_current(web: Path = WEB) -> bool:
    stamp = web / "dist" / STAMP_NAME
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == source_hash(web)


@contextlib.contextmanager
def _build_lock(web: Path) -> Iterator[None]:
    lock_dir = web.parent / "build"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / ".web-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(cmd: list[str], web: Path, quiet: bool) -> None:
    result = subprocess.run(cmd, cwd=web, capture_output=quiet, text=True)
    if result.returncode != 0:
        tail = ((result.stdout or "") + (result.stderr or ""))[-3000:] if quiet else ""
        raise WebBuildError(f"`{' '.join(cmd)}` in {web} failed (exit {result.returncode})\n{tail}")


def ensure_node_modules(web: Path = WEB, quiet: bool = False) -> bool:
    """`npm ci` when node_modules is missing or was installed from another lock; True if it ran."""
    with _build_lock(web):  # npm ci empties node_modules: never under a running build
        return _ensure_node_modules(web, quiet)


def _ensure_node_modules(web: Path, quiet: bool) -> bool:
    if shutil.which("npm") is None:
        raise WebBuildError("npm is needed to build the console: apt-get install -y nodejs npm")
    marker = web / "node_modules" / LOCK_STAMP_NAME
    wanted = lock_hash(web)
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == wanted:
        return False
    _run(["npm", "ci", "--no-audit", "--no-fund"], web, quiet)
    marker.write_text(wanted + "\n", encoding="utf-8")
    return True


def ensure_built(web: Path = WEB, quiet: bool = False) -> bool:
    """Builds web/dist unless it was built from these very sources; True if it built."""
    if is_current(web):
        return False
    with _build_lock(web):
        if is_current(web):  # another process built it while we waited
            return False
        wanted = source_hash(web)
        _ensure_node_modules(web, quiet)
        _run(["npm", "run", "build"], web, quiet)
        (web / "dist" / STAMP_NAME).write_text(wanted + "\n", encoding="utf-8")
    return True


def handler_for(dist: Path, api_url: str) -> type[BaseHTTPRequestHandler]:
    config = json.dumps({"apiBaseUrl": api_url}).encode()
    root = dist.resolve()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes, content_type: str, cache: str, head: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _file(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            if path == "/config.json":
                self._answer(200, config, "application/json", "no-store", head)
                return
            target = (root / path.lstrip("/")).resolve()
            inside = target == root or root in target.parents
            if inside and target.is_file() and target.name != STAMP_NAME:
                kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
                    kind += "; charset=utf-8"
                cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
                self._answer(200, target.read_bytes(), kind, cache, head)
            elif inside and "." not in path.rsplit("/", 1)[-1]:
                index = (root / "index.html").read_bytes()  # the SPA fallback: the router shows the page
                self._answer(200, index, "text/html; charset=utf-8", "no-cache", head)
            else:
                self._answer(404, b"not found", "text/plain; charset=utf-8", "no-cache", head)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._file(head=False)

        def do_HEAD(self) -> None:  # noqa: N802
            self._file(head=True)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
            pass

    return Handler


def serve(port: int, api_url: str, dist: Path = DIST, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serves the built console in a daemon thread; `.shutdown()` stops it."""
    if not (dist / "index.html").is_file():
        raise WebBuildError(f"{dist}/index.html is missing: build the console first (cd web && npm run build)")
    server = ThreadingHTTPServer((host, port), handler_for(dist, api_url))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server
