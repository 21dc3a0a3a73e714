"""Staff leaving (离职交接): POST /users/{id}/offboard disables the account and hands its
leads, open plans and future appointments over, in one resumable job; employee records
(员工档案) for admins."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench import capacity
from chalicelib import jobs
from chalicelib.db import telemetry
from chalicelib.domain import clock, offboarding
from infra.local.table import table_properties
from tests.conftest import login, signed_in_at
from tests.test_busy import dynamodb_busy
from tests.test_leads import lead_body

LATER = "2031-06-01T10:00"  # school time: far enough ahead to be a future appointment


@pytest.fixture
def team(school):
    """Alice is leaving; Bob takes over. Both consultants of the school's campus."""
    school.alice = school.staff("consultant", display_name="顾问李娜")
    school.bob = school.staff("consultant", display_name="顾问王强")
    return school


def _lead(session, name="王小明", **extra):
    response = session.post("/leads", lead_body(name=name, **extra))
    assert response.status_code == 201, response.body
    return response.json_body


def _plan(session, lead, assignee=None, purpose="邀约周六试听"):
    body = {"planned_at": LATER, "purpose": purpose, **({"assignee_id": assignee} if assignee else {})}
    response = session.post(f"/leads/{lead['id']}/plans", body)
    assert response.status_code == 201, response.body
    return response.json_body["plan"]


def _visit(session, lead, at=LATER):
    response = session.post(f"/leads/{lead['id']}/appointments", {"kind": "visit", "at": at})
    assert response.status_code == 201, response.body
    return response.json_body


def _alices_work(school):
    """Two leads of Alice's (one with a plan and a visit), and a plan of hers on Bob's lead."""
    first, second = _lead(school.alice, "小明"), _lead(school.alice, "小红")
    _plan(school.alice, first)
    _visit(school.alice, first)
    bobs = _lead(school.bob, "小刚")
    _plan(school.admin, bobs, assignee=school.alice.user["id"], purpose="帮忙回访")
    return first, second, bobs


def _offboard(school, user, to):
    return school.admin.post(f"/users/{user.user['id']}/offboard", {"handover_to": to})


def _counts(**given):
    base = dict.fromkeys(
        (
            "leads_handed_over",
            "leads_to_pool",
            "plans_handed_over",
            "plans_cancelled",
            "appointments_handed_over",
            "appointments_unassigned",
        ),
        0,
    )
    return {**base, **given}


def test_a_leaving_consultants_work_goes_to_a_colleague_and_their_sessions_end(team):
    first, second, bobs = _alices_work(team)
    assert team.alice.get("/me").status_code == 200

    response = _offboard(team, team.alice, team.bob.user["id"])

    assert response.status_code == 202, response.body
    summary = response.json_body
    assert summary["status"] == "done" and summary["runs"] == 1
    assert summary["counts"] == _counts(leads_handed_over=2, plans_handed_over=2, appointments_handed_over=1)
    assert summary["user_name"] == "顾问李娜" and summary["handover_to_name"] == "顾问王强"
    assert summary["started_by"] == team.admin.user["id"]
    # the account is disabled: its token died and it cannot sign in again
    assert team.alice.get("/me").json_body["error"]["code"] in {"TOKEN_REVOKED", "ACCOUNT_DISABLED"}
    again = login(team.client, team.slug, team.alice.user["username"], team.alice.password)
    assert again.status_code == 401  # a disabled account signs in no more
    assert team.admin.get(f"/users/{team.alice.user['id']}").json_body["active"] is False
    # Bob holds the leads now, with their plans and the visit
    mine = {lead["id"] for lead in team.bob.get("/leads?limit=100").json_body["items"]}
    assert {first["id"], second["id"], bobs["id"]} <= mine
    page = team.bob.get(f"/leads/{first['id']}").json_body
    assert page["owner_id"] == team.bob.user["id"] and page["owner_name"] == "顾问王强"
    assert [p["assignee_id"] for p in page["plans"] if p["status"] == "open"] == [team.bob.user["id"]]
    assert [a["owner_id"] for a in page["appointments"]] == [team.bob.user["id"]]
    bobs_page = team.bob.get(f"/leads/{bobs['id']}").json_body
    assert {p["assignee_id"] for p in bobs_page["plans"]} == {team.bob.user["id"]}
    # the history says who handed over to whom, and who did it
    [entry] = [h for h in page["history"] if h["action"] == "handed_over"]
    assert entry["by"] == team.admin.user["id"]
    assert entry["details"]["from"] == team.alice.user["id"] and entry["details"]["to"] == team.bob.user["id"]
    assert entry["details"]["from_name"] == "顾问李娜" and entry["details"]["to_name"] == "顾问王强"
    # Bob and the admin are told what moved
    told = team.bob.get("/notifications").json_body["items"]
    assert any("离职交接" in n["message"] and "顾问李娜" in n["message"] for n in told)
    assert team.admin.get(f"/users/{team.alice.user['id']}/offboarding").json_body == summary


