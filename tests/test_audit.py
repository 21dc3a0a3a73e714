"""Operation audit, the anti-scraping freeze and unfreeze, usage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from chalicelib.api.routing import REGISTRY
from chalicelib.cli import cli
from chalicelib.domain import clock
from tests.conftest import login, without_quiet_hours
from tests.test_leads import lead_body
from tests.test_streams import Tap, lambda_like


def _setup(school, dynamodb_endpoint, tmp_path, per_minute=5):
    school.admin.patch("/settings/security", {"reads_per_minute": per_minute})
    consultant = school.staff("consultant", display_name="小快手")
    lead = consultant.post("/leads", lead_body(name="被看的孩子")).json_body
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    return consultant, lead, tap


def test_the_freeze_comes_at_n_plus_one_reads_and_locks_every_route(school, dynamodb_endpoint, tmp_path):
    consultant, lead, tap = _setup(school, dynamodb_endpoint, tmp_path, per_minute=5)
    minute = datetime.now(UTC).replace(second=5, microsecond=0)
    with clock.frozen(minute):
        me = school.sign_in(consultant.user["username"], consultant.password)
        for _ in range(5):
            assert me.get(f"/leads/{lead['id']}").status_code == 200
        lambda_like(tap.drain())
        assert me.get("/me").status_code == 200  # exactly N: still fine
        over = me.get(f"/leads/{lead['id']}")  # the window is spent: refused in its path, and counted
        assert over.status_code == 423 and over.json_body["error"]["code"] == "READ_LIMIT_REACHED"
        assert "被看的孩子" not in over.body.decode()
        lambda_like(tap.drain())
        refused = me.get("/me")
    assert refused.status_code == 423
    assert refused.json_body["error"]["code"] == "ACCOUNT_FROZEN"
    assert "administrator" in refused.json_body["error"]["message"]
    # every route refuses the frozen account's token
    for spec in REGISTRY:
        if spec.roles is None:
            continue
        path = re.sub(r"\{[^}]+\}", "x", spec.path)
        body = {} if spec.method in ("POST", "PUT", "PATCH") else None
        headers = {"Content-Type": spec.uploads[0]} if spec.uploads else None  # a file upload
        answer = me.request(spec.method, path, b"x" if spec.uploads else body, headers=headers)
        assert answer.status_code == 423, (spec.method, spec.path, answer.status_code)
    # signing in again does not help
    again = login(school.client, school.slug, consultant.user["username"], consultant.password)
    assert again.status_code == 423
    # the admins were told, and the freeze is in the audit
    notes = [n["message"] for n in school.admin.get("/notifications").json_body["items"]]
    assert any("小快手" in n and "冻结" in n for n in notes)
    frozen = school.admin.get("/admin/frozen-users").json_body["items"]
    assert [u["username"] for u in frozen] == [consultant.user["username"]]
    assert "6 reads in the minute" in frozen[0]["frozen_reason"]
    actions = [
        e["action"] for e in school.admin.get(f"/audit?from={minute.date()}&to={minute.date()}").json_body["items"]
    ]
    assert "freeze" in actions


def test_an_unfreeze_is_audited_and_the_account_works_again(school, dynamodb_endpoint, tmp_path):
    consultant, lead, tap = _setup(school, dynamodb_endpoint, tmp_path, per_minute=1)
    minute = datetime.now(UTC).replace(second=1, microsecond=0)
    with clock.frozen(minute):
        me = school.sign_in(consultant.user["username"], consultant.password)
        me.get(f"/leads/{lead['id']}")
        me.get(f"/leads/{lead['id']}")
        lambda_like(tap.drain())
    assert me.get("/me").status_code == 423
    assert (
        school.staff("manager").post(f"/admin/users/{consultant.user['id']}/unfreeze", {"reason": "x"}).status_code
        == 403
    )
    done = school.admin.post(f"/admin/users/{consultant.user['id']}/unfreeze", {"reason": "核实为正常工作"})
    assert done.status_code == 200 and done.json_body["frozen_at"] is None
    assert me.get("/me").status_code == 401  # the old token stays dead: sign in again
    with clock.frozen(minute + timedelta(seconds=30)):  # the same minute: the old reads no longer count
        again = school.sign_in(consultant.user["username"], consultant.password)
        assert again.get(f"/leads/{lead['id']}").status_code == 200
        lambda_like(tap.drain())
        assert again.get("/me").status_code == 200
    entries = school.admin.get(f"/audit?user={school.admin.user['id']}").json_body["items"]
    unfreeze = next(e for e in entries if e["action"] == "unfreeze")
    assert unfreeze["params"] == {"user_id": consultant.user["id"]} and "核实为正常工作" in unfreeze["details"]


def test_the_console_lists_and_unfreezes(school, dynamodb_endpoint, tmp_path):
    from tests.test_cli import run

    consultant, lead, tap = _setup(school, dynamodb_endpoint, tmp_path, per_minute=1)
    with clock.frozen(datetime.now(UTC).replace(second=2, microsecond=0)):
        me = school.sign_in(consultant.user["username"], consultant.password)
        me.get(f"/leads/{lead['id']}")
        me.get(f"/leads/{lead['id']}")
        lambda_like(tap.drain())
    listed = run("admin", "frozen", "--tenant", school.slug)
    assert consultant.user["username"] in listed.output and "reads in the minute" in listed.output
    done = run("admin", "unfreeze", "--tenant", school.slug, "--user", consultant.user["username"], "--reason", "误报")
    assert done.exit_code == 0, done.output
    assert "no frozen accounts" in run("admin", "frozen", "--tenant", school.slug).output
    assert (
        CliRunner()
        .invoke(cli, ["admin", "unfreeze", "--tenant", school.slug, "--user", "nobody", "--reason", "x"])
        .exit_code
        != 0
    )


def test_admins_are_never_frozen(school, dynamodb_endpoint, tmp_path):
    _, lead, tap = _setup(school, dynamodb_endpoint, tmp_path, per_minute=1)
    for _ in range(4):
        school.admin.get(f"/leads/{lead['id']}")
    lambda_like(tap.drain())
    assert school.admin.get("/me").status_code == 200


def test_the_audit_tells_who_read_which_lead_from_where(school, dynamodb_endpoint, tmp_path):
    consultant, lead, _ = _setup(school, dynamodb_endpoint, tmp_path, per_minute=100)
    consultant.request("GET", f"/leads/{lead['id']}", headers={"User-Agent": "campus-app/1.0"})
    entries = school.admin.get(f"/audit?lead={lead['id']}").json_body["items"]
    read = next(e for e in entries if e["action"] == "read")
    assert (read["username"], read["route"], read["status"], read["weight"]) == (
        consultant.user["username"],
        "/leads/{lead_id}",
        200,
        1,
    )
    assert read["user_agent"] == "campus-app/1.0"
    signed_in = school.admin.get(f"/audit?from={clock.now().date()}").json_body["items"]
    assert any(e["action"] == "sign_in" and e["username"] == consultant.user["username"] for e in signed_in)
    assert consultant.get("/audit").status_code == 403


def test_usage_counts_requests_and_messages(school, dynamodb_endpoint, tmp_path):
    without_quiet_hours(school)
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    for _ in range(3):
        school.admin.get("/me")
    school.admin.post(
        "/messages", {"channel": "sms", "purpose": "notice", "text": "你好", "recipients": {"phones": ["13800138000"]}}
    )
    lambda_like(tap.drain(), batch_size=50)
    month = clock.now().strftime("%Y-%m")
    usage = school.admin.get(f"/usage?month={month}").json_body
    assert usage["api_requests"] >= 4 and usage["sms"] == 1 and usage["sms_segments"] == 1
