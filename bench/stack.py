"""DynamoDB Local, the Chalice app in-process, and one seeded school to call it as."""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.context import Context

TABLE = "campus-crm-bench"


def _files_dir() -> str:
    path = tempfile.mkdtemp(prefix="campus-crm-bench-files-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def app_environment(endpoint: str | None = None) -> dict[str, str]:
    """The variables the app reads, as in tests/conftest.py; no real AWS account."""
    env = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "CRM_TABLE": TABLE,
        "CRM_JWT_SECRET": "bench-secret-" + secrets.token_hex(16),
        "CRM_FILES_DIR": _files_dir(),
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    if endpoint:
        env["CRM_DYNAMODB_ENDPOINT"] = endpoint
    return env


@dataclass
class Stack:
    endpoint: str
    table: dict[str, Any]  # DescribeTable's Table
    ddb: Any  # a bare boto3 DynamoDB client (not hooked by telemetry)
    http: Any  # chalice.test TestHTTPClient
    tenant: str
    username: str
    password: str
    token: str
    staff: int
    campus_id: str
    _cleanup: contextlib.ExitStack

    @classmethod
    def start(cls, ctx: Context) -> Stack:
        from infra.local import dynamodb

        cleanup = contextlib.ExitStack()
        try:
            port = dynamodb.free_port()
            proc = dynamodb.start(port)
            cleanup.callback(dynamodb.stop, proc)
            endpoint = f"http://127.0.0.1:{port}"
            os.environ.update(app_environment(endpoint))
            return cls._seed(ctx, endpoint, cleanup)
        except BaseException:
            cleanup.close()
            raise

    @classmethod
    def _seed(cls, ctx: Context, endpoint: str, cleanup: contextlib.ExitStack) -> Stack:
        import boto3
        from chalice.test import Client

        from chalicelib.db.base import reset_connection
        from chalicelib.domain.tenants import create_tenant
        from chalicelib.settings import reset_settings
        from infra.local.table import ensure_table

        reset_settings()
        reset_connection()
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        table = ensure_table(ddb, TABLE)

        import app as app_module

        client = cleanup.enter_context(Client(app_module.app, stage_name="test", project_dir=str(ctx.root)))
        tenant = "bench-" + secrets.token_hex(3)
        password = "bench-pass-" + secrets.token_hex(6)
        create_tenant(
            slug=tenant,
            name="基准测试学校",
            timezone="Asia/Shanghai",
            phone_region="CN",
            admin_username="admin",
            admin_password=password,
        )
        stack = cls(endpoint, table, ddb, client.http, tenant, "admin", password, "", 0, "", cleanup)
        stack.token = stack.login().json_body["token"]
        stack.campus_id = stack.call("POST", "/campuses", {"name": "南山校区"}, expect=201).json_body["id"]
        for i in range(ctx.options.staff):
            stack.create_staff(f"staff{i:03d}")
        return stack

    # --- calling the API ---------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True, expect: int | None = 200):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        response = self.http.request(method, path, headers=headers, body=raw)
        if expect is not None and response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.body[:300]!r}")
        return response

    def login(self, username: str | None = None, password: str | None = None, *, expect: int | None = 200):
        body = {"tenant": self.tenant, "username": username or self.username, "password": password or self.password}
        return self.call("POST", "/auth/login", body, auth=False, expect=expect)

    def create_staff(self, username: str) -> dict[str, Any]:
        body = {
            "username": username,
            "password": "staff-pass-" + secrets.token_hex(6),
            "display_name": "员工 " + username,
            "role": "consultant",
            "campus_ids": [self.campus_id],
        }
        user = self.call("POST", "/users", body, expect=201).json_body
        self.staff += 1
        return user

    @contextlib.contextmanager
    def quiet(self, notes: list[str]) -> Iterator[None]:
        """Keeps what the app prints to stdout out of the report; notes how many lines it was.

        (With POWERTOOLS_METRICS_DISABLED, powertools never clears its metric set, so every
        100th SignIns metric is printed as EMF anyway.)
        """
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            yield
        lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
        if lines:
            emf = sum('"_aws"' in line for line in lines)
            notes.append(
                f"the app printed {len(lines)} line(s) to stdout during this section ({emf} CloudWatch EMF "
                "blobs: powertools prints every 100th metric even with POWERTOOLS_METRICS_DISABLED); not shown."
            )

    def tenant_key(self) -> dict[str, dict[str, str]]:
        """The tenant item's key: what the bare GetItem baseline reads."""
        from chalicelib.db import keys

        return {"PK": {"S": keys.tenant_pk(self.tenant)}, "SK": {"S": keys.TENANT_SK}}

    def close(self) -> None:
        self._cleanup.close()
