"""Contracts, payments and refunds; cards, movements, check-in and the card lifecycle."""

from __future__ import annotations

import concurrent.futures
import uuid
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.db import cards as cards_db
from chalicelib.domain import clock, wallets
from tests.conftest import race_report, race_rounds, session_start, signed_in_at
from tests.test_leads import lead_body


def school_today() -> date:
    """Today where the test schools are (Asia/Shanghai): from 16:00 UTC it is already tomorrow
    there, and the API dates payments, contract ends and freezes in the school's time zone."""
    return clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def desk(school):
    """A consultant with twins, a manager, a cashier (finance), a front desk, and a course."""
    school.alice = school.staff("consultant", display_name="顾问Alice")
    school.manager = school.staff("manager")
    school.finance = school.staff("finance", display_name="财务小李")
    school.front = school.staff("frontdesk")
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    school.twin_a = school.alice.post("/leads", lead_body(name="王大宝", phone=phone)).json_body
    school.twin_b = school.alice.post(
        "/leads", lead_body(name="王二宝", phone=phone, sibling_of=school.twin_a["id"])
    ).json_body
    assert school.twin_b["family_id"] == school.twin_a["family_id"]
    school.course = school.manager.post("/courses", {"name": "少儿美术", "lesson_cost": "1"}).json_body
    return school


def member_with_contract(consultant, name="持卡人"):
    """A lead of `consultant` with a 10-credit contract: enough to open a card for."""
    lead = consultant.post("/leads", lead_body(name=name)).json_body
    return lead, _contract(consultant, [lead["id"]], credits="10", price="100.00")


def _contract(session, lead_ids, credits="48", price="9600.00", **extra):
    today = school_today()
    body = {
        "lead_ids": lead_ids,
        "credits": credits,
        "price": price,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(),
        **extra,
    }
    response = session.post("/contracts", body)
    assert response.status_code == 201, response.body
    return response.json_body


def _card(session, holder, contract_ids, **extra):
    response = session.post("/cards", {"holder_lead_id": holder, "contract_ids": contract_ids, **extra})
    assert response.status_code == 201, response.body
    return response.json_body


def _move(session, card_id, key=None, **body):
    headers = {"Idempotency-Key": key} if key else None
    return session.post(f"/cards/{card_id}/movements", body, headers=headers)


def _ledger_sum(tenant, card_id):
    entries = cards_db.ledger_all(tenant, card_id)
    return sum(e["credits"] for e in entries), sum(e["amount"] for e in entries)


def _balances(session, card_id):
    card = session.get(f"/cards/{card_id}").json_body
    return card["credits"], card["cash"]


# --- contracts ---------------------------------------------------------------------