def test_to_the_pool_leads_are_released_plans_cancelled_and_appointments_left_to_the_campus(team):
    first, second, bobs = _alices_work(team)
    soon = (clock.now() + timedelta(minutes=30)).astimezone(UTC).isoformat()
    past_visit = _visit(team.alice, second, at=soon)
    later = clock.now() + timedelta(hours=2)

    with signed_in_at(team.admin, later) as admin, clock.frozen(later):
        response = admin.post(f"/users/{team.alice.user['id']}/offboard", {"handover_to": "pool"})

    assert response.status_code == 202, response.body
    assert response.json_body["handover_to"] is None
    assert response.json_body["counts"] == _counts(leads_to_pool=2, plans_cancelled=2, appointments_unassigned=1)
    pool = {lead["id"] for lead in team.bob.get("/leads?scope=pool&limit=100").json_body["items"]}
    assert {first["id"], second["id"]} <= pool
    page = team.admin.get(f"/leads/{first['id']}").json_body
    [entry] = [h for h in page["history"] if h["action"] == "handed_over"]
    assert page["owner_id"] is None and entry["details"]["to"] is None and entry["details"]["to_name"] is None
    assert {p["status"] for p in page["plans"]} == {"cancelled"}
    assert [a["owner_id"] for a in page["appointments"]] == [None]
    # an appointment already past when she left is history: it stays hers
    appointments = team.admin.get(f"/leads/{second['id']}/appointments").json_body["items"]
    assert [a["owner_id"] for a in appointments if a["id"] == past_visit["id"]] == [team.alice.user["id"]]
    assert team.bob.get(f"/leads/{bobs['id']}").json_body["owner_id"] == team.bob.user["id"]  # not hers


def test_what_the_taker_cannot_hold_goes_to_the_pool(team):
    other = team.admin.post("/campuses", {"name": "福田校区"}).json_body
    both = [team.campus["id"], other["id"]]
    leaving = team.staff("consultant", display_name="两校区顾问", campus_ids=both)
    here, there = _lead(leaving, "本校区", campus_id=team.campus["id"]), _lead(leaving, "外校区", campus_id=other["id"])
    _plan(leaving, there)
    _visit(leaving, there)
    _lead(leaving, "第三个", campus_id=team.campus["id"])
    assert team.admin.patch("/settings/leads", {"max_leads_per_consultant": 1}).status_code == 200

    response = _offboard(team, leaving, team.bob.user["id"])  # Bob: one campus, an empty cap of 1

    assert response.json_body["counts"] == _counts(
        leads_handed_over=1, leads_to_pool=2, plans_cancelled=1, appointments_unassigned=1
    )
    owners = {team.admin.get(f"/leads/{lead['id']}").json_body["owner_id"] for lead in (here, there)}
    assert None in owners
    assert team.admin.get(f"/leads/{there['id']}").json_body["owner_id"] is None  # Bob is not of that campus


