"""The printable customer record (客户档案, issue 19 part 8): GET /leads/{id}?format=html shows
the lead's details, guardians (phones masked), contracts, cards and latest follow-ups, for
whoever may open the lead's page, escaped, bounded, and weighed like the JSON answer."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest

from chalicelib.db import telemetry
from chalicelib.domain import clock
from chalicelib.domain.leads import printing
from tests.test_cards import _card, member_with_contract
from tests.test_lead_page_reads import _rru, _seed_follow_ups
from tests.test_leads import lead_body
from tests.test_scraping import _weights
from tests.test_streams import Tap, lambda_like


@pytest.fixture
def crew(school):
    """Alice (consultant) owns a signed learner with a card and a follow-up."""
    school.alice = school.staff("consultant", display_name="顾问Alice")
    school.front = school.staff("frontdesk")
    lead, contract = member_with_contract(school.alice, name="王小明")
    school.lead, school.contract = lead, contract
    school.card = _card(school.front, lead["id"], [contract["id"]])
    answer = school.alice.post(
        f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "家长想周六来试听英语课"}
    )
    assert answer.status_code == 201, answer.body
    return school


def _record(session, lead_id):
    return session.get(f"/leads/{lead_id}?format=html")


def test_the_record_shows_details_guardians_contracts_cards_and_follow_ups(crew):
    # WHEN Alice prints her learner's record
    answer = _record(crew.alice, crew.lead["id"])
    # THEN it is a Chinese HTML page with every section
    assert answer.status_code == 200, answer.body
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    page = answer.body.decode("utf-8")
    assert "<title>客户档案 · 王小明</title>" in page
    assert "王妈妈" in page  # the guardian
    phone = crew.lead["guardians"][0]["phones"][0]  # masked as the lead page shows it
    assert "****" in phone and phone in page
    assert '<td class="num">100.00</td>' in page and "未付款" in page  # the contract's price, not paid yet
    assert crew.card["number"] in page and '<td class="num">10.00</td>' in page  # the card and its credits
    assert "家长想周六来试听英语课" in page and "电话" in page  # the follow-up, its method's label
    # print styles: A4, a page per section, no navigation
    assert "size: A4" in page and "break-before: page" in page and "<nav" not in page
    assert "仅显示最近" not in page  # one follow-up: nothing left out


def test_the_json_answer_is_unchanged_and_other_formats_are_refused(crew):
    lead_id = crew.lead["id"]
    plain = crew.alice.get(f"/leads/{lead_id}")
    assert plain.status_code == 200 and plain.headers["Content-Type"] == "application/json"
    explicit = crew.alice.get(f"/leads/{lead_id}?format=json").json_body
    assert explicit == plain.json_body and explicit["name"] == "王小明"
    refused = crew.alice.get(f"/leads/{lead_id}?format=pdf")
    assert refused.status_code == 400 and refused.json_body["error"]["details"][0]["field"] == "format"


def test_names_and_texts_are_escaped(school):
    alice = school.staff("consultant")
    lead = alice.post("/leads", lead_body(name="<script>alert(1)</script>", notes='"><img src=x onerror=alert(2)>'))
    lead = lead.json_body
    alice.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "<b>粗体</b> & 你好"})
    page = _record(alice, lead["id"]).body.decode("utf-8")
    assert "<script>alert" not in page and "<img" not in page and "<b>" not in page
    assert html.escape("<script>alert(1)</script>") in page
    assert "&lt;b&gt;粗体&lt;/b&gt; &amp; 你好" in page


def test_only_who_may_open_the_lead_may_print_it(crew, other_school):
    lead_id = crew.lead["id"]
    other_campus = crew.admin.post("/campuses", {"name": "福田校区"}).json_body
    outsiders = {
        "another consultant": crew.staff("consultant"),
        "a manager of another campus": crew.staff("manager", campus_ids=[other_campus["id"]]),
        "a teacher": crew.staff("teacher"),
        "another school's admin": other_school.admin,
    }
    for who, session in outsiders.items():
        answer = _record(session, lead_id)
        assert answer.status_code == 404, who
        assert answer.json_body["error"]["code"] == "LEAD_NOT_FOUND", who
    for who, session in {"manager": crew.staff("manager"), "admin": crew.admin, "front desk": crew.front}.items():
        assert _record(session, lead_id).status_code == 200, who


def test_a_teammate_holding_a_plan_prints_the_lead_without_its_money(crew):
    from datetime import timedelta

    boss = crew.staff("supervisor")
    alice = crew.staff("consultant", supervisor_id=boss.user["id"])
    bob = crew.staff("consultant", supervisor_id=boss.user["id"])
    lead, _ = member_with_contract(alice, name="交接的孩子")
    assert _record(bob, lead["id"]).status_code == 404
    at = (clock.now() + timedelta(hours=2)).isoformat()
    plan = alice.post(f"/leads/{lead['id']}/plans", {"planned_at": at, "purpose": "回访"}).json_body["plan"]
    handed = alice.patch(f"/leads/{lead['id']}/plans/{plan['id']}", {"assignee_id": bob.user["id"]})
    assert handed.status_code == 200, handed.body
    page = _record(bob, lead["id"]).body.decode("utf-8")
    assert "交接的孩子" in page and "无权查看合同" in page and "无权查看会员卡" in page
    assert "100.00" not in page


def test_a_long_history_prints_the_latest_200_and_says_there_are_more(school):
    alice = school.staff("consultant", display_name="顾问Alice")
    school.alice = alice
    lead = alice.post("/leads", lead_body(name="老客户")).json_body
    _seed_follow_ups(school, lead, printing.PRINTED_FOLLOW_UPS)
    with telemetry.record() as exactly:
        page = _record(alice, lead["id"]).body.decode("utf-8")
    assert page.count("电话沟通") == printing.PRINTED_FOLLOW_UPS and "仅显示最近" not in page
    _seed_follow_ups(school, lead, 100)  # 300 in all
    with telemetry.record() as more:
        page = _record(alice, lead["id"]).body.decode("utf-8")
    assert page.count("电话沟通") == printing.PRINTED_FOLLOW_UPS and "仅显示最近 200 条跟进" in page
    # bounded: Queries of the lead's partition (and GetItems, BatchGetItems), never a Scan
    assert "Scan" not in more.operations
    queries = [c for c in more.calls if c.operation == "Query"]
    assert all(c.params.get("Limit", 0) <= printing.PRINTED_FOLLOW_UPS + 1 for c in queries if "Limit" in c.params)
    assert _rru(more) <= 1.1 * _rru(exactly), (_rru(exactly), _rru(more))


def test_printing_weighs_one_record_like_the_json_answer(crew, dynamodb_endpoint, tmp_path):
    manager = crew.staff("manager")
    lead_id = crew.lead["id"]
    tap = Tap(dynamodb_endpoint, tmp_path, crew.slug)
    with clock.frozen(datetime.now(UTC).replace(second=5, microsecond=0)):
        assert _record(manager, lead_id).status_code == 200
        lambda_like(tap.drain())
    assert _weights(crew, manager.user["id"])["/leads/{lead_id}"] == 1


def test_printing_is_refused_once_the_read_window_is_spent(crew, dynamodb_endpoint, tmp_path):
    crew.admin.patch("/settings/security", {"reads_per_minute": 1})
    me = crew.staff("consultant")
    lead = me.post("/leads", lead_body(name="翻页的人的客户")).json_body
    tap = Tap(dynamodb_endpoint, tmp_path, crew.slug)
    with clock.frozen(datetime.now(UTC).replace(second=5, microsecond=0)):
        assert _record(me, lead["id"]).status_code == 200
        lambda_like(tap.drain())
        refused = _record(me, lead["id"])
    assert refused.status_code == 423 and refused.json_body["error"]["code"] == "READ_LIMIT_REACHED"
    assert "翻页的人的客户" not in refused.body.decode()
