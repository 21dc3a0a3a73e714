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
        e["action"]
        for e in school.admin.get(f"/audit?from={_school_day(minute)}&to={_school_day(minute)}").json_body["items"]
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
        school.staff("frontdesk").post(f"/admin/users/{consultant.user['id']}/unfreeze", {"reason": "x"}).status_code
        == 403
    )
    manager_elsewhere = school.staff(
        "manager", campus_ids=[school.admin.post("/campuses", {"name": "别的校区"}).json_body["id"]]
    )
    elsewhere = manager_elsewhere.post(f"/admin/users/{consultant.user['id']}/unfreeze", {"reason": "x"})
    assert elsewhere.status_code == 404  # a manager of another campus: not theirs to lift
    assert school.staff("manager").get("/admin/frozen-users").json_body["items"][0]["id"] == consultant.user["id"]
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


# --- what an entry costs, and reading it back (issue 17) ----------------------------------


def _audit_writes(rec) -> list[dict]:
    """Every audit item the recorded calls wrote, whatever the call."""
    items = []
    for call in rec.calls:
        if call.operation == "PutItem":
            items.append(call.params["Item"])
        for request in (call.params.get("RequestItems") or {}).values():  # BatchWriteItem
            items += [r["PutRequest"]["Item"] for r in request if "PutRequest" in r]
        for action in call.params.get("TransactItems") or []:
            items += [a["Item"] for a in action.values() if "Item" in a]
    return [i for i in items if i.get("type", {}).get("S") == "Audit"]


def _indexes(item: dict) -> set[str]:
    return {name[: -len("PK")] for name in item if name.endswith("PK") and name != "PK"}


def test_a_lead_read_writes_one_audit_item_of_at_most_1_kb_in_one_index(school):
    from bench.capacity import item_size
    from chalicelib.db import telemetry

    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body()).json_body
    agent = "Mozilla/5.0 (Linux; Android 14; 小米 14 Pro) 微信/8.0.47 " * 20  # a long, multi-byte user agent
    with telemetry.record() as rec:
        assert consultant.request("GET", f"/leads/{lead['id']}", headers={"User-Agent": agent}).status_code == 200
    (item,) = _audit_writes(rec)  # written once
    assert _indexes(item) == {"GSI2"}  # by lead, and in no other index
    assert item_size(item) <= 1024  # one write unit
    with telemetry.record() as rec:
        assert consultant.get("/me").status_code == 200
    (item,) = _audit_writes(rec)
    assert _indexes(item) == set()  # no lead: the base item alone
    # and it reads back by lead, by user and by day, cut where it was cut
    for query in (f"lead={lead['id']}", f"user={consultant.user['id']}", f"from={clock.now().date()}"):
        entries = school.admin.get(f"/audit?{query}&limit=100").json_body["items"]
        read = next(e for e in entries if e["route"] == "/leads/{lead_id}" and e["method"] == "GET")
        assert read["params"] == {"lead_id": lead["id"]} and read["lead_id"] == lead["id"], query
        assert read["user_agent"].endswith("…") and agent.startswith(read["user_agent"][:-1]), query
        assert (read["user_id"], read["weight"], read["status"]) == (consultant.user["id"], 1, 200)


def test_an_audit_entry_holds_1_kb_whatever_it_carries(school):
    """The worst case: the longest school slug, a long Chinese user agent, many long params,
    long Chinese details and a user of 12 campuses."""
    from bench.capacity import item_size
    from chalicelib.db import audit as audit_db
    from chalicelib.db import telemetry
    from chalicelib.domain import ids

    tenant, lead_id = "x" * 40, "lead-" + "x" * 35  # the longest of each
    data = {
        "id": ids.new_id(),
        "at": clock.iso(clock.now()),
        "user_id": ids.new_id(),
        "username": "很长的用户名" * 20,
        "role": "consultant",
        "action": "sign_in_throttled",
        "method": "DELETE",
        "route": "/announcements/{announcement_id}/attachment" + "/x" * 50,
        "params": {"lead_id": lead_id, **{f"参数{n}": "值" * 100 for n in range(20)}},
        "lead_id": lead_id,
        "status": 429,
        "ip": "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
        "user_agent": "浏览器" * 700,
        "weight": 12345,
        "epoch": 678,
        "details": "核实为正常工作" * 300,
        "campus_ids": {ids.new_id() for _ in range(12)},
    }
    with telemetry.record() as rec:
        audit_db.put(tenant, data, int(clock.now().timestamp()) + 3600)
    (item,) = _audit_writes(rec)
    assert item_size(item) <= 1024
    assert _indexes(item) == {"GSI2"}
    # what was cut was cut from the free text (the user agent first); who, what and whose is whole
    day = clock.now().date().isoformat()
    (entry,), _ = audit_db.page(
        tenant, user=None, lead=lead_id, lo=day, hi=f"{day}T23:59:59.999Z", limit=5, cursor=None, scope="t"
    )
    assert (entry["id"], entry["at"], entry["user_id"]) == (data["id"], data["at"], data["user_id"])
    assert (entry["action"], entry["status"], entry["weight"], entry["epoch"]) == ("sign_in_throttled", 429, 12345, 678)
    assert entry["params"]["lead_id"] == lead_id and entry["campus_ids"] == data["campus_ids"]
    assert entry["username"].endswith("…") and data["username"].startswith(entry["username"][:-1])
    assert "user_agent" not in entry


