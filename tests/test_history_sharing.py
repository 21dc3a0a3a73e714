"""The sharing policy (issue 19, part 6): the school's `history_visibility` decides who may
read a lead's follow-up history (GET /follow-ups): owner_team (as before: whoever sees the
lead), campus (every consultant and supervisor of its campus) or school (all staff but
teachers). It never opens the lead's page or its phones, nor a lead in the recycle bin."""

from __future__ import annotations

import pytest

from tests.test_leads import lead_body


@pytest.fixture
def centre(school):
    """South (the fixture's campus): Alice and Bob in a supervisor's team, Carol outside it.
    North: Dave, a consultant, and its front desk. Alice's lead has two follow-ups, Carol's one."""
    school.north = school.admin.post("/campuses", {"name": "北山校区"}).json_body
    school.supervisor = school.staff("supervisor", display_name="主管")
    school.alice = school.staff("consultant", display_name="Alice", supervisor_id=school.supervisor.user["id"])
    school.carol = school.staff("consultant", display_name="Carol")
    school.dave = school.staff("consultant", display_name="Dave", campus_ids=[school.north["id"]])
    school.north_desk = school.staff("frontdesk", campus_ids=[school.north["id"]])
    school.teacher = school.staff("teacher")
    school.lead = school.alice.post("/leads", lead_body(name="王小明", phone="13800138011")).json_body
    school.other = school.carol.post("/leads", lead_body(name="李小红")).json_body
    for who, lead, content in (
        (school.alice, school.lead, "约周六试听"),
        (school.alice, school.lead, "家长说再考虑"),
        (school.carol, school.other, "C1"),
    ):
        made = who.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": content})
        assert made.status_code == 201, made.body
    return school


def _contents(session, query: str) -> list[str] | int:
    answer = session.get(f"/follow-ups{query}")
    if answer.status_code != 200:
        return answer.status_code
    return sorted(f["content"] for f in answer.json_body["items"])


def _policy(school, value: str) -> None:
    answer = school.admin.patch("/settings/leads", {"history_visibility": value})
    assert answer.status_code == 200, answer.body
    assert answer.json_body["history_visibility"] == value


ALICES = ["家长说再考虑", "约周六试听"]


def test_by_default_only_those_who_see_the_lead_read_its_history(centre):
    assert centre.admin.get("/settings/leads").json_body["history_visibility"] == "owner_team"
    lead = f"?lead={centre.lead['id']}"
    assert _contents(centre.alice, lead) == ALICES
    assert _contents(centre.supervisor, lead) == ALICES  # Alice's supervisor
    assert _contents(centre.carol, lead) == 404  # a colleague outside the team
    assert _contents(centre.dave, lead) == 404
    assert _contents(centre.carol, f"?campus={centre.campus['id']}") == ["C1"]  # still only her own
    assert _contents(centre.carol, f"?consultant={centre.alice.user['id']}") == 403


def test_only_an_admin_sets_the_policy_and_only_to_a_known_value(centre):
    bad = centre.admin.patch("/settings/leads", {"history_visibility": "everyone"})
    assert bad.status_code == 400 and bad.json_body["error"]["details"][0]["field"] == "history_visibility"
    manager = centre.staff("manager")
    assert manager.patch("/settings/leads", {"history_visibility": "school"}).status_code == 403
    assert centre.admin.get("/settings/leads").json_body["history_visibility"] == "owner_team"
    # the other lead settings are kept
    centre.admin.patch("/settings/leads", {"protection_days": 12})
    _policy(centre, "campus")
    assert centre.admin.get("/settings/leads").json_body["protection_days"] == 12


def test_campus_lets_the_campus_coordinators_read_the_history_but_never_the_lead_or_its_phones(centre):
    _policy(centre, "campus")
    lead = centre.lead["id"]
    assert _contents(centre.carol, f"?lead={lead}") == ALICES
    follow_up = centre.carol.get(f"/follow-ups?lead={lead}").json_body["items"][0]
    assert follow_up["lead_name"] == "王小明" and "13800138011" not in str(follow_up) and "8011" not in str(follow_up)
    # the history only: not the lead's page, its phones, its change log or a change of it
    assert centre.carol.get(f"/leads/{lead}").status_code == 404
    assert centre.carol.post(f"/leads/{lead}/reveal-phone").status_code == 404
    assert centre.carol.get(f"/leads/{lead}/history").status_code == 404
    assert centre.carol.post(f"/leads/{lead}/follow-ups", {"method": "phone", "content": "x"}).status_code == 404
    # the campus's history as a list, and one colleague's within the campus
    assert _contents(centre.carol, f"?campus={centre.campus['id']}") == ["C1", *ALICES]
    assert _contents(centre.carol, f"?consultant={centre.alice.user['id']}") == ALICES
    # another campus's coordinator reads nothing of it
    assert _contents(centre.dave, f"?lead={lead}") == 404
    assert _contents(centre.dave, f"?campus={centre.campus['id']}") == []
    assert _contents(centre.dave, f"?consultant={centre.alice.user['id']}") == []
    assert _contents(centre.north_desk, f"?lead={lead}") == 404
    assert _contents(centre.teacher, f"?lead={lead}") == 404
    # a lead in the recycle bin is shared with nobody new
    assert centre.admin.delete(f"/leads/{lead}").status_code in (200, 204)
    assert _contents(centre.carol, f"?lead={lead}") == 404


def test_school_lets_every_campus_read_the_history_and_going_back_ends_it_at_once(centre):
    _policy(centre, "school")
    lead = f"?lead={centre.lead['id']}"
    assert _contents(centre.dave, lead) == ALICES
    assert _contents(centre.north_desk, lead) == ALICES
    assert _contents(centre.dave, f"?campus={centre.campus['id']}") == ["C1", *ALICES]
    assert _contents(centre.north_desk, f"?consultant={centre.alice.user['id']}") == ALICES
    assert centre.dave.get(f"/leads/{centre.lead['id']}").status_code == 404
    assert centre.dave.post(f"/leads/{centre.lead['id']}/reveal-phone").status_code == 404
    assert _contents(centre.teacher, lead) == 404
    assert _contents(centre.teacher, f"?campus={centre.campus['id']}") == 403
    # Dave's own list stays his own (the campus list is asked for by name)
    assert _contents(centre.dave, "") == []
    _policy(centre, "owner_team")
    assert _contents(centre.dave, lead) == 404
    assert _contents(centre.carol, lead) == 404


def test_no_policy_reaches_another_school(centre, other_school):
    other_school.admin.patch("/settings/leads", {"history_visibility": "school"})
    _policy(centre, "school")
    stranger = other_school.staff("consultant")
    assert _contents(stranger, f"?lead={centre.lead['id']}") == 404
    assert _contents(stranger, f"?campus={centre.campus['id']}") == []
    assert _contents(stranger, f"?consultant={centre.alice.user['id']}") == []