def test_a_large_handover_is_finished_by_the_job_and_counted_once(team, monkeypatch):
    for n in range(4):
        _lead(team.alice, f"学员{n}")
    monkeypatch.setattr(offboarding, "REQUEST_ITEMS", 1)

    started = _offboard(team, team.alice, team.bob.user["id"]).json_body

    assert started["status"] == "queued" and started["counts"]["leads_handed_over"] == 1
    again = _offboard(team, team.alice, "pool")
    assert again.status_code == 409 and again.json_body["error"]["code"] == "OFFBOARDING_RUNNING"
    with telemetry.record() as rec:
        result = jobs.run("staff_offboarding", tenant=team.slug)
    assert result == {"job": "staff_offboarding", "offboardings": 1, "not_done": 0, "broken": 0}
    assert "Scan" not in rec.operations
    done = team.admin.get(f"/users/{team.alice.user['id']}/offboarding").json_body
    assert done["status"] == "done" and done["runs"] == 2
    assert done["counts"] == _counts(leads_handed_over=4)
    # nothing left: the next minute's job finds nothing to do
    assert jobs.run("staff_offboarding", tenant=team.slug)["offboardings"] == 0


def test_a_run_that_dies_is_taken_over_and_nothing_moves_twice(team, monkeypatch):
    leads = [_lead(team.alice, f"学员{n}") for n in range(3)]
    monkeypatch.setattr(offboarding, "REQUEST_ITEMS", 0)
    assert _offboard(team, team.alice, team.bob.user["id"]).json_body["status"] == "queued"
    real = offboarding.change_owner
    calls = []

    def dies_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("Lambda timed out")
        return real(*args, **kwargs)

    monkeypatch.setattr(offboarding, "change_owner", dies_on_the_second)
    assert jobs.run("staff_offboarding", tenant=team.slug)["broken"] == 1
    monkeypatch.setattr(offboarding, "change_owner", real)
    # while the dead run's lease holds, nobody else takes it
    assert jobs.run("staff_offboarding", tenant=team.slug)["not_done"] == 1
    with clock.frozen(clock.now() + offboarding.LEASE + timedelta(seconds=1)):
        assert jobs.run("staff_offboarding", tenant=team.slug)["offboardings"] == 1
    done = team.admin.get(f"/users/{team.alice.user['id']}/offboarding").json_body
    assert done["counts"] == _counts(leads_handed_over=3) and done["runs"] == 3
    for lead in leads:
        page = team.admin.get(f"/leads/{lead['id']}").json_body
        assert page["owner_id"] == team.bob.user["id"]
        assert [h["action"] for h in page["history"]].count("handed_over") == 1


def test_two_runs_at_once_move_each_item_once(team, monkeypatch):
    for n in range(4):
        _lead(team.alice, f"学员{n}")
    monkeypatch.setattr(offboarding, "REQUEST_ITEMS", 0)
    _offboard(team, team.alice, "pool")
    results: list[object] = []
    barrier = threading.Barrier(2)

    def one_run():
        barrier.wait()
        results.append(offboarding.run(team.slug, team.alice.user["id"]))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == [None, True]  # one took it, the other found it taken
    done = team.admin.get(f"/users/{team.alice.user['id']}/offboarding").json_body
    assert done["counts"] == _counts(leads_to_pool=4)


def test_a_busy_table_is_retried_and_the_handover_still_completes(team):
    first, _, _ = _alices_work(team)
    with dynamodb_busy(times=3) as refused:
        response = _offboard(team, team.alice, team.bob.user["id"])
    assert len(refused) == 3
    assert response.status_code == 202 and response.json_body["status"] == "done"
    assert response.json_body["counts"] == _counts(leads_handed_over=2, plans_handed_over=2, appointments_handed_over=1)
    assert team.bob.get(f"/leads/{first['id']}").json_body["owner_id"] == team.bob.user["id"]


