"""The local API server answers like API Gateway does in the cloud: in the error envelope,
also for what never reaches a view (a method HTTP servers do not know, an unknown path)."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import local_api_server

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_api(dynamodb_endpoint):
    with local_api_server(dynamodb_endpoint) as port:
        yield port


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


# --- many connections at once (issue 14, item 10) ------------------------------------

BURST = 96  # more than a browser's six, and more than the 64 the local stack promises


def _at_once(count: int, ask) -> tuple[list, list[str]]:
    """`ask(i)` in `count` threads released together; (answers, errors)."""
    barrier = threading.Barrier(count)
    answers: list = [None] * count
    errors: list[str] = []

    def one(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = ask(i)
        except OSError as exc:  # ConnectionResetError, BrokenPipeError, a refused connect
            errors.append(f"{i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, errors


def _raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One request on its own socket, read to the end: a full HTTP response or an OSError."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
    length = int(next(v for k, v in fields.items() if k.lower() == b"content-length"))
    assert len(body) == length, f"a cut response: {len(body)} of {length} bytes"
    return status, json.loads(body)


def _listen_backlog(port: int) -> int:
    """The listening socket's accept queue size (`ss` shows it as Send-Q)."""
    ss = shutil.which("ss") or "/usr/sbin/ss"  # iproute2, on every Linux the suite runs on
    out = subprocess.run([ss, "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return max(int(line.split()[2]) for line in out.splitlines() if line.strip())


def test_a_burst_of_simultaneous_connections_all_get_a_full_answer_without_a_reset(local_api):
    assert _listen_backlog(local_api) >= 128  # socketserver's default is 5: a burst beyond it is dropped
    answers, errors = _at_once(BURST, lambda i: _raw_get(local_api, "/me"))
    print(f"{BURST} simultaneous connections: {len(errors)} failed")
    assert errors == []
    assert all(status == 401 and body["error"]["code"] for status, body in answers), answers


def test_simultaneous_signed_in_requests_each_get_their_own_answer(local_api, school, other_school):
    people = [(s.admin, s) for s in (school, other_school)]
    people += [(s.staff("consultant"), s) for s in (school, other_school) for _ in range(3)]
    # each person's own lead, named in Chinese, to be read back by the right person only
    leads = [
        who.post("/leads", {"name": f"学员{i}", "campus_id": s.campus["id"],
                            "guardians": [{"name": "家长", "phones": [f"1370000{i:04d}"]}]})
        for i, (who, s) in enumerate(people)
    ]  # fmt: skip
    people = [who for who, _ in people]
    assert all(r.status_code == 201 for r in leads), [r.body for r in leads]

    def ask(i: int):
        who = people[i % len(people)]
        lead = leads[i % len(people)].json_body
        path = "/me" if i % 2 else f"/leads/{lead['id']}"
        return _raw_get(local_api, path, {"Authorization": f"Bearer {who.token}"})

    answers, errors = _at_once(64, ask)
    assert errors == []
    wrong = []
    for i, (status, body) in enumerate(answers):
        who, lead = people[i % len(people)], leads[i % len(people)].json_body
        if status != 200:
            wrong.append((i, status, body))
        elif i % 2 and (body["user"]["id"], body["tenant"]["slug"]) != (who.user["id"], who.tenant):
            wrong.append((i, "someone else's /me", body["user"]["id"]))
        elif not i % 2 and (body["id"], body["name"]) != (lead["id"], lead["name"]):
            wrong.append((i, "someone else's lead", body["id"]))
    print(f"64 simultaneous signed-in requests: {len(wrong)} wrong answers")
    assert wrong == []
