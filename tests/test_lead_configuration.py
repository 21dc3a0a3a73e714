"""Per-school dictionaries, lead settings, assessments and the protection period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.db import telemetry
from chalicelib.domain import clock
from tests.test_leads import lead_body


def test_schools_start_with_the_default_lists_in_chinese(school):
    statuses = school.admin.get("/settings/dictionaries/statuses").json_body
    assert [(e["key"], e["label"]) for e in statuses["entries"]][:3] == [
        ("potential", "潜在"),
        ("intent", "意向"),
        ("quasi", "准客户"),
    ]
    assert school.admin.get("/settings/dictionaries/colours").json_body["error"]["details"][0]["field"] == "kind"


def test_statuses_say_whom_to_contact_and_blacklist_defaults_to_none(school):
    from chalicelib.db import config as config_db

    statuses = school.admin.get("/settings/dictionaries/statuses").json_body["entries"]
    assert {e["key"]: e["contact"] for e in statuses} == {
        "potential": "all",
        "intent": "all",
        "quasi": "all",
        "signed": "all",
        "lost": "all",
        "blacklist": "none",
    }
    # a list stored before statuses had `contact` reads as the defaults
    pairs = (("potential", "潜在"), ("blacklist", "黑名单"), ("退订", "退订"))
    old = [{"key": key, "label": label} for key, label in pairs]
    config_db.put_dictionary(school.slug, "statuses", old, must_not_use=set())
    read = school.admin.get("/settings/dictionaries/statuses").json_body["entries"]
    assert [(e["key"], e["contact"]) for e in read] == [("potential", "all"), ("blacklist", "none"), ("退订", "all")]
    read[2]["contact"] = "transactional"
    saved = school.admin.put("/settings/dictionaries/statuses", {"entries": read}).json_body["entries"]
    assert [e["contact"] for e in saved] == ["all", "none", "transactional"]
    bad = school.admin.put("/settings/dictionaries/statuses", {"entries": [{**read[0], "contact": "sometimes"}]})
    assert bad.status_code == 400 and "contact" in str(bad.json_body["error"]["details"])
    entries = [{"key": "x", "label": "x", "contact": "none"}]
    sources = school.admin.put("/settings/dictionaries/sources", {"entries": entries})
    assert sources.status_code == 400 and "statuses only" in sources.json_body["error"]["details"][0]["message"]


def test_an_admin_defines_sources_with_sub_sources_and_leads_must_use_them(school):
    consultant = school.staff("consultant")
    entries = [
        {"key": "online", "label": "线上"},
        {"key": "douyin", "label": "抖音", "parent": "online"},
        {"key": "flyer", "label": "传单"},
    ]
    response = school.admin.put("/settings/dictionaries/sources", {"entries": entries})
    assert response.status_code == 200
    ok = consultant.post("/leads", lead_body(source="online", sub_source="douyin"))
    assert ok.status_code == 201
    wrong_parent = consultant.post("/leads", lead_body(source="flyer", sub_source="douyin"))
    assert wrong_parent.json_body["error"]["details"][0]["field"] == "sub_source"
    unknown = consultant.post("/leads", lead_body(source="website"))  # a default the school replaced
    assert unknown.status_code == 400 and unknown.json_body["error"]["details"][0]["field"] == "source"
    assert consultant.put("/settings/dictionaries/sources", {"entries": entries}).status_code == 403


def test_values_in_use_can_be_retired_but_not_deleted(school):
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(importance="high")).json_body
    without_high = [{"key": "normal", "label": "一般"}, {"key": "low", "label": "低"}]
    refused = school.admin.put("/settings/dictionaries/importance", {"entries": without_high})
    assert refused.status_code == 409
    assert refused.json_body["error"]["code"] == "VALUE_IN_USE"
    assert refused.json_body["error"]["details"][0]["key"] == "high"
    retired = [{"key": "high", "label": "重要", "retired": True}, *without_high]
    assert school.admin.put("/settings/dictionaries/importance", {"entries": retired}).status_code == 200
    # the old lead keeps its value and can still be edited; a new lead cannot choose it
    assert consultant.patch(f"/leads/{lead['id']}", {"notes": "还在考虑"}).status_code == 200
    assert consultant.post("/leads", lead_body(importance="high")).status_code == 400
    # unused values can simply be removed
    only_high = {"entries": [{"key": "high", "label": "重要", "retired": True}]}
    assert school.admin.put("/settings/dictionaries/importance", only_high).status_code == 200
    used = school.admin.get("/settings/dictionaries/importance").json_body["used"]
    assert used == ["high"]


QUESTIONNAIRES = {
    "questionnaires": [
        {
            "id": "economy",
            "title": "经济能力",
            "weight": 2,
            "questions": [
                {
                    "id": "budget",
                    "text": "每月教育预算？",
                    "options": [
                        {"id": "low", "label": "1000以下", "score": 0},
                        {"id": "mid", "label": "1000-3000", "score": 20},
                        {"id": "high", "label": "3000以上", "score": 40},
                    ],
                }
            ],
        },
        {
            "id": "attitude",
            "title": "对早教的态度",
            "weight": 1,
            "questions": [
                {
                    "id": "value",
                    "text": "重视程度？",
                    "options": [
                        {"id": "no", "label": "无所谓", "score": 0},
                        {"id": "yes", "label": "非常重视", "score": 30},
                    ],
                }
            ],
        },
    ],
    "levels": [{"level": "C", "min_score": 0}, {"level": "B", "min_score": 40}, {"level": "A", "min_score": 100}],
}


def test_answering_an_assessment_moves_the_level_when_a_threshold_is_crossed(school):
    assert school.admin.put("/settings/assessment", QUESTIONNAIRES).status_code == 200
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body()).json_body
    first = consultant.post(
        f"/leads/{lead['id']}/assessments", {"questionnaire_id": "economy", "answers": {"budget": "mid"}}
    ).json_body
    assert (first["total"], first["level"], first["level_changed"]) == (40, "B", True)
    second = consultant.post(
        f"/leads/{lead['id']}/assessments", {"questionnaire_id": "attitude", "answers": {"value": "yes"}}
    ).json_body
    assert (second["total"], second["level"]) == (70, "B") and second["level_changed"] is False
    third = consultant.post(
        f"/leads/{lead['id']}/assessments", {"questionnaire_id": "economy", "answers": {"budget": "high"}}
    ).json_body
    assert (third["total"], third["level"], third["previous_level"]) == (110, "A", "B")
    detail = consultant.get(f"/leads/{lead['id']}").json_body
    assert detail["level"] == "A"
    changes = [h for h in detail["history"] if h["action"] == "level_changed"]
    assert [(c["details"]["from"], c["details"]["to"]) for c in changes] == [(None, "B"), ("B", "A")]
    assert "110" in changes[-1]["details"]["reason"]


def test_assessment_answers_are_validated(school):
    school.admin.put("/settings/assessment", QUESTIONNAIRES)
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body()).json_body
    url = f"/leads/{lead['id']}/assessments"
    bad = consultant.post(url, {"questionnaire_id": "economy", "answers": {"budget": "gold"}})
    assert bad.json_body["error"]["details"][0]["field"] == "answers.budget"
    nope = consultant.post(url, {"questionnaire_id": "iq", "answers": {"x": "y"}})
    assert nope.json_body["error"]["details"][0]["field"] == "questionnaire_id"
    broken = school.admin.request(
        "PUT",
        "/settings/assessment",
        {"questionnaires": [], "levels": [{"level": "A", "min_score": 1}, {"level": "A", "min_score": 2}]},
    )
    assert broken.status_code == 400


def test_the_protection_period_returns_untouched_leads_to_the_pool(school):
    from chalicelib.domain import leads

    school.admin.patch("/settings/leads", {"protection_days": 10})
    consultant = school.staff("consultant")
    start = datetime(2030, 1, 5, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    with clock.frozen(start):
        consultant = school.sign_in(consultant.user["username"], consultant.password)  # a token of that day
        lead = consultant.post("/leads", lead_body()).json_body
    assert lead["reclaim_on"] == "2030-01-15"
    # the day before, nothing happens; on the day, it returns to the pool, recorded
    # 23:00 on 14 January in Shanghai: not yet
    with telemetry.record() as rec:
        assert leads.reclaim_expired(datetime(2030, 1, 14, 15, 0, tzinfo=UTC))["released"] == 0
    assert "Scan" not in rec.operations
    assert rec.operations.count("Query") == 3 * 4  # the DUE buckets of three days, four shards each
    # 00:05 on 15 January in Shanghai (still the 14th in UTC): it goes back to the pool
    with clock.frozen(datetime(2030, 1, 14, 16, 5, tzinfo=UTC)):
        result = leads.reclaim_expired(clock.now())
    assert result["released"] >= 1
    after = school.admin.get(f"/leads/{lead['id']}").json_body
    assert after["owner_id"] is None and after["reclaim_on"] is None
    assert after["history"][-1]["action"] == "reclaimed" and after["history"][-1]["by"] is None
    # a lead followed up meanwhile would have a later date: the job only reads the day's bucket


def test_the_protection_period_ends_at_midnight_in_each_schools_own_time_zone(client):
    from chalicelib.domain import leads
    from tests.conftest import School

    # GIVEN a school in Los Angeles whose consultant took a lead at noon on 1 March 2030
    la = School(client, timezone="America/Los_Angeles")
    la.admin.patch("/settings/leads", {"protection_days": 10})
    consultant = la.staff("consultant")
    with clock.frozen(datetime(2030, 3, 1, 20, 0, tzinfo=UTC)):
        consultant = la.sign_in(consultant.user["username"], consultant.password)
        lead = consultant.post("/leads", lead_body()).json_body
    assert lead["reclaim_on"] == "2030-03-11"
    # WHEN it is 06:30 UTC on 11 March: 23:30 on the 10th in Los Angeles (already the 11th in Shanghai)
    leads.reclaim_expired(datetime(2030, 3, 11, 6, 30, tzinfo=UTC))
    # THEN the lead is still the consultant's
    assert la.admin.get(f"/leads/{lead['id']}").json_body["owner_id"] == consultant.user["id"]
    # AND an hour later, past midnight in Los Angeles, it is back in the pool
    leads.reclaim_expired(datetime(2030, 3, 11, 7, 30, tzinfo=UTC))
    assert la.admin.get(f"/leads/{lead['id']}").json_body["owner_id"] is None


def test_claiming_again_restarts_the_protection_period(school):
    consultant = school.staff("consultant")
    with clock.frozen(datetime(2030, 3, 1, 1, 0, tzinfo=UTC)):
        admin = school.sign_in("admin", school.admin_password)
        lead = admin.post("/leads", lead_body(campus_id=school.campus["id"], to_pool=True)).json_body
        assert lead["reclaim_on"] is None
    with clock.frozen(datetime(2030, 3, 2, 1, 0, tzinfo=UTC)):
        consultant = school.sign_in(consultant.user["username"], consultant.password)
        claimed = consultant.post(f"/leads/{lead['id']}/claim").json_body
    assert claimed["reclaim_on"] == (date(2030, 3, 2) + timedelta(days=30)).isoformat()


def test_only_an_admin_changes_lead_settings(school):
    manager = school.staff("manager")
    assert manager.patch("/settings/leads", {"protection_days": 1}).status_code == 403
    assert school.admin.patch("/settings/leads", {"protection_days": 0}).status_code == 400
    updated = school.admin.patch("/settings/leads", {"max_leads_per_consultant": 3}).json_body
    assert updated == {
        "protection_days": 30,
        "reclaim_warning_days": 3,
        "max_leads_per_consultant": 3,
        "attendance_opens_minutes_before": 60,
        "export_roles": ["manager", "admin"],
        "import_roles": ["manager", "admin"],
        "history_visibility": "owner_team",  # who reads follow-up history: tests/test_history_sharing.py
        "erase_untouched_after_years": None,  # the retention (off): tests/test_privacy.py
    }
    assert manager.get("/settings/leads").json_body["max_leads_per_consultant"] == 3