def test_signing_twins_makes_both_members_with_their_conversion_cycle(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"], desk.twin_b["id"]], gift_credits="4", discount="600.00")
    assert contract["status"] == "unpaid"
    assert (contract["net_price"], contract["balance_due"]) == ("9000.00", "9000.00")
    assert contract["unallocated_credits"] == "52.00"  # 48 bought + 4 given
    assert contract["lead_names"] == ["王大宝", "王二宝"]
    assert contract["conversions"] == {desk.twin_a["id"]: 0, desk.twin_b["id"]: 0}
    for twin in (desk.twin_a, desk.twin_b):
        lead = desk.alice.get(f"/leads/{twin['id']}").json_body
        assert lead["status"] == "signed"
        assert lead["signed_on"] == contract["signed_on"]
        assert lead["conversion_days"] == 0
        assert lead["reclaim_on"] is None  # a member is never returned to the public pool
        assert any(h["action"] == "signed" for h in lead["history"])
        mine = desk.alice.get(f"/leads/{twin['id']}/contracts").json_body["items"]
        assert [c["id"] for c in mine] == [contract["id"]]
        assert lead["contract_ids"] == [contract["id"]]  # the lead's own Query reads the link


def test_contract_input_is_checked(desk):
    today = school_today().isoformat()
    base = {"lead_ids": [desk.twin_a["id"]], "credits": "10", "price": "100", "starts_on": today, "ends_on": today}
    assert desk.alice.post("/contracts", {**base, "price": 100.5}).status_code == 400  # floats refused
    assert desk.alice.post("/contracts", {**base, "price": "1.234"}).status_code == 400
    wrong_plan = {**base, "instalments": [{"due_on": today, "amount": "60"}]}
    response = desk.alice.post("/contracts", wrong_plan)
    assert response.status_code == 400 and "instalments" in response.json_body["error"]["message"]
    outsider = desk.staff("consultant")
    assert outsider.post("/contracts", base).status_code == 404  # a lead they may not see
    assert desk.staff("teacher").post("/contracts", base).status_code == 403


def test_two_instalments_pay_a_contract_and_only_cashiers_record_them(desk):
    today = school_today()
    plan = [
        {"due_on": today.isoformat(), "amount": "4800.00"},
        {"due_on": (today + timedelta(days=30)).isoformat(), "amount": "4800.00"},
    ]
    contract = _contract(desk.alice, [desk.twin_a["id"]], instalments=plan)
    path = f"/contracts/{contract['id']}/payments"
    assert desk.alice.post(path, {"amount": "4800.00", "method": "wechat"}).status_code == 403
    first = desk.finance.post(path, {"amount": "4800.00", "method": "wechat"}, headers={"Idempotency-Key": "pay-1-abc"})
    assert first.status_code == 201, first.body
    assert first.json_body["contract"]["status"] == "partly_paid"
    assert first.json_body["contract"]["next_instalment"]["amount"] == "4800.00"
    again = desk.finance.post(path, {"amount": "4800.00", "method": "wechat"}, headers={"Idempotency-Key": "pay-1-abc"})
    assert again.json_body == first.json_body  # the retry changed nothing
    too_much = desk.finance.post(path, {"amount": "4800.01", "method": "alipay"})
    assert too_much.status_code == 409 and too_much.json_body["error"]["code"] == "OVERPAYMENT"
    second = desk.finance.post(path, {"amount": "4800.00", "method": "bank_card"}).json_body
    assert second["contract"]["status"] == "paid" and second["contract"]["next_instalment"] is None
    detail = desk.finance.get(f"/contracts/{contract['id']}").json_body
    assert [p["amount"] for p in detail["payments"]] == ["4800.00", "4800.00"]
    month = desk.finance.get(f"/payments?from={today.isoformat()}&to={today.isoformat()}").json_body
    assert {p["contract_id"] for p in month["items"]} == {contract["id"]}
    signed = desk.finance.get(f"/contracts?from={today.isoformat()}&to={today.isoformat()}").json_body
    assert [c["id"] for c in signed["items"]] == [contract["id"]]


# --- cards and movements -----------------------------------------------------------


def test_a_card_carries_contract_credits_and_its_ledger_sums_to_its_balance(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="10")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    assert (card["credits"], card["usable_credits"], card["cash"]) == ("10.00", "10.00", "0.00")
    assert _move(desk.front, card["id"], kind="deduction", credits="1.5").status_code == 201
    assert _move(desk.front, card["id"], kind="top_up", amount="200", method="cash").status_code == 201
    assert _move(desk.front, card["id"], kind="purchase", amount="35.50", reason="画材").status_code == 201
    assert _balances(desk.front, card["id"]) == ("8.50", "164.50")
    assert _ledger_sum(desk.slug, card["id"]) == (850, 16450)
    found = desk.front.get(f"/cards?number={card['number']}").json_body["items"]
    assert [c["id"] for c in found] == [card["id"]]
    kinds = [m["kind"] for m in desk.front.get(f"/cards/{card['id']}/ledger").json_body["items"]]
    assert kinds == ["purchase", "top_up", "deduction", "contract_credit"]  # newest first
    only = desk.front.get(f"/cards/{card['id']}/ledger?kind=deduction").json_body["items"]
    assert [m["credits"] for m in only] == ["-1.50"]


@race_rounds
def test_twenty_concurrent_deductions_on_ten_credits_exactly_ten_succeed(desk, race_round):
    from chalicelib.domain import cards
    from chalicelib.domain.auth import authenticate
    from chalicelib.errors import ConflictError
    from chalicelib.schemas.cards import MovementRequest

    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="10")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    principal = authenticate(f"Bearer {desk.front.token}")
    request = MovementRequest(kind="deduction", credits=Decimal(1))

    def deduct(_):
        try:
            cards.move(principal, card["id"], request, None)
            return "ok"
        except ConflictError as exc:
            return exc.code

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(deduct, range(20)))
    balance = Decimal(_balances(desk.front, card["id"])[0])
    race_report("deductions on 10 credits (negative balance)", 20, int(balance < 0) + abs(outcomes.count("ok") - 10))
    assert outcomes.count("ok") == 10, outcomes
    assert outcomes.count("INSUFFICIENT_BALANCE") == 10, outcomes
    assert _balances(desk.front, card["id"])[0] == "0.00"
    assert _ledger_sum(desk.slug, card["id"]) == (0, 0)