def test_who_may_offboard_and_whom(team):
    target = team.alice.user["id"]
    for role in ("manager", "supervisor", "consultant", "frontdesk", "finance"):
        actor = team.staff(role)
        refused = actor.post(f"/users/{target}/offboard", {"handover_to": "pool"})
        assert refused.status_code == 403 and refused.json_body["error"]["code"] == "ROLE_FORBIDDEN"
        assert actor.get(f"/users/{target}/offboarding").status_code == 403
    me = team.admin.post(f"/users/{team.admin.user['id']}/offboard", {"handover_to": "pool"})
    assert me.status_code == 409 and me.json_body["error"]["code"] == "CANNOT_CHANGE_SELF"
    teacher = team.staff("teacher")
    for bad in (teacher.user["id"], target, "nobody", "", "x" * 41, "池\u0007"):
        wrong = team.admin.post(f"/users/{target}/offboard", {"handover_to": bad})
        assert wrong.status_code == 400, (bad, wrong.body)
    assert team.admin.post("/users/NOSUCHUSER/offboard", {"handover_to": "pool"}).status_code == 404
    never = team.admin.get(f"/users/{target}/offboarding")
    assert never.status_code == 404 and never.json_body["error"]["code"] == "OFFBOARDING_NOT_FOUND"
    # nothing of a refused request was written: Alice still works
    assert team.alice.get("/me").status_code == 200
    # a user who came back and leaves again is offboarded again
    assert _offboard(team, team.alice, "pool").json_body["status"] == "done"
    assert team.admin.patch(f"/users/{target}", {"active": True}).status_code == 200
    assert _offboard(team, team.alice, team.bob.user["id"]).status_code == 202
    # someone who left cannot take over
    gone = team.admin.post(f"/users/{team.bob.user['id']}/offboard", {"handover_to": target})
    assert gone.status_code == 400


# --- employee records (员工档案) ---------------------------------------------------------

ID_NUMBER = "11010519491231002X"  # a valid mainland number (the check digit is X)


def test_an_admin_keeps_an_employee_record_and_the_id_number_is_shown_masked(team):
    path = f"/users/{team.alice.user['id']}/record"
    empty = team.admin.get(path).json_body
    assert empty["hire_date"] is None and empty["id_number"] is None and empty["active"] is True
    body = {
        "hire_date": "2024-09-01",
        "phone": "138 0013 8000",
        "email": "lina@example.edu",
        "id_number": ID_NUMBER.lower(),
        "notes": "擅长亲子早教；\n周末值班",
    }
    saved = team.admin.put(path, body)
    assert saved.status_code == 200, saved.body
    record = saved.json_body
    assert record["id_number"] == "1101**********002X" and ID_NUMBER not in saved.body.decode()
    assert record["hire_date"] == "2024-09-01" and record["notes"] == "擅长亲子早教；\n周末值班"
    assert record["updated_by"] == team.admin.user["id"]
    # phone and e-mail are the user's own (the staff directory shows them)
    user = team.admin.get(f"/users/{team.alice.user['id']}").json_body
    assert user["phone"] == "138 0013 8000" and user["email"] == "lina@example.edu"
    # the masked number sent back keeps it; leaving a field out clears it
    kept = team.admin.put(path, {**body, "id_number": record["id_number"], "notes": None}).json_body
    assert kept["id_number"] == "1101**********002X" and kept["notes"] is None
    # after leaving, the record shows the school's day she left
    _offboard(team, team.alice, "pool")
    left = team.admin.get(path).json_body
    assert left["active"] is False and left["left_on"] == clock.now().astimezone(ZONE).date().isoformat()


