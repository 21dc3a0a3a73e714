"""Referrals (转介绍): a member of staff as a referrer, the money referred leads sign (and
take back when a contract is voided), the ranking's orders, and who sees which names."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator

import pytest

from chalicelib.db import client as db_client
from chalicelib.streams import processor
from tests.test_busy import _cancelled, dynamodb_busy
from tests.test_leads import _phone, lead_body
from tests.test_streams import Tap, lambda_like, school_today


@pytest.fixture
def tap(dynamodb_endpoint, table, school, tmp_path):
    return Tap(dynamodb_endpoint, tmp_path, school.slug)


def _sign(who, lead_ids: list[str], price: str, discount: str = "0") -> dict:
    today = school_today()
    made = who.post(
        "/contracts",
        {
            "lead_ids": lead_ids,
            "credits": "10",
            "price": price,
            "discount": discount,
            "starts_on": today.isoformat(),
            "ends_on": today.replace(year=today.year + 1).isoformat(),
        },
    )
    assert made.status_code == 201, made.body
    return made.json_body


@contextlib.contextmanager
def _stream_busy() -> Iterator[list[str]]:
    """The stream processor's next transaction is cancelled as real DynamoDB cancels one
    that meets another (TransactionConflict), at botocore's HTTP level (as test_busy does)."""
    refused: list[str] = []
    events = db_client.client().meta.events

    def handler(request, **_kw):
        if refused:
            return None
        refused.append("TransactWriteItems")
        return _cancelled(len(json.loads(request.body or b"{}").get("TransactItems", [])) or 1, "TransactionConflict")

    events.register("before-send.dynamodb.TransactWriteItems", handler, unique_id="referrals-busy")
    try:
        yield refused
    finally:
        events.unregister("before-send.dynamodb.TransactWriteItems", unique_id="referrals-busy")


def _ranking(session, query: str = "") -> list[tuple]:
    answer = session.get(f"/reports/referrals{query}")
    assert answer.status_code == 200, answer.body
    return [(r["kind"], r["name"], r["referrals"], r["conversions"], r["amount"]) for r in answer.json_body["items"]]


def test_a_lead_names_the_member_of_staff_who_referred_it_and_unknown_or_foreign_staff_are_refused(
    school, other_school
):
    # GIVEN a teacher of the school and a consultant
    teacher = school.staff("teacher", display_name="张老师")
    alice = school.staff("consultant")
    # WHEN the consultant adds a lead the teacher referred
    made = alice.post("/leads", lead_body(name="老师介绍的", referrer_user_id=teacher.user["id"]))
    # THEN the lead names its referrer, on its page too
    assert made.status_code == 201, made.body
    assert (made.json_body["referrer_user_id"], made.json_body["referrer_lead_id"]) == (teacher.user["id"], None)
    page = alice.get(f"/leads/{made.json_body['id']}").json_body
    assert page["referrer_user_id"] == teacher.user["id"]
    # an unknown id, another school's member of staff, both kinds of referrer, a too long id: 400
    parent = alice.post("/leads", lead_body(name="家长")).json_body
    phone = _phone()
    refused = [
        lead_body(phone=phone, referrer_user_id="01NOSUCHUSER00000000000000"),
        lead_body(phone=phone, referrer_user_id=other_school.admin.user["id"]),
        lead_body(phone=phone, referrer_user_id=teacher.user["id"], referrer_lead_id=parent["id"]),
        lead_body(phone=phone, referrer_user_id="x" * 41),
    ]
    for body in refused:
        answer = alice.post("/leads", body)
        assert answer.status_code == 400, answer.body
        assert answer.json_body["error"]["details"][0]["field"].endswith("referrer_user_id")
    # nothing was half written: the phone of the refused leads is free
    assert alice.post("/leads", lead_body(phone=phone)).status_code == 201


def test_staff_and_lead_referrers_rank_with_their_kind_name_and_the_money_their_referrals_signed(school, tap):
    # GIVEN a parent who referred two friends and a teacher who referred three
    alice = school.staff("consultant", display_name="Alice")
    teacher = school.staff("teacher", display_name="王老师")
    parent = alice.post("/leads", lead_body(name="金牌家长")).json_body
    by_parent = [
        alice.post("/leads", lead_body(name=f"家长朋友{i}", referrer_lead_id=parent["id"])).json_body for i in range(2)
    ]
    by_teacher = [
        alice.post("/leads", lead_body(name=f"老师学生{i}", referrer_user_id=teacher.user["id"])).json_body
        for i in range(3)
    ]
    walk_in = alice.post("/leads", lead_body(name="自然到访")).json_body
    # WHEN one of the parent's friends signs 3000 less a 200 discount, one of the teacher's
    # 1000, and one of the teacher's shares a contract of 900.01 with a walk-in learner
    _sign(alice, [by_parent[0]["id"]], "3000.00", "200.00")
    _sign(alice, [by_teacher[0]["id"]], "1000.00")
    _sign(alice, [by_teacher[1]["id"], walk_in["id"]], "900.01")
    lambda_like(tap.drain(), batch_size=25)

    # THEN the money is the net price, a shared contract's even share (the odd fen to the first)
    report = school.admin.get("/reports/referrals").json_body
    assert (report["referrers"], report["referrals"], report["conversions"], report["amount"]) == (
        2,
        5,
        3,
        "4250.01",
    )
    # the default order: most signed, then most referred, then money
    assert _ranking(school.admin) == [
        ("staff", "王老师", 3, 2, "1450.01"),
        ("lead", "金牌家长", 2, 1, "2800.00"),
    ]
    assert _ranking(school.admin, "?sort=amount")[0][:2] == ("lead", "金牌家长")
    assert _ranking(school.admin, "?sort=referred")[0][:2] == ("staff", "王老师")
    assert _ranking(school.admin, "?sort=signed&limit=1") == [("staff", "王老师", 3, 2, "1450.01")]
    staff_row = school.admin.get("/reports/referrals").json_body["items"][0]
    assert (staff_row["user_id"], staff_row["lead_id"]) == (teacher.user["id"], None)
    assert school.admin.get("/reports/referrals?sort=newest").status_code == 400
    # the workbook carries the money too, as data
    sheet = school.admin.get("/reports/referrals?format=xlsx", headers={"Accept": "*/*"})
    assert sheet.status_code == 200


