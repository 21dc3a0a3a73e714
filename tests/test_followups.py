"""Follow-ups, work plans and today's work: the consultant's daily loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.db import telemetry
from chalicelib.domain import clock
from tests.test_leads import lead_body


@pytest.fixture
def team(school):
    school.supervisor = school.staff("supervisor", display_name="主管")
    school.alice = school.staff("consultant", display_name="Alice", supervisor_id=school.supervisor.user["id"])
    school.bob = school.staff("consultant", display_name="Bob", supervisor_id=school.supervisor.user["id"])
    school.carol = school.staff("consultant", display_name="Carol")
    school.manager = school.staff("manager")
    return school


def _at(days=0, hours=0):
    return (clock.now() + timedelta(days=days, hours=hours)).isoformat()


def test_a_follow_up_updates_the_lead_atomically(team):
    lead = team.alice.post("/leads", lead_body()).json_body
    response = team.alice.post(
        f"/leads/{lead['id']}/follow-ups",
        {
            "method": "phone",
            "content": "妈妈说周六可以来参观",
            "next_follow_up_at": _at(days=1),
            "status": "intent",
            "stage": "contacted",
        },
    )
    assert response.status_code == 201
    fu = response.json_body
    assert fu["by_name"] == "Alice" and fu["changes"] == {"status": "intent", "stage": "contacted"}
    detail = team.alice.get(f"/leads/{lead['id']}").json_body
    assert detail["status"] == "intent" and detail["stage"] == "contacted"
    assert detail["last_contacted_at"] is not None and detail["next_follow_up_at"] is not None
    assert [f["content"] for f in detail["follow_ups"]] == ["妈妈说周六可以来参观"]
    # the shared history: the supervisor sees it too
    assert team.supervisor.get(f"/follow-ups?lead={lead['id']}").json_body["items"][0]["id"] == fu["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"next_follow_up_at": "2001-01-01T10:00:00Z"}, "next_follow_up_at"),
        ({"followed_at": "2099-01-01T10:00:00Z"}, "followed_at"),
        ({"method": "telepathy"}, "method"),
        ({"status": "vip"}, "status"),
        ({"content": ""}, "content"),
    ],
)
def test_bad_follow_ups_name_the_field_and_write_nothing(team, body, field):
    lead = team.alice.post("/leads", lead_body()).json_body
    response = team.alice.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "x", **body})
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == field
    detail = team.alice.get(f"/leads/{lead['id']}").json_body
    assert detail["follow_ups"] == [] and detail["status"] == "potential"


def test_a_back_filled_call_never_moves_last_contact_backwards(team):
    lead = team.alice.post("/leads", lead_body()).json_body
    url = f"/leads/{lead['id']}/follow-ups"
    team.alice.post(url, {"method": "phone", "content": "今天的电话"})
    latest = team.alice.get(f"/leads/{lead['id']}").json_body["last_contacted_at"]
    team.alice.post(url, {"method": "wechat", "content": "补录上周的微信", "followed_at": _at(days=-7)})
    detail = team.alice.get(f"/leads/{lead['id']}").json_body
    assert detail["last_contacted_at"] == latest
    assert [f["content"] for f in detail["follow_ups"]] == ["今天的电话", "补录上周的微信"]


def test_follow_up_history_filters_and_visibility(team):
    a = team.alice.post("/leads", lead_body()).json_body
    c = team.carol.post("/leads", lead_body()).json_body
    team.alice.post(f"/leads/{a['id']}/follow-ups", {"method": "phone", "content": "A1"})
    team.alice.post(f"/leads/{a['id']}/follow-ups", {"method": "wechat", "content": "A2"})
    team.carol.post(f"/leads/{c['id']}/follow-ups", {"method": "phone", "content": "C1"})
    contents = lambda s, q="": sorted(f["content"] for f in s.get(f"/follow-ups{q}").json_body["items"])  # noqa: E731
    assert contents(team.alice) == ["A1", "A2"]
    assert contents(team.alice, "?method=wechat") == ["A2"]
    assert contents(team.supervisor) == ["A1", "A2"]  # the team, not Carol
    assert contents(team.manager) == ["A1", "A2", "C1"]
    assert contents(team.admin, f"?consultant={team.carol.user['id']}") == ["C1"]
    assert team.alice.get(f"/follow-ups?consultant={team.carol.user['id']}").status_code == 403
    assert team.alice.get(f"/follow-ups?lead={c['id']}").status_code == 404
    future = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert contents(team.manager, f"?from={future}") == []


def test_plans_are_shared_handed_over_and_fulfilled(team):
    lead = team.alice.post("/leads", lead_body()).json_body
    first = team.alice.post(f"/leads/{lead['id']}/plans", {"planned_at": _at(hours=2), "purpose": "邀约试听"})
    assert first.status_code == 201 and first.json_body["other_plans"] == []
    second = team.supervisor.post(
        f"/leads/{lead['id']}/plans",
        {"planned_at": _at(hours=3), "purpose": "问预算", "assignee_id": team.alice.user["id"]},
    )
    # the second planner sees the first plan: no "many calls, many questions"
    assert [p["purpose"] for p in second.json_body["other_plans"]] == ["邀约试听"]
    plan_id = first.json_body["plan"]["id"]
    handed = team.alice.patch(f"/leads/{lead['id']}/plans/{plan_id}", {"assignee_id": team.bob.user["id"]})
    assert handed.json_body["assignee_name"] == "Bob"
    outside = team.alice.patch(f"/leads/{lead['id']}/plans/{plan_id}", {"assignee_id": team.carol.user["id"]})
    assert outside.status_code in (400, 403)
    done = team.alice.post(
        f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "约好了", "plan_id": plan_id}
    )
    assert done.status_code == 201
    plans = {p["id"]: p for p in team.alice.get(f"/leads/{lead['id']}").json_body["plans"]}
    assert plans[plan_id]["status"] == "done" and plans[plan_id]["follow_up_id"] == done.json_body["id"]
    again = team.alice.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "x", "plan_id": plan_id})
    assert again.status_code == 400


def test_a_follow_up_restarts_the_protection_period(team):
    with clock.frozen(datetime(2031, 5, 1, 2, 0, tzinfo=UTC)):
        alice = team.sign_in(team.alice.user["username"], team.alice.password)
        lead = alice.post("/leads", lead_body()).json_body
    with clock.frozen(datetime(2031, 5, 20, 2, 0, tzinfo=UTC)):
        alice = team.sign_in(team.alice.user["username"], team.alice.password)
        alice.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "还有兴趣"})
        assert alice.get(f"/leads/{lead['id']}").json_body["reclaim_on"] == "2031-06-19"


def test_today_in_shanghai_around_midnight(team):
    # GIVEN (school time Asia/Shanghai, UTC+8) a lead due at 23:30 on 1 June and one due at 00:30 on 2 June
    with clock.frozen(datetime(2032, 6, 1, 4, 0, tzinfo=UTC)):  # noon in Shanghai
        alice = team.sign_in(team.alice.user["username"], team.alice.password)
        late = alice.post("/leads", lead_body(name="晚上联系")).json_body
        early = alice.post("/leads", lead_body(name="凌晨联系")).json_body
        alice.post(
            f"/leads/{late['id']}/follow-ups",
            {"method": "phone", "content": "x", "next_follow_up_at": "2032-06-01T23:30:00"},
        )
        alice.post(
            f"/leads/{early['id']}/follow-ups",
            {"method": "phone", "content": "x", "next_follow_up_at": "2032-06-02T00:30:00+08:00"},
        )
        plan = alice.post(f"/leads/{early['id']}/plans", {"planned_at": "2032-06-01T20:00:00", "purpose": "回电"})
        assert plan.status_code == 201
    # WHEN it is 23:50 on 1 June in Shanghai (15:50 UTC)
    with clock.frozen(datetime(2032, 6, 1, 15, 50, tzinfo=UTC)):
        alice = team.sign_in(team.alice.user["username"], team.alice.password)
        today = alice.get("/dashboard/today").json_body
    # THEN only the 23:30 lead is due today, and the 20:00 plan is due
    assert today["date"] == "2032-06-01"
    assert [i["name"] for i in today["contacts_due"]["items"]] == ["晚上联系"]
    assert today["contacts_overdue"]["count"] == 0
    assert [p["purpose"] for p in today["plans_due"]["items"]] == ["回电"]
    # WHEN it is 00:10 on 2 June in Shanghai (still 1 June in UTC)
    with clock.frozen(datetime(2032, 6, 1, 16, 10, tzinfo=UTC)):
        alice = team.sign_in(team.alice.user["username"], team.alice.password)
        today = alice.get("/dashboard/today").json_body
        supervisor = team.sign_in(team.supervisor.user["username"], team.supervisor.password)
        with telemetry.record() as rec:
            team_today = supervisor.get("/dashboard/today").json_body
    # THEN the 23:30 lead is overdue and the 00:30 one is due today
    assert today["date"] == "2032-06-02"
    assert [i["name"] for i in today["contacts_due"]["items"]] == ["凌晨联系"]
    assert [i["name"] for i in today["contacts_overdue"]["items"]] == ["晚上联系"]
    # AND the supervisor sees the team's work, in a bounded number of Queries and no Scan
    assert {i["name"] for i in team_today["contacts_overdue"]["items"]} >= {"晚上联系"}
    assert "Scan" not in rec.operations
    members = 3  # the supervisor, Alice, Bob
    # the team lookup, then for each member: leads due, plans due, appointments today
    assert rec.operations.count("Query") == 1 + 3 * members


def test_a_supervisor_or_manager_picks_one_consultants_work_for_the_day(team, other_school):
    from zoneinfo import ZoneInfo

    at = clock.now() + timedelta(hours=1)
    day = at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()  # the school's day of that time
    for who, name in ((team.alice, "Alice的客户"), (team.bob, "Bob的客户")):
        lead = who.post("/leads", lead_body(name=name)).json_body
        body = {"method": "phone", "content": "x", "next_follow_up_at": at.isoformat()}
        assert who.post(f"/leads/{lead['id']}/follow-ups", body).status_code == 201

    def due(session, consultant=None):
        picked = f"&consultant_id={consultant.user['id']}" if consultant else ""
        answer = session.get(f"/dashboard/today?date={day}{picked}")
        assert answer.status_code == 200, answer.body
        return {i["name"] for i in answer.json_body["contacts_due"]["items"]}

    # the whole team's work by default, one consultant's when picked
    assert due(team.supervisor) == {"Alice的客户", "Bob的客户"}
    assert due(team.supervisor, team.alice) == {"Alice的客户"}
    assert due(team.manager, team.bob) == {"Bob的客户"}
    # a consultant may not look at a colleague's day; nobody may pick staff outside their reach
    refused = team.alice.get(f"/dashboard/today?consultant_id={team.bob.user['id']}")
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "ROLE_FORBIDDEN"
    outside = team.supervisor.get(f"/dashboard/today?consultant_id={team.carol.user['id']}")
    assert outside.status_code == 404 and outside.json_body["error"]["code"] == "USER_NOT_FOUND"
    stranger = other_school.staff("consultant")
    elsewhere = team.manager.get(f"/dashboard/today?consultant_id={stranger.user['id']}")
    assert elsewhere.status_code == 404 and elsewhere.json_body["error"]["code"] == "USER_NOT_FOUND"