def test_a_retried_deduction_with_the_same_key_is_applied_once(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="5")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    first = _move(desk.front, card["id"], key="lesson-0001-retry", kind="deduction", credits="1")
    second = _move(desk.front, card["id"], key="lesson-0001-retry", kind="deduction", credits="1")
    assert first.status_code == second.status_code == 201
    assert second.json_body == first.json_body
    assert first.json_body["idempotency_key"] == "lesson-0001-retry"
    assert _balances(desk.front, card["id"])[0] == "4.00"
    reused = _move(desk.front, card["id"], key="lesson-0001-retry", kind="deduction", credits="2")
    assert reused.status_code == 409 and reused.json_body["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _move(desk.front, card["id"], key="bad key!", kind="deduction", credits="1").status_code == 400


def test_too_little_balance_is_refused_and_changes_nothing(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="2")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    response = _move(desk.front, card["id"], kind="deduction", credits="3")
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert "2.00 available" in response.json_body["error"]["message"]
    cash = _move(desk.front, card["id"], kind="purchase", amount="0.01")
    assert cash.status_code == 409 and cash.json_body["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert _balances(desk.front, card["id"]) == ("2.00", "0.00")
    assert len(cards_db.ledger_all(desk.slug, card["id"])) == 1  # only the contract credit


def test_deductions_take_the_contract_that_ends_first_and_never_an_ended_one(desk):
    today = school_today()
    later = _contract(desk.alice, [desk.twin_a["id"]], credits="5", ends_on=(today + timedelta(days=300)).isoformat())
    sooner = _contract(desk.alice, [desk.twin_a["id"]], credits="3", ends_on=(today + timedelta(days=30)).isoformat())
    card = _card(desk.front, desk.twin_a["id"], [later["id"], sooner["id"]])
    taken = _move(desk.front, card["id"], kind="deduction", credits="4").json_body
    assert taken["lots"] == {sooner["id"]: "-3.00", later["id"]: "-1.00"}
    # a tenant may prefer the oldest contract first
    desk.admin.patch("/settings/cards", {"deduction_order": "oldest_first"})
    assert desk.front.get("/settings/cards").json_body["deduction_order"] == "oldest_first"


def test_credits_of_an_ended_contract_are_written_off_and_cannot_be_used(desk):
    from chalicelib.domain import clock

    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="3", ends_on=school_today().isoformat())
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    with clock.frozen(clock.now() + timedelta(days=2)):
        front = desk.sign_in(desk.front.user["username"], desk.front.password)
        assert front.get(f"/cards/{card['id']}").json_body["usable_credits"] == "0.00"
        refused = _move(front, card["id"], kind="deduction", credits="1")
        assert refused.status_code == 409 and refused.json_body["error"]["code"] == "INSUFFICIENT_BALANCE"
        kinds = [m["kind"] for m in front.get(f"/cards/{card['id']}/ledger").json_body["items"]]
        assert kinds[0] == "expiry"
        assert _balances(front, card["id"])[0] == "0.00"
    assert _ledger_sum(desk.slug, card["id"]) == (0, 0)


def test_exchange_adjustment_and_their_permissions(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="10")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    off = _move(desk.front, card["id"], kind="exchange", credits="2")
    assert off.status_code == 409 and off.json_body["error"]["code"] == "EXCHANGE_DISABLED"
    desk.admin.patch("/settings/cards", {"exchange_rate": "150.00"})
    assert _move(desk.alice, card["id"], kind="exchange", credits="2").status_code == 403
    swapped = _move(desk.front, card["id"], kind="exchange", credits="2").json_body
    assert (swapped["credits"], swapped["amount"]) == ("-2.00", "300.00")
    assert _move(desk.front, card["id"], kind="adjustment", credits="1", reason="补偿").status_code == 403
    no_reason = _move(desk.manager, card["id"], kind="adjustment", credits="1")
    assert no_reason.status_code == 400 and "reason" in no_reason.json_body["error"]["message"]
    gift = _move(desk.manager, card["id"], kind="adjustment", credits="1", reason="老师请假补课").json_body
    assert gift["lots"] == {wallets.MANUAL: "1.00"}
    assert _balances(desk.front, card["id"]) == ("9.00", "300.00")
    # the manual credit has no end date and is spent last (hypothesis once found it unspendable)
    everything = _move(desk.front, card["id"], kind="deduction", credits="9").json_body
    assert everything["lots"] == {contract["id"]: "-8.00", wallets.MANUAL: "-1.00"}
    assert _ledger_sum(desk.slug, card["id"]) == (0, 30000)


# --- check-in ----------------------------------------------------------------------


def test_checking_a_member_into_a_class_takes_a_seat_and_the_lesson_cost(desk):
    manager = desk.manager
    course = manager.post("/courses", {"name": "钢琴", "lesson_cost": "1.5"}).json_body
    monday = school_today() + timedelta(days=7 - school_today().weekday())
    cls = manager.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": desk.campus["id"],
            "teacher": "陈老师",
            "capacity": 1,
            "slots": [{"weekday": 1, "start": "09:00", "end": "10:00"}],
            "start_date": monday.isoformat(),
            "end_date": monday.isoformat(),
        },
    ).json_body
    session = manager.post(f"/classes/{cls['id']}/sessions", {"from": monday.isoformat(), "to": monday.isoformat()})
    session_id = session.json_body["sessions"][0]["id"]
    contract = _contract(desk.alice, [desk.twin_a["id"], desk.twin_b["id"]], credits="10")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    sub = desk.front.post(f"/cards/{card['id']}/sub-cards", {"holder_lead_id": desk.twin_b["id"], "shared": True})
    assert sub.status_code == 201, sub.body
    path = f"/sessions/{session_id}/check-ins"
    early = desk.front.post(path, {"lead_id": desk.twin_b["id"]})  # Monday's class, days ahead
    assert early.status_code == 409 and early.json_body["error"]["code"] == "ATTENDANCE_NOT_OPEN"
    assert _balances(desk.front, card["id"])[0] == "10.00"
    with signed_in_at(desk.front, session_start(session.json_body["sessions"][0]) - timedelta(minutes=10)) as front:
        checked = front.post(path, {"lead_id": desk.twin_b["id"]})
        assert checked.status_code == 201, checked.body
        twice = front.post(path, {"lead_id": desk.twin_b["id"]})
        full = front.post(path, {"lead_id": desk.twin_a["id"]})
    movement = checked.json_body["movement"]
    assert (movement["kind"], movement["credits"], movement["card_id"]) == ("attendance", "-1.50", card["id"])
    assert movement["used_card_id"] == sub.json_body["id"] and movement["lead_id"] == desk.twin_b["id"]
    assert _balances(desk.front, card["id"])[0] == "8.50"  # the shared wallet paid
    assert twice.status_code == 409 and twice.json_body["error"]["code"] == "ALREADY_CHECKED_IN"
    assert full.status_code == 409 and full.json_body["error"]["code"] == "SESSION_FULL"
    assert _balances(desk.front, card["id"])[0] == "8.50"  # a refused check-in takes nothing
    seats = manager.get(f"/sessions?date={monday.isoformat()}").json_body["items"][0]
    assert (seats["regular"], seats["seats_left"]) == (1, 0)
    # the sub-card's own ledger shows what it spent
    used = desk.front.get(f"/cards/{sub.json_body['id']}/ledger").json_body["items"]
    assert [m["kind"] for m in used] == ["attendance"]


