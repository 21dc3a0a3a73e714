"""`chalice local`, as `make run` starts it, answering like API Gateway with our envelope.

Python's HTTP server answers a method it has no handler for (TRACE, CONNECT, ...) with its
own HTML 501, and chalice's local gateway answers an unknown path with API Gateway's
`{"message": "Missing Authentication Token"}`. In the cloud the merge template's Gateway
responses put those in the error envelope; here this wrapper does: unknown methods reach
the app (which answers 405 in the envelope) and the local gateway's own errors are
enveloped. Run as `python -m infra.local.api_server local --port 8000 ...` (chalice's CLI).

Many connections at once (issue 14): chalice's server already runs a thread per
connection, but listens with socketserver's backlog of 5, so a burst (a browser opens six
connections, a test or a script many more) overflowed the accept queue: dropped, retried a
second later, reset on macOS. This one listens with a backlog of `BACKLOG`. Requests then
really run side by side, where a Lambda runs one at a time, so what the app keeps per
process is made safe here: the one DynamoDB connection is made before the first request
(not raced for by the first 64), log keys (tenant, user, correlation id) are kept per
thread, and the metrics set is touched under a lock. chalice keeps `current_request`
per thread already (`LocalChalice`) and makes a `LocalGateway` per connection.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import unquote

from chalice import local
from chalice.cli import main

from chalicelib import error_catalogue

GATEWAY_CODES = {401: "UNAUTHORIZED", 403: "ROUTE_NOT_FOUND", 404: "ROUTE_NOT_FOUND", 500: "INTERNAL"}


def _enveloped(error: local.LocalGatewayException, lang: str = "en") -> local.LocalGatewayException:
    try:
        message = json.loads(error.body or b"{}").get("message") or "Refused by the gateway."
    except ValueError:
        message = "Refused by the gateway."
    code = GATEWAY_CODES.get(error.CODE, "GATEWAY_ERROR")
    message = error_catalogue.localized(code, message, lang, {}, error.CODE)
    body = {"error": {"code": code, "message": message, "details": []}}
    error.body = json.dumps(body, ensure_ascii=False).encode()
    language = error_catalogue.CONTENT_LANGUAGE[lang]
    error.headers = {**(error.headers or {}), "Content-Type": "application/json", "Content-Language": language}
    return error


class EnvelopeRequestHandler(local.ChaliceRequestHandler):
    def _handle(self) -> None:
        path = self.path.split("?", 1)[0]
        if len(path) > 1 and path.endswith("/"):  # `/templates/` is no route (chalice would serve `/templates`)
            self._parse_payload()  # read the body, or it would be taken for the next request on this connection
            lang = self._language()
            message = error_catalogue.localized("ROUTE_NOT_FOUND", "No such route.", lang, {}, 404)
            body = {"error": {"code": "ROUTE_NOT_FOUND", "message": message, "details": []}}
            headers = {"Content-Type": "application/json", "Content-Language": error_catalogue.CONTENT_LANGUAGE[lang]}
            self._send_http_response(404, headers, json.dumps(body, ensure_ascii=False))
            return
        self._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle

    def __getattr__(self, name: str):
        """Any method the server has no `do_<METHOD>` for (TRACE, CONNECT, QUERY, ...) goes to
        the app like the others, and the app answers 405 in the envelope."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _language(self) -> str:
        return error_catalogue.language(self.headers.get("Accept-Language"))

    def _send_error_response(self, error: local.LocalGatewayException) -> None:
        super()._send_error_response(_enveloped(error, self._language()))


BACKLOG = 256  # connections waiting to be accepted (socketserver's default: 5)


class BurstServer(ThreadingHTTPServer):
    """A thread per connection (daemon threads: Ctrl-C does not wait for a browser's idle
    keep-alive connections) and a listen backlog that takes a burst."""

    request_queue_size = BACKLOG
    daemon_threads = True
    allow_reuse_address = True


def _locked(lock: threading.RLock, method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        with lock:
            return method(*args, **kwargs)

    return call


def make_process_state_thread_safe() -> None:
    """What the app keeps per process, made safe for requests in parallel threads."""
    from chalicelib.db.base import connection
    from chalicelib.observability import logger, metrics

    connection().client  # noqa: B018 - made once, now, not by the first requests racing each other
    logger.append_keys = logger.thread_safe_append_keys  # each request's keys in its own context
    logger.remove_keys = logger.thread_safe_remove_keys
    lock = threading.RLock()  # flush_metrics iterates the set another request may be adding to
    for name in ("add_metric", "add_dimension", "add_metadata", "flush_metrics", "clear_metrics"):
        setattr(metrics, name, _locked(lock, getattr(metrics, name)))


class EnvelopeDevServer(local.LocalDevServer):
    def __init__(self, app_object, config, host, port, handler_cls=EnvelopeRequestHandler, **kwargs):
        kwargs.setdefault("server_cls", BurstServer)
        super().__init__(app_object, config, host, port, handler_cls=handler_cls, **kwargs)
        make_process_state_thread_safe()


class DecodingRouteMatcher(local.RouteMatcher):
    """API Gateway hands a view its path parameters percent-decoded (`/leads/%E7%8E%8B` gives
    `王`); chalice's local matcher hands them over as sent. This one decodes them."""

    def match_route(self, url: str) -> local.MatchResult:
        found = super().match_route(url)
        captured = {name: unquote(value) for name, value in found.captured.items()}
        return local.MatchResult(found.route, captured, found.query_params)


def run() -> int:
    local.LocalDevServer = EnvelopeDevServer  # what chalice.local.create_local_server builds
    local.RouteMatcher = DecodingRouteMatcher  # what its LocalGateway matches routes with
    sys.argv = ["chalice", *sys.argv[1:]]
    return main()


if __name__ == "__main__":
    sys.exit(run())