def test_a_voided_contract_takes_its_money_back_and_replays_count_nothing_twice(school, tap):
    # GIVEN a teacher's referral signed twice
    alice = school.staff("consultant")
    manager = school.staff("manager")
    teacher = school.staff("teacher", display_name="李老师")
    friend = alice.post("/leads", lead_body(name="朋友", referrer_user_id=teacher.user["id"])).json_body
    kept = _sign(alice, [friend["id"]], "1200.00")
    wrong = _sign(alice, [friend["id"]], "500.00")
    records = tap.drain()
    lambda_like(records, batch_size=10)
    assert _ranking(school.admin) == [("staff", "李老师", 1, 1, "1700.00")]
    # WHEN the wrong one is voided
    voided = manager.post(f"/contracts/{wrong['id']}/void", {"reason": "录错了"})
    assert voided.status_code == 200, voided.body
    # a second void changes nothing (the contract is void already)
    assert manager.post(f"/contracts/{wrong['id']}/void", {"reason": "再来"}).status_code == 200
    more = tap.drain()
    lambda_like(more, batch_size=10)
    # THEN the period of its signing loses its money; the signing itself stays counted
    assert _ranking(school.admin) == [("staff", "李老师", 1, 1, "1200.00")]
    # AND the whole stream delivered again (at least once, as Lambda may) changes no figure
    lambda_like(records + more, batch_size=7)
    assert processor.handle({"Records": more}, None)["batchItemFailures"] == []
    assert _ranking(school.admin) == [("staff", "李老师", 1, 1, "1200.00")]
    assert kept["id"] != wrong["id"]


def test_money_signed_at_once_and_through_busy_transactions_is_counted_exactly_once(school, tap):
    # GIVEN six leads a parent referred
    alice = school.staff("consultant")
    parent = alice.post("/leads", lead_body(name="老带新")).json_body
    friends = [
        alice.post("/leads", lead_body(name=f"朋友{i}", referrer_lead_id=parent["id"])).json_body for i in range(6)
    ]
    # WHEN five sign at the same moment, and the sixth's signing meets a busy transaction
    failures: list = []

    def sign(lead_id: str) -> None:
        try:
            _sign(alice, [lead_id], "100.00")
        except AssertionError as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=sign, args=(f["id"],)) for f in friends[:5]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with dynamodb_busy(times=1) as refused:
        _sign(alice, [friends[5]["id"]], "100.00")
    assert refused == ["TransactWriteItems"]
    records = tap.drain()
    # AND the stream's own write (its botocore client) meets a busy transaction once
    with _stream_busy() as refused_stream:
        lambda_like(records, batch_size=50)
    assert refused_stream == ["TransactWriteItems"]
    # THEN each contract's money is counted once
    assert _ranking(school.admin) == [("lead", "老带新", 6, 6, "600.00")]


def test_a_campus_sees_the_referrals_into_it_and_a_referrer_it_cannot_see_comes_without_a_name(school, tap):
    # GIVEN a north teacher who refers a learner to the south campus, and a south one who refers one
    north = school.admin.post("/campuses", {"name": "北山校区"}).json_body
    north_teacher = school.staff("teacher", display_name="北山老师", campus_ids=[north["id"]])
    south_teacher = school.staff("teacher", display_name="南山老师")
    alice = school.staff("consultant")
    bob = school.staff("consultant", campus_ids=[north["id"]])
    south_friend = alice.post("/leads", lead_body(name="南山学员", referrer_user_id=north_teacher.user["id"])).json_body
    alice.post("/leads", lead_body(name="南山学员二", referrer_user_id=south_teacher.user["id"]))
    north_friend = bob.post("/leads", lead_body(name="北山学员", referrer_user_id=north_teacher.user["id"])).json_body
    _sign(alice, [south_friend["id"]], "800.00")
    _sign(bob, [north_friend["id"]], "300.00")
    lambda_like(tap.drain(), batch_size=25)
    # THEN the south manager sees the south's referrals: the north teacher's figures without a name
    south_manager = school.staff("manager")
    assert sorted(_ranking(south_manager, "?sort=amount"), key=lambda r: r[4], reverse=True) == [
        ("staff", None, 1, 1, "800.00"),
        ("staff", "南山老师", 1, 0, "0.00"),
    ]
    # the north manager sees only the north's, with the name of its own teacher
    north_manager = school.staff("manager", campus_ids=[north["id"]])
    assert _ranking(north_manager) == [("staff", "北山老师", 1, 1, "300.00")]
    # the admin sees the school: the north teacher's referrals into both campuses add up
    assert _ranking(school.admin, "?sort=amount")[0] == ("staff", "北山老师", 2, 2, "1100.00")
    assert _ranking(school.admin, f"?campus={north['id']}") == [("staff", "北山老师", 1, 1, "300.00")]
    # a manager may not ask for another campus; a consultant reads no report
    assert south_manager.get(f"/reports/referrals?campus={north['id']}").status_code == 400
    assert alice.get("/reports/referrals").status_code == 403