def test_an_unshared_sub_card_holds_credits_only_its_learner_uses(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"], desk.twin_b["id"]], credits="10")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    sub = desk.front.post(
        f"/cards/{card['id']}/sub-cards", {"holder_lead_id": desk.twin_b["id"], "shared": False, "credits": "4"}
    ).json_body
    assert sub["credits"] == "4.00" and sub["primary_card_id"] == card["id"]
    assert _balances(desk.front, card["id"])[0] == "6.00"
    assert _move(desk.front, card["id"], kind="deduction", credits="7").status_code == 409  # not the sub's 4
    assert _move(desk.front, sub["id"], kind="deduction", credits="4").status_code == 201
    assert _ledger_sum(desk.slug, card["id"]) == (600, 0)
    assert _ledger_sum(desk.slug, sub["id"]) == (0, 0)


# --- lifecycle ---------------------------------------------------------------------


def test_a_lost_or_frozen_card_refuses_movements_with_a_clear_error(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="5")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    frozen = desk.front.post(f"/cards/{card['id']}/freeze", {"reason": "外出旅游"})
    assert frozen.status_code == 200 and frozen.json_body["status"] == "frozen"
    refused = _move(desk.front, card["id"], kind="deduction", credits="1")
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "CARD_FROZEN"
    assert "外出旅游" in refused.json_body["error"]["message"]
    assert desk.front.post(f"/cards/{card['id']}/unfreeze").json_body["status"] == "active"
    assert desk.front.post(f"/cards/{card['id']}/report-lost").json_body["status"] == "lost"
    lost = _move(desk.front, card["id"], kind="deduction", credits="1")
    assert lost.status_code == 409 and lost.json_body["error"]["code"] == "CARD_LOST"
    actions = [h["action"] for h in desk.front.get(f"/cards/{card['id']}/history").json_body["items"]]
    assert actions == ["reported_lost", "unfrozen", "frozen", "opened"]


