"""The local API server answers like API Gateway does in the cloud: in the error envelope,
also for what never reaches a view (a method HTTP servers do not know, an unknown path)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.local import dynamodb

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_api(dynamodb_endpoint):
    port = dynamodb.free_port()
    env = {**os.environ, "CRM_DYNAMODB_ENDPOINT": dynamodb_endpoint}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.api_server", "local", "--port", str(port), "--stage", "local"]
        + ["--no-autoreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            break
        except OSError:
            assert proc.poll() is None, "the local API server exited"
            time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def _ask(port: int, method: str, path: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND"])
def test_a_method_the_server_does_not_know_is_a_405_in_the_envelope_not_a_501(local_api, method):
    status, body = _ask(local_api, method, "/me")
    assert status == 405
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_unknown_path_is_answered_in_the_envelope(local_api):
    status, body = _ask(local_api, "GET", "/no/such/route")
    assert status == 403  # what API Gateway answers for a path it does not have
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "ROUTE_NOT_FOUND"


def test_a_path_with_a_trailing_slash_is_no_route_and_leaves_the_connection_clean(local_api):
    conn = http.client.HTTPConnection("127.0.0.1", local_api, timeout=10)
    conn.request("POST", "/templates/", body=b'{"name": "x"}', headers={"Content-Type": "application/json"})
    first = conn.getresponse()
    assert first.status == 404
    assert json.loads(first.read())["error"]["code"] == "ROUTE_NOT_FOUND"
    conn.request("GET", "/me")  # the same keep-alive connection: the body above was read, not left behind
    second = conn.getresponse()
    assert second.status == 401, second.read()


def test_path_parameters_arrive_percent_decoded_as_api_gateway_sends_them(local_api, school):
    headers = {"Authorization": f"Bearer {school.admin.token}"}

    def ask(path):
        conn = http.client.HTTPConnection("127.0.0.1", local_api, timeout=10)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    # a control character sent as %15 reaches the app as one, and is refused naming the parameter
    status, body = ask("/templates/%E7%8E%8B%15")
    assert status == 400, body
    assert body["error"]["details"][0] == {"field": "template_id", "message": "control character U+0015"}
    # a Chinese id arrives as Chinese (one character, not nine of its encoding)
    status, body = ask("/templates/" + "%E7%8E%8B" * 60)
    assert (status, body["error"]["code"]) == (404, "TEMPLATE_NOT_FOUND")