ZONE = ZoneInfo("Asia/Shanghai")  # the test school's


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id_number", "110105194912310021"),  # wrong check digit
        ("id_number", "1101**********9999"),  # masked, but not the number on record
        ("id_number", "12345678\u0000"),
        ("hire_date", "1899-12-31"),
        ("hire_date", "2024-02-30"),
        ("notes", "x" * 2001),
        ("notes", "备注\u001b[31m"),
        ("phone", "call me"),
        ("email", "not-an-email"),
    ],
)
def test_a_bad_employee_record_is_a_400_and_nothing_changes(team, field, value):
    path = f"/users/{team.alice.user['id']}/record"
    assert team.admin.put(path, {"id_number": ID_NUMBER, "notes": "原来的"}).status_code == 200
    refused = team.admin.put(path, {field: value})
    assert refused.status_code == 400, refused.body
    assert refused.json_body["error"]["details"][0]["field"].startswith(field)
    after = team.admin.get(path).json_body
    assert after["notes"] == "原来的" and after["id_number"] == "1101**********002X"


def test_only_admins_see_or_keep_employee_records(team):
    path = f"/users/{team.alice.user['id']}/record"
    for role in ("manager", "supervisor", "consultant", "frontdesk", "teacher", "finance"):
        actor = team.staff(role)
        assert actor.get(path).status_code == 403
        assert actor.put(path, {"notes": "x"}).status_code == 403
    assert team.alice.get(path).status_code == 403  # not even one's own
    assert team.admin.get("/users/NOSUCHUSER/record").status_code == 404
    assert team.admin.put("/users/NOSUCHUSER/record", {"notes": "x"}).status_code == 404


def test_an_employee_record_write_that_meets_a_busy_table_is_retried(team):
    path = f"/users/{team.alice.user['id']}/record"
    with dynamodb_busy(times=2) as refused:
        saved = team.admin.put(path, {"hire_date": "2023-03-01", "phone": "13800138000"})
    assert len(refused) == 2 and saved.status_code == 200
    assert team.admin.get(f"/users/{team.alice.user['id']}").json_body["phone"] == "13800138000"
    # busy beyond the retries: 409 BUSY, and neither item was written
    with dynamodb_busy(times=20):
        busy = team.admin.put(path, {"hire_date": "2020-01-01", "phone": "13900139000"})
    assert busy.status_code == 409 and busy.json_body["error"]["code"] == "BUSY"
    after = team.admin.get(path).json_body
    assert after["hire_date"] == "2023-03-01" and after["phone"] == "13800138000"


def test_offboarding_costs_follow_the_users_work_not_the_school(team):
    for n in range(3):
        _lead(team.bob, f"别人的{n}")  # the rest of the school is never read
    lead = _lead(team.alice, "小明")
    _plan(team.alice, lead)
    _visit(team.alice, lead)
    with telemetry.record() as rec:
        response = _offboard(team, team.alice, team.bob.user["id"])
    assert response.json_body["status"] == "done"
    assert "Scan" not in rec.operations
    read_partitions = {
        str(call.params.get("KeyConditionExpression", "")) + str(call.params.get("ExpressionAttributeValues", ""))
        for call in rec.calls
        if call.operation == "Query"
    }
    assert not any(team.bob.user["id"] in p and "OWNER" in p for p in read_partitions)
    writes = [c for c in rec.calls if c.operation == "TransactWriteItems"]
    assert len(writes) == 4  # the start, then one per lead, plan and appointment moved
    # priced by AWS's rules (bench/capacity.py): what docs/staff.md states
    indexes = capacity.indexes_from_table(table_properties())
    start, lead_move, plan_move, appointment_move = (capacity.cost_call(c, indexes=indexes) for c in writes)
    assert start.wru + start.gsi_wru <= 5
    assert lead_move.wru + lead_move.gsi_wru <= 14
    assert plan_move.wru + plan_move.gsi_wru <= 10
    assert appointment_move.wru + appointment_move.gsi_wru <= 6
    reads = capacity.cost_calls([c for c in rec.calls if c.operation not in capacity.WRITE_OPERATIONS])
    assert reads.rru <= 12
    print(  # noqa: T201 - the figures for docs/staff.md, with -s
        {"start": start.as_dict(), "lead": lead_move.as_dict(), "plan": plan_move.as_dict()},
        {"appointment": appointment_move.as_dict(), "reads": reads.as_dict()},
    )