def test_unfreezing_extends_validity_by_the_days_frozen(desk):
    from chalicelib.domain import clock

    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="5")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    desk.front.post(f"/cards/{card['id']}/freeze", {"reason": "生病"})
    with clock.frozen(clock.now() + timedelta(days=10)):
        front = desk.sign_in(desk.front.user["username"], desk.front.password)
        thawed = front.post(f"/cards/{card['id']}/unfreeze").json_body
    ends = date.fromisoformat(contract["ends_on"]) + timedelta(days=10)
    assert thawed["lots"][0]["ends_on"] == ends.isoformat()


def test_a_reissued_card_keeps_its_balances_and_its_old_number_refuses(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"], desk.twin_b["id"]], credits="8")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]], number="A-0001")
    sub = desk.front.post(f"/cards/{card['id']}/sub-cards", {"holder_lead_id": desk.twin_b["id"], "shared": True})
    _move(desk.front, card["id"], kind="top_up", amount="100", method="wechat")
    desk.front.post(f"/cards/{card['id']}/report-lost")
    new = desk.front.post(f"/cards/{card['id']}/reissue", {"number": "A-0002"})
    assert new.status_code == 201, new.body
    new = new.json_body
    assert (new["number"], new["credits"], new["cash"], new["status"]) == ("A-0002", "8.00", "100.00", "active")
    assert new["sub_card_ids"] == [sub.json_body["id"]] and new["replaces"] == card["id"]
    old = _move(desk.front, card["id"], kind="deduction", credits="1")
    assert old.status_code == 409 and old.json_body["error"]["code"] == "CARD_REPLACED"
    by_old_number = desk.front.get("/cards?number=A-0001").json_body["items"]
    assert by_old_number[0]["status"] == "replaced" and by_old_number[0]["replaced_by"] == new["id"]
    again = desk.front.post("/cards", {"holder_lead_id": desk.twin_a["id"], "number": "A-0001"})
    assert again.status_code == 409 and again.json_body["error"]["code"] == "CARD_NUMBER_TAKEN"
    # the shared sub-card now spends the new card's wallet
    via_sub = _move(desk.front, sub.json_body["id"], kind="deduction", credits="1")
    assert via_sub.status_code == 201 and via_sub.json_body["card_id"] == new["id"]
    assert _ledger_sum(desk.slug, card["id"]) == (0, 0)
    assert _ledger_sum(desk.slug, new["id"]) == (700, 10000)


def test_a_refund_claws_back_credits_without_making_a_balance_negative(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="10", price="1000")
    desk.finance.post(f"/contracts/{contract['id']}/payments", {"amount": "1000", "method": "cash"})
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]], credits={contract["id"]: "6"})
    _move(desk.front, card["id"], kind="deduction", credits="5")
    path = f"/contracts/{contract['id']}/refunds"
    greedy = desk.finance.post(path, {"amount": "500", "reason": "转学", "credits": "6"})
    assert greedy.status_code == 409 and greedy.json_body["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert "5.00" in greedy.json_body["error"]["message"]  # 4 never put on a card + 1 left on it
    done = desk.finance.post(path, {"amount": "500", "reason": "转学"})
    assert done.status_code == 201, done.body
    assert done.json_body["payment"]["credits"] == "5.00"
    # 500 of the 1000 paid came back (5 lessons were used): partly refunded, nothing more due
    assert (done.json_body["contract"]["status"], done.json_body["contract"]["balance_due"]) == (
        "partly_refunded",
        "0.00",
    )
    assert done.json_body["contract"]["unallocated_credits"] == "0.00"
    assert _balances(desk.front, card["id"])[0] == "0.00"
    assert _ledger_sum(desk.slug, card["id"]) == (0, 0)
    assert desk.finance.post(path, {"amount": "501", "reason": "x"}).json_body["error"]["code"] == "REFUND_TOO_LARGE"


def test_a_void_contract_refuses_payments_and_cards(desk):
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="10")
    assert desk.alice.post(f"/contracts/{contract['id']}/void", {"reason": "录错"}).status_code == 403
    voided = desk.manager.post(f"/contracts/{contract['id']}/void", {"reason": "录错"}).json_body
    assert voided["status"] == "void"
    paid = desk.finance.post(f"/contracts/{contract['id']}/payments", {"amount": "1", "method": "cash"})
    assert paid.status_code == 409 and paid.json_body["error"]["code"] == "CONTRACT_CLOSED"
    opened = desk.front.post("/cards", {"holder_lead_id": desk.twin_a["id"], "contract_ids": [contract["id"]]})
    assert opened.status_code == 409


