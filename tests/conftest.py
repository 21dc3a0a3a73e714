"""The suite's one DynamoDB Local (in memory, a free port) and its factories.

Each test makes its own tenant with a unique slug, so tests share the table without
seeing each other's data, exactly as tenants do in production.
"""

from __future__ import annotations

import atexit
import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "CRM_TABLE": "campus-crm-test",
        "CRM_JWT_SECRET": "test-secret-" + secrets.token_hex(16),
        "CRM_FILES_DIR": (FILES := tempfile.mkdtemp(prefix="campus-crm-files-")),
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)


atexit.register(shutil.rmtree, FILES, ignore_errors=True)


@pytest.fixture(scope="session")
def dynamodb_endpoint():
    from infra.local import dynamodb

    port = dynamodb.free_port()
    proc = dynamodb.start(port)
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["CRM_DYNAMODB_ENDPOINT"] = endpoint
    from chalicelib.db.base import reset_connection
    from chalicelib.settings import reset_settings

    reset_settings()
    reset_connection()
    yield endpoint
    dynamodb.stop(proc)


@pytest.fixture(scope="session")
def ddb_client(dynamodb_endpoint):
    import boto3

    return boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name="us-east-1")


@pytest.fixture(scope="session")
def table(ddb_client):
    from infra.local.table import ensure_table

    return ensure_table(ddb_client, os.environ["CRM_TABLE"])


@pytest.fixture(scope="session")
def app(table):
    import app as app_module

    return app_module.app


@pytest.fixture(scope="session")
def client(app):
    from chalice.test import Client

    with Client(app, stage_name="test") as c:
        c._http_client = ListedErrorsOnly(c.http)
        yield c


class ListedErrorsOnly:
    """The test client's HTTP side, checking every error the suite receives: its code must be
    one that the route's OpenAPI operation lists for that status (the enums a generated client
    is typed with are read from the source, chalicelib/api/error_reach.py: this is their check)."""

    def __init__(self, http: Any):
        import re

        from chalicelib.api.openapi import build

        self._http = http
        self._routes: list[tuple[str, Any, int, dict[str, Any]]] = []
        for path, operations in build()["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")
            literal = len(re.sub(r"{\w+}", "", path))  # /leads/pool before /leads/{lead_id}
            for method, op in operations.items():
                self._routes.append((method.upper(), pattern, literal, op))
        self._routes.sort(key=lambda r: -r[2])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        import json

        response = self._http.request(method, path, **kwargs)
        if not 400 <= response.status_code < 500:
            return response
        bare = path.split("?", 1)[0]
        op = next((op for m, pattern, _, op in self._routes if m == method.upper() and pattern.match(bare)), None)
        if op is None:
            return response  # no such route: the gateway's answer, not an operation's
        try:
            code = json.loads(response.body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"{method} {path}: a {response.status_code} without the error envelope") from None
        answer = op["responses"].get(str(response.status_code))
        listed = answer["content"]["application/json"]["schema"]["allOf"][1] if answer else None
        codes = listed["properties"]["error"]["properties"]["code"]["enum"] if listed else []
        assert code in codes, (
            f"{method} {path} answered {response.status_code} {code}, which its OpenAPI operation "
            f"({op['operationId']}) does not list: {codes}"
        )
        return response


_counter = itertools.count()


@dataclass
class Session:
    """A signed-in user, ready to call the API."""

    client: Any
    tenant: str
    user: dict[str, Any]
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        import json

        kwargs: dict[str, Any] = {"headers": {**self.headers, **(headers or {})}}
        if body is not None:
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
        return self.client.http.request(method, path, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def login(client, tenant: str, username: str, password: str):
    import json

    return client.http.post(
        "/auth/login",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"tenant": tenant, "username": username, "password": password}),
    )


