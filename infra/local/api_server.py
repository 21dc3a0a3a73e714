"""`chalice local`, as `make run` starts it, answering like API Gateway with our envelope.

Python's HTTP server answers a method it has no handler for (TRACE, CONNECT, ...) with its
own HTML 501, and chalice's local gateway answers an unknown path with API Gateway's
`{"message": "Missing Authentication Token"}`. In the cloud the merge template's Gateway
responses put those in the error envelope; here this wrapper does: unknown methods reach
the app (which answers 405 in the envelope) and the local gateway's own errors are
enveloped. Run as `python -m infra.local.api_server local --port 8000 ...` (chalice's CLI).
"""

from __future__ import annotations

import json
import sys
from urllib.parse import unquote

from chalice import local
from chalice.cli import main

GATEWAY_CODES = {401: "UNAUTHORIZED", 403: "ROUTE_NOT_FOUND", 404: "ROUTE_NOT_FOUND", 500: "INTERNAL"}


def _enveloped(error: local.LocalGatewayException) -> local.LocalGatewayException:
    try:
        message = json.loads(error.body or b"{}").get("message") or "Refused by the gateway."
    except ValueError:
        message = "Refused by the gateway."
    code = GATEWAY_CODES.get(error.CODE, "GATEWAY_ERROR")
    error.body = json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()
    error.headers = {**(error.headers or {}), "Content-Type": "application/json"}
    return error


class EnvelopeRequestHandler(local.ChaliceRequestHandler):
    def _handle(self) -> None:
        path = self.path.split("?", 1)[0]
        if len(path) > 1 and path.endswith("/"):  # `/templates/` is no route (chalice would serve `/templates`)
            self._parse_payload()  # read the body, or it would be taken for the next request on this connection
            body = {"error": {"code": "ROUTE_NOT_FOUND", "message": "No such route.", "details": []}}
            self._send_http_response(404, {"Content-Type": "application/json"}, json.dumps(body))
            return
        self._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle

    def __getattr__(self, name: str):
        """Any method the server has no `do_<METHOD>` for (TRACE, CONNECT, QUERY, ...) goes to
        the app like the others, and the app answers 405 in the envelope."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _send_error_response(self, error: local.LocalGatewayException) -> None:
        super()._send_error_response(_enveloped(error))


class EnvelopeDevServer(local.LocalDevServer):
    def __init__(self, app_object, config, host, port, handler_cls=EnvelopeRequestHandler, **kwargs):
        super().__init__(app_object, config, host, port, handler_cls=handler_cls, **kwargs)


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