# --- properties --------------------------------------------------------------------

_amounts = st.integers(min_value=1, max_value=600).map(lambda u: str(wallets.decimal(u)))
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("deduction"), _amounts),
        st.tuples(st.just("purchase"), _amounts),
        st.tuples(st.just("top_up"), _amounts),
        st.tuples(st.just("exchange"), _amounts),
        st.tuples(st.just("adjustment"), _amounts, st.booleans(), st.booleans()),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_steps)
def test_any_sequence_of_movements_keeps_the_ledger_equal_to_the_balance_and_never_negative(desk, steps):
    from chalicelib.domain import cards
    from chalicelib.domain.auth import authenticate
    from chalicelib.errors import ConflictError
    from chalicelib.schemas.cards import MovementRequest

    if not getattr(desk, "rate_set", False):
        desk.admin.patch("/settings/cards", {"exchange_rate": "12.50"})
        desk.rate_set = True
    today = school_today()
    short = _contract(desk.alice, [desk.twin_a["id"]], credits="3", ends_on=(today + timedelta(days=20)).isoformat())
    long = _contract(desk.alice, [desk.twin_a["id"]], credits="4")
    card = _card(desk.front, desk.twin_a["id"], [short["id"], long["id"]])
    manager = authenticate(f"Bearer {desk.manager.token}")
    for step in steps:
        kind, amount = step[0], Decimal(step[1])
        body: dict = {"kind": kind}
        if kind in ("deduction", "exchange"):
            body["credits"] = amount
        elif kind in ("purchase", "top_up"):
            body["amount"] = amount
            body["method"] = "cash" if kind == "top_up" else None
        else:
            _, _, on_credits, up = step
            body["credits" if on_credits else "amount"] = amount if up else -amount
            body["reason"] = "盘点"
        try:
            cards.move(manager, card["id"], MovementRequest(**{k: v for k, v in body.items() if v is not None}), None)
        except ConflictError as exc:
            assert exc.code == "INSUFFICIENT_BALANCE", exc.code
        stored = cards_db.get_card(desk.slug, card["id"])
        assert stored["credits"] >= 0 and stored["cash"] >= 0
        assert all(lot["units"] >= 0 for lot in stored["lots"].values())
        assert stored["credits"] == sum(lot["units"] for lot in stored["lots"].values())
        assert _ledger_sum(desk.slug, card["id"]) == (stored["credits"], stored["cash"])


