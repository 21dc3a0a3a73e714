"""The platform console, against the same DynamoDB Local as the API."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from chalicelib.cli import cli
from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_a_platform_operator_creates_a_school_whose_admin_can_sign_in(client, table):
    slug = f"cli-{secrets.token_hex(3)}"
    result = run(
        "tenant",
        "create",
        "--slug",
        slug,
        "--name",
        "阳光幼儿园",
        "--timezone",
        "America/Los_Angeles",
        "--phone-region",
        "us",
        "--admin-username",
        "boss",
        "--admin-password",
        "boss-password-1",
    )
    assert result.exit_code == 0, result.output
    assert f"created tenant {slug}" in result.output
    listing = run("tenant", "list")
    line = next(row for row in listing.output.splitlines() if row.startswith(slug))
    assert "America/Los_Angeles" in line and "阳光幼儿园" in line
    signed_in = login(client, slug, "boss", "boss-password-1")
    assert signed_in.status_code == 200
    assert signed_in.json_body["user"]["role"] == "admin"


def test_bad_tenant_input_is_explained_not_traced(table):
    bad_zone = run(
        "tenant",
        "create",
        "--slug",
        "zonk",
        "--name",
        "x",
        "--timezone",
        "Mars/Olympus",
        "--admin-username",
        "a",
        "--admin-password",
        "long-enough-pw",
    )
    assert bad_zone.exit_code == 2
    assert "time zone" in bad_zone.output
    bad_slug = run(
        "tenant",
        "create",
        "--slug",
        "Not A Slug!",
        "--name",
        "x",
        "--admin-username",
        "admin",
        "--admin-password",
        "long-enough-pw",
    )
    assert bad_slug.exit_code == 2
    assert "slug" in bad_slug.output


def test_creating_an_existing_school_is_refused(school):
    result = run(
        "tenant",
        "create",
        "--slug",
        school.slug,
        "--name",
        "dup",
        "--admin-username",
        "other",
        "--admin-password",
        "long-enough-pw",
    )
    assert result.exit_code == 2
    assert "already exists" in result.output
    # the existing admin is untouched
    assert login(school.client, school.slug, "admin", school.admin_password).status_code == 200


def test_user_list_and_password_reset(school):
    consultant = school.staff("consultant", display_name="顾问小张")
    listing = run("user", "list", "--tenant", school.slug)
    assert "顾问小张" in listing.output and "consultant" in listing.output
    reset = run(
        "user",
        "set-password",
        "--tenant",
        school.slug,
        "--username",
        consultant.user["username"],
        input="new-password-123\nnew-password-123\n",
    )
    assert reset.exit_code == 0, reset.output
    assert consultant.get("/me").status_code == 401
    assert login(school.client, school.slug, consultant.user["username"], "new-password-123").status_code == 200


def test_jobs_run_once_from_the_console_for_one_school(school):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    school.admin.patch("/settings/messaging", {"greeting_hour": 0, "quiet_from": "00:00", "quiet_to": "00:00"})
    body = {
        "name": "今天生日",
        "birthday": f"2020-{today:%m-%d}",
        "campus_id": school.campus["id"],
        "guardians": [{"name": "家长", "phones": ["13911112222"]}],
    }
    assert school.admin.post("/leads", body).status_code == 201
    result = run("jobs", "run", "birthdays", "--tenant", school.slug)
    assert result.exit_code == 0, result.output
    assert '"job": "birthdays"' in result.output and '"birthdays": 1' in result.output
    sent = run("jobs", "run", "scheduled_messages", "--tenant", school.slug)
    assert '"sent": 1' in sent.output, sent.output
    greeting = school.admin.get("/outbox").json_body["items"][0]
    assert greeting["body"].startswith("亲爱的今天生日小朋友") and greeting["to"] == "+8613911112222"
    again = run("jobs", "run", "birthdays", "--tenant", school.slug, "--date", today.isoformat())
    assert '"birthdays": 0' in again.output  # once a year
    unknown = CliRunner().invoke(cli, ["jobs", "run", "nope"])
    assert unknown.exit_code == 2 and "unknown job" in unknown.output


def test_jobs_run_prints_only_its_json_result_on_stdout_so_it_can_be_piped(school):
    # the job logs as it runs ("job finished" at INFO); the logs must not mix into the result
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "INFO"}
    command = [sys.executable, "-m", "chalicelib.cli", "jobs", "run", "birthdays", "--tenant", school.slug]
    done = subprocess.run(command, capture_output=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)  # the whole of stdout is one JSON document
    assert result["job"] == "birthdays" and result["birthdays"] == 0
    assert "job finished" in done.stderr.decode()  # the logs are still there, on stderr
