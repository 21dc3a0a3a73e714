"""The local stand-in for S3's presigned URLs: `make run` serves `.local/files` here.

A PUT or GET is accepted only with the HMAC signature and expiry the app's
`LocalStorage` put in the URL (and, for a PUT, the same Content-Type), as S3 checks its
own presigned URLs; anything else is a 403. As in S3, a PUT must carry the
`If-None-Match: *` the URL was signed with, and writes its key once: a second PUT is a
412, so nothing replaces an uploaded file. A PUT outside `uploads/` (a published
attachment, an import) is refused whatever it is signed with. Browsers may call it from
any origin.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

from chalicelib.db.keys import UPLOADS_PREFIX
from chalicelib.storage import UPLOAD_HEADERS, LocalStorage

MAX_BYTES = 25 * 1024 * 1024


def handler_for(storage: LocalStorage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, PUT")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, If-None-Match")

        def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self._cors()
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _signed(self, method: str, content_type: str = "") -> tuple[str, dict[str, str]] | None:
            url = urlsplit(self.path)
            key = unquote(url.path.lstrip("/"))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            ok = storage.verify(method, key, query.get("expires", ""), query.get("signature", ""), content_type)
            return (key, query) if ok else None

        def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
            self._answer(204)

        def do_PUT(self) -> None:  # noqa: N802
            signed = self._signed("PUT", self.headers.get("Content-Type", ""))
            length = int(self.headers.get("Content-Length") or 0)
            once = all(self.headers.get(name) == value for name, value in UPLOAD_HEADERS.items())
            if signed is None or not once or not signed[0].startswith(UPLOADS_PREFIX):
                self._answer(403, b"signature does not match, or expired")
            elif length > MAX_BYTES:
                self._answer(413, b"too large")
            elif not storage.put_new(signed[0], self.rfile.read(length)):
                self._answer(412, b"already uploaded: ask for a new upload URL")
            else:
                self._answer(200)

        def do_GET(self) -> None:  # noqa: N802
            signed = self._signed("GET")
            data = storage.get(signed[0]) if signed else None
            if signed is None:
                self._answer(403, b"signature does not match, or expired")
            elif data is None:
                self._answer(404, b"no such file")
            else:
                name = quote(signed[1].get("filename", "file"))
                disposition = f"attachment; filename*=UTF-8''{name}"
                headers = {"Content-Type": "application/octet-stream", "Content-Disposition": disposition}
                self._answer(200, data, headers)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet, the pump's log is enough
            pass

    return Handler


def serve(storage: LocalStorage, port: int) -> ThreadingHTTPServer:
    """Starts the server in a daemon thread; `.shutdown()` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(storage))
    threading.Thread(target=server.serve_forever, name="files", daemon=True).start()
    return server