def test_a_paid_event_takes_its_fee_in_credits_or_cash(desk):
    from datetime import datetime

    starts = (datetime.now() + timedelta(days=3)).replace(microsecond=0).isoformat()
    event = desk.manager.post(
        "/events",
        {"name": "圣诞亲子活动", "starts_at": starts, "capacity": 20, "fee_credits": "2", "fee_amount": "80.00"},
    ).json_body
    second = desk.manager.post(
        "/events", {"name": "元旦活动", "starts_at": starts, "capacity": 20, "fee_amount": "80.00"}
    )
    for paid in (event, second.json_body):  # a fee is charged for a booking (booked before the card: unpaid)
        booked = desk.alice.post(f"/leads/{desk.twin_a['id']}/appointments", {"kind": "event", "event_id": paid["id"]})
        assert booked.status_code == 201, booked.body
    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="5")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    by_credits = _move(desk.front, card["id"], kind="event_fee", event_id=event["id"]).json_body
    assert (by_credits["credits"], by_credits["amount"], by_credits["event_id"]) == ("-2.00", "0.00", event["id"])
    _move(desk.front, card["id"], kind="top_up", amount="100", method="alipay")
    twice = _move(desk.front, card["id"], kind="event_fee", event_id=event["id"], pay_with="cash")
    assert twice.status_code == 409 and twice.json_body["error"]["code"] == "EVENT_FEE_ALREADY_CHARGED"
    by_cash = _move(
        desk.front, card["id"], kind="event_fee", event_id=second.json_body["id"], pay_with="cash"
    ).json_body
    assert (by_cash["credits"], by_cash["amount"]) == ("0.00", "-80.00")
    assert _balances(desk.front, card["id"]) == ("3.00", "20.00")
    unknown = _move(desk.front, card["id"], kind="event_fee", event_id="nope")
    assert unknown.status_code == 400 and "event_id" in unknown.json_body["error"]["message"]
    cards_of_twin = desk.front.get(f"/cards?lead_id={desk.twin_a['id']}").json_body["items"]
    assert [c["id"] for c in cards_of_twin] == [card["id"]]


def test_a_freeze_with_a_last_day_ends_by_itself_and_extends_validity(desk):
    from chalicelib.domain import clock

    contract = _contract(desk.alice, [desk.twin_a["id"]], credits="5")
    card = _card(desk.front, desk.twin_a["id"], [contract["id"]])
    until = (school_today() + timedelta(days=6)).isoformat()
    desk.front.post(f"/cards/{card['id']}/freeze", {"reason": "寒假", "until": until})
    assert _move(desk.front, card["id"], kind="deduction", credits="1").json_body["error"]["code"] == "CARD_FROZEN"
    with clock.frozen(clock.now() + timedelta(days=8)):
        front = desk.sign_in(desk.front.user["username"], desk.front.password)
        assert front.get(f"/cards/{card['id']}").json_body["status"] == "active"
        assert _move(front, card["id"], kind="deduction", credits="1").status_code == 201
        thawed = front.get(f"/cards/{card['id']}").json_body
    assert thawed["frozen_until"] is None
    assert thawed["lots"][0]["ends_on"] == (date.fromisoformat(contract["ends_on"]) + timedelta(days=7)).isoformat()