def test_the_days_page_merges_every_users_entries_once_newest_first(school):
    # GIVEN a school of 12 staff who each made requests, and a failed sign-in (no user)
    staff = [school.staff("consultant") for _ in range(10)]
    alice, bob = school.staff("consultant"), school.staff("manager")
    for _ in range(3):
        alice.get("/me"), bob.get("/campuses")
    for _ in range(3):  # at the same time, as a school's day goes
        for member in staff:
            member.get("/me")
    assert login(school.client, school.slug, alice.user["username"], "wrong-password").status_code == 401
    everything = school.admin.get("/audit?limit=100").json_body
    assert everything["next_cursor"] is None
    before = {e["id"] for e in everything["items"]}
    assert {e["user_id"] for e in everything["items"]} >= {alice.user["id"], bob.user["id"], None}
    assert any(e["action"] == "sign_in_failed" for e in everything["items"])  # the entries of no user too
    # WHEN an admin pages through the days, 2 entries a page
    paged, cursor = [], None
    while True:
        response = school.admin.get("/audit?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.body  # the cursor stays within the 2,048 accepted
        page = response.json_body
        assert len(page["items"]) <= 2
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # THEN every entry comes once, newest first across the users' partitions
    ids_ = [e["id"] for e in paged]
    assert len(ids_) == len(set(ids_))  # each once
    assert set(ids_) >= before  # none left out (the admin's own reads of the audit may add some)
    # by time, not by the text: an entry made on a whole second is written without a fraction
    order = [(datetime.fromisoformat(e["at"]), e["id"]) for e in paged]
    assert order == sorted(order, reverse=True)  # newest first, across the users


def test_the_lead_page_needs_only_the_keys_from_its_index(school, monkeypatch):
    """GSI2 may project keys only (issue 17): the lead's page reads the entries themselves."""
    from chalicelib.db.base import connection

    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body()).json_body
    for _ in range(3):
        consultant.get(f"/leads/{lead['id']}")
    client = connection().client
    query = client.query

    def keys_only(**request):
        answer = query(**request)
        if request.get("IndexName") == "GSI2":
            names = {"PK", "SK", "GSI2PK", "GSI2SK"}
            answer["Items"] = [{k: v for k, v in i.items() if k in names} for i in answer.get("Items", [])]
        return answer

    monkeypatch.setattr(client, "query", keys_only)
    pages, cursor = [], None
    while True:
        page = school.admin.get(f"/audit?lead={lead['id']}&limit=2" + (f"&cursor={cursor}" if cursor else ""))
        pages += page.json_body["items"]
        cursor = page.json_body["next_cursor"]
        if cursor is None:
            break
    reads = [e for e in pages if e["method"] == "GET"]
    assert len(reads) == 3 and all(e["username"] == consultant.user["username"] for e in reads)


def _school_day(at: datetime):
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo("Asia/Shanghai")).date()  # the test schools' zone


def test_the_audits_days_are_the_schools_days(school):
    """17:00 UTC on 30 June is 01:00 on 1 July in Shanghai: the audit files it under 1 July."""
    consultant = school.staff("consultant")
    with clock.frozen(datetime(2032, 6, 30, 17, 0, tzinfo=UTC)):
        me = school.sign_in(consultant.user["username"], consultant.password)
        assert me.get("/leads").status_code == 200
    mine = f"/audit?user={consultant.user['id']}"
    july = school.admin.get(f"{mine}&from=2032-07-01&to=2032-07-01").json_body["items"]
    assert "/leads" in [e["route"] for e in july]
    assert school.admin.get(f"{mine}&from=2032-06-30&to=2032-06-30").json_body["items"] == []