class School:
    """Factory for a fresh tenant with an admin, and for more staff inside it."""

    def __init__(self, client, timezone: str = "Asia/Shanghai"):
        from chalicelib.domain.tenants import create_tenant

        self.client = client
        self.slug = f"t{next(_counter)}-{secrets.token_hex(3)}"
        self.admin_password = "admin-pass-" + secrets.token_hex(4)
        create_tenant(
            slug=self.slug,
            name="测试学校 " + self.slug,
            timezone=timezone,
            phone_region="CN",
            admin_username="admin",
            admin_password=self.admin_password,
        )
        self.admin = self.sign_in("admin", self.admin_password)
        self.campus = self.admin.post("/campuses", {"name": "南山校区"}).json_body

    def sign_in(self, username: str, password: str) -> Session:
        response = login(self.client, self.slug, username, password)
        assert response.status_code == 200, response.body
        body = response.json_body
        return Session(self.client, self.slug, body["user"], body["token"], password)

    def staff(self, role: str, username: str | None = None, **fields: Any) -> Session:
        username = username or f"{role}{next(_counter)}"
        password = "pass-" + secrets.token_hex(6)
        body = {
            "username": username,
            "password": password,
            "display_name": fields.pop("display_name", username),
            "role": role,
            "campus_ids": fields.pop("campus_ids", [self.campus["id"]]),
            **fields,
        }
        response = self.admin.post("/users", body)
        assert response.status_code == 201, response.body
        return self.sign_in(username, password)


@contextmanager
def signed_in_at(session: Session, when: datetime) -> Iterator[Session]:
    """The clock frozen at `when` (aware), and `session`'s user signed in again then: what a
    class-time action (attendance, a check-in) looks like when the test runs days earlier."""
    from chalicelib.domain import clock

    with clock.frozen(when):
        response = login(session.client, session.tenant, session.user["username"], session.password)
        assert response.status_code == 200, response.body
        body = response.json_body
        yield Session(session.client, session.tenant, body["user"], body["token"], session.password)


def session_start(session: dict[str, Any]) -> datetime:
    """When a class session (as the API returns it) starts."""
    return datetime.fromisoformat(session["starts_at"].replace("Z", "+00:00"))


@contextmanager
def local_api_server(dynamodb_endpoint: str) -> Iterator[int]:
    """The local API server (`infra.local.api_server`, what `make run` starts) on the suite's
    table, on a free port; stopped on exit. Yields the port once it accepts connections."""
    import http.client
    import subprocess
    import sys
    import time
    from pathlib import Path

    from infra.local import dynamodb

    port = dynamodb.free_port()
    env = {**os.environ, "CRM_DYNAMODB_ENDPOINT": dynamodb_endpoint, "CRM_STAGE": "local"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.api_server", "local", "--port", str(port), "--stage", "local"]
        + ["--no-autoreload"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                break
            except OSError:
                assert proc.poll() is None, "the local API server exited"
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# Race tests run once per suite; `make races` reruns each of them CRM_RACE_ROUNDS times (fresh
# fixtures each round) and sums the lines race_report prints: trials and violations.
RACE_ROUNDS = max(1, int(os.environ.get("CRM_RACE_ROUNDS", "1")))


def race_rounds(test):
    """Marks a race test (`-m race`) and runs it once per round."""
    return pytest.mark.race(pytest.mark.parametrize("race_round", range(RACE_ROUNDS))(test))


def race_report(name: str, trials: int, violations: int) -> None:
    """One line `make races` adds up: racing attempts made, and how many broke a rule."""
    print(f"\nRACE {name}: trials={trials} violations={violations}")


def without_quiet_hours(school: School) -> None:
    """A send "now" goes out now, whatever the hour the suite runs at. By default 21:00-08:00
    school time is quiet and a send waits for the morning (quiet hours have their own tests,
    on a frozen clock)."""
    response = school.admin.patch("/settings/messaging", {"quiet_from": "00:00", "quiet_to": "00:00"})
    assert response.status_code == 200, response.body


@pytest.fixture
def school(client) -> School:
    return School(client)


@pytest.fixture
def other_school(client) -> School:
    return School(client)
