"""A plan handed to a teammate can be done (issue 14, item 2): whoever is assigned an open
plan may read the lead and record the follow-up that completes it, until the plan is done,
handed on or cancelled; each such access is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain import clock
from tests.test_leads import lead_body


@pytest.fixture
def crew(school):
    """Alice owns the lead; Bob and Dave are her teammates (same supervisor, same campus)."""
    school.supervisor = school.staff("supervisor", display_name="主管老周")
    boss = school.supervisor.user["id"]
    school.alice = school.staff("consultant", display_name="顾问Alice", supervisor_id=boss)
    school.bob = school.staff("consultant", display_name="顾问Bob", supervisor_id=boss)
    school.dave = school.staff("consultant", display_name="顾问Dave", supervisor_id=boss)
    school.lead = school.alice.post("/leads", lead_body(name="交接的孩子", phone="13800139001")).json_body
    return school


def _plan(crew, purpose="邀约周六试听"):
    at = (clock.now() + timedelta(hours=2)).isoformat()
    response = crew.alice.post(f"/leads/{crew.lead['id']}/plans", {"planned_at": at, "purpose": purpose})
    assert response.status_code == 201, response.body
    return response.json_body["plan"]


def _hand(crew, plan, to):
    response = crew.alice.patch(f"/leads/{crew.lead['id']}/plans/{plan['id']}", {"assignee_id": to.user["id"]})
    assert response.status_code == 200, response.body
    return response.json_body


def _can_work_on(session, lead_id) -> dict[str, int]:
    return {
        "lead": session.get(f"/leads/{lead_id}").status_code,
        "follow_ups": session.get(f"/follow-ups?lead={lead_id}").status_code,
    }


def test_a_teammate_handed_a_plan_reads_the_lead_and_completes_it_then_loses_access(crew):
    lead_id = crew.lead["id"]
    # GIVEN Bob cannot see Alice's lead
    assert _can_work_on(crew.bob, lead_id) == {"lead": 404, "follow_ups": 404}
    # WHEN Alice hands him a plan on it
    plan = _hand(crew, _plan(crew), crew.bob)
    # THEN he may read the lead, its follow-ups, its phone, and record the completing follow-up
    assert _can_work_on(crew.bob, lead_id) == {"lead": 200, "follow_ups": 200}
    detail = crew.bob.get(f"/leads/{lead_id}").json_body
    assert detail["name"] == "交接的孩子" and [p["purpose"] for p in detail["plans"]] == ["邀约周六试听"]
    assert crew.bob.post(f"/leads/{lead_id}/reveal-phone").json_body["guardians"][0]["phones"][0]["e164"] == (
        "+8613800139001"
    )
    done = crew.bob.post(
        f"/leads/{lead_id}/follow-ups", {"method": "phone", "content": "约好周六上午试听", "plan_id": plan["id"]}
    )
    assert done.status_code == 201, done.body
    plans = {p["id"]: p for p in crew.alice.get(f"/leads/{lead_id}").json_body["plans"]}
    assert plans[plan["id"]]["status"] == "done" and plans[plan["id"]]["follow_up_id"] == done.json_body["id"]
    # AND with the plan done his access ends
    assert _can_work_on(crew.bob, lead_id) == {"lead": 404, "follow_ups": 404}
    again = crew.bob.post(f"/leads/{lead_id}/follow-ups", {"method": "phone", "content": "再打一次"})
    assert again.status_code == 404 and again.json_body["error"]["code"] == "LEAD_NOT_FOUND"
    # AND the audit names each access through the plan
    entries = crew.admin.get(f"/audit?lead={lead_id}&limit=100").json_body["items"]
    through_plan = sorted(e["route"] for e in entries if e["action"] == "plan_access")
    assert through_plan == sorted(
        [
            "GET /leads/{lead_id}",
            "GET /leads/{lead_id}",
            "GET /follow-ups?lead=",
            "POST /leads/{lead_id}/reveal-phone",
            "POST /leads/{lead_id}/follow-ups",
        ]
    )
    assert {e["username"] for e in entries if e["action"] == "plan_access"} == {crew.bob.user["username"]}
    assert all(plan["id"] in e["params"]["plan_ids"] for e in entries if e["action"] == "plan_access")
    # the reads through the plan still count as customer-data reads
    reads = [e for e in entries if e["action"] == "read" and e["username"] == crew.bob.user["username"]]
    assert [(e["route"], e["weight"]) for e in reads if e["status"] == 200] == [("/leads/{lead_id}", 1)] * 2


def test_handing_a_plan_on_revokes_the_previous_assignee(crew):
    lead_id = crew.lead["id"]
    plan = _hand(crew, _plan(crew), crew.bob)
    assert _can_work_on(crew.bob, lead_id)["lead"] == 200
    _hand(crew, plan, crew.dave)
    assert _can_work_on(crew.bob, lead_id) == {"lead": 404, "follow_ups": 404}
    late = crew.bob.post(f"/leads/{lead_id}/follow-ups", {"method": "phone", "content": "x", "plan_id": plan["id"]})
    assert late.status_code == 404
    assert _can_work_on(crew.dave, lead_id) == {"lead": 200, "follow_ups": 200}
    # a cancelled plan grants nothing either
    cancelled = crew.alice.patch(f"/leads/{lead_id}/plans/{plan['id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200
    assert _can_work_on(crew.dave, lead_id) == {"lead": 404, "follow_ups": 404}


def test_access_lasts_while_any_of_ones_plans_on_the_lead_is_open(crew):
    lead_id = crew.lead["id"]
    first = _hand(crew, _plan(crew, "问预算"), crew.bob)
    second = _hand(crew, _plan(crew, "邀约参观"), crew.bob)
    url = f"/leads/{lead_id}/follow-ups"
    assert crew.bob.post(url, {"method": "phone", "content": "预算两万", "plan_id": first["id"]}).status_code == 201
    assert _can_work_on(crew.bob, lead_id)["lead"] == 200  # the second plan is still his
    assert crew.bob.post(url, {"method": "phone", "content": "周日参观", "plan_id": second["id"]}).status_code == 201
    assert _can_work_on(crew.bob, lead_id)["lead"] == 404


def test_a_plan_grants_only_the_work_on_it(crew):
    lead_id = crew.lead["id"]
    _hand(crew, _plan(crew), crew.bob)
    # the follow-up must be the one completing his plan: 400 naming the field, nothing written
    loose = crew.bob.post(f"/leads/{lead_id}/follow-ups", {"method": "phone", "content": "顺便问问"})
    assert loose.status_code == 400 and loose.json_body["error"]["details"][0]["field"] == "plan_id"
    assert crew.alice.get(f"/leads/{lead_id}").json_body["follow_ups"] == []
    # he may not change the lead, take it or plan more on it
    assert crew.bob.patch(f"/leads/{lead_id}", {"status": "intent"}).status_code == 404
    assert crew.bob.post(f"/leads/{lead_id}/claim").status_code == 404
    at = (clock.now() + timedelta(hours=3)).isoformat()
    assert crew.bob.post(f"/leads/{lead_id}/plans", {"planned_at": at, "purpose": "x"}).status_code == 404
    # nor does the lead join his lists
    assert lead_id not in {i["id"] for i in crew.bob.get("/leads").json_body["items"]}
