"""Rules that must not bend (issue 14): who may spend through a card, and a contract's
money state following from its figures."""

from __future__ import annotations

import concurrent.futures
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.db import cards as cards_db
from chalicelib.domain import contracts, wallets
from tests.conftest import race_report, race_rounds, session_start, signed_in_at
from tests.test_cards import _balances, _card, _contract, _move, school_today
from tests.test_leads import lead_body


@pytest.fixture
def family(school):
    """A primary card of 王大宝 (10 credits) with a shared sub-card for 王二宝 and a sub-card
    holding a fixed 3 credits for 王小宝; 李四 is a member of the school with nothing to do with the card."""
    school.alice = school.staff("consultant", display_name="顾问Alice")
    school.front = school.staff("frontdesk")
    school.manager = school.staff("manager")
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    first = school.alice.post("/leads", lead_body(name="王大宝", phone=phone)).json_body
    siblings = [
        school.alice.post("/leads", lead_body(name=name, phone=phone, sibling_of=first["id"])).json_body
        for name in ("王二宝", "王小宝")
    ]
    school.holder, school.shared_learner, school.fixed_learner = first, *siblings
    contract = _contract(school.alice, [first["id"], *(s["id"] for s in siblings)], credits="10")
    school.primary = _card(school.front, first["id"], [contract["id"]])
    school.shared = school.front.post(
        f"/cards/{school.primary['id']}/sub-cards", {"holder_lead_id": siblings[0]["id"], "shared": True}
    ).json_body
    school.fixed = school.front.post(
        f"/cards/{school.primary['id']}/sub-cards",
        {"holder_lead_id": siblings[1]["id"], "shared": False, "credits": "3"},
    ).json_body
    school.stranger = school.alice.post("/leads", lead_body(name="李四")).json_body
    _contract(school.alice, [school.stranger["id"]], credits="1")
    _move(school.front, school.primary["id"], kind="top_up", amount="100", method="cash")
    _move(school.front, school.fixed["id"], kind="top_up", amount="50", method="cash")
    return school


def _state(school):
    """What a refused movement must leave alone: every balance and every ledger."""
    ids = (school.primary["id"], school.shared["id"], school.fixed["id"])
    return [_balances(school.front, i) for i in ids], [len(cards_db.ledger_all(school.slug, i)) for i in ids]


def _refused(response, status, code):
    assert response.status_code == status, response.body
    assert response.json_body["error"]["code"] == code, response.body


# --- item 1: credits spent by the wrong learner ----------------------------------


def test_a_fixed_share_sub_card_is_spent_by_its_own_learner_only(family):
    before = _state(family)
    fixed = family.fixed["id"]
    for learner in (family.holder, family.shared_learner, family.stranger):  # the primary's holder, a sibling
        refused = _move(family.front, fixed, kind="deduction", credits="1", lead_id=learner["id"])
        _refused(refused, 400, "LEARNER_NOT_ON_CARD")
        assert refused.json_body["error"]["details"][0]["field"] == "lead_id"
    _refused(
        _move(family.front, fixed, kind="purchase", amount="5", lead_id=family.holder["id"]), 400, "LEARNER_NOT_ON_CARD"
    )
    assert _state(family) == before  # nothing written
    mine = _move(family.front, fixed, kind="deduction", credits="1", lead_id=family.fixed_learner["id"])
    assert mine.status_code == 201 and mine.json_body["lead_id"] == family.fixed_learner["id"]
    assert _balances(family.front, fixed)[0] == "2.00"


def test_a_fixed_share_learner_cannot_spend_the_primary_card(family):
    before = _state(family)
    refused = _move(
        family.front, family.primary["id"], kind="deduction", credits="1", lead_id=family.fixed_learner["id"]
    )
    _refused(refused, 400, "LEARNER_NOT_ON_CARD")
    assert _state(family) == before


def test_a_learner_with_no_part_in_the_card_is_refused_for_every_kind_of_movement(family):
    starts = (datetime.now() + timedelta(days=3)).replace(microsecond=0).isoformat()
    event = family.manager.post(
        "/events", {"name": "亲子活动", "starts_at": starts, "capacity": 9, "fee_credits": "1", "fee_amount": "20"}
    ).json_body
    before = _state(family)
    primary, stranger = family.primary["id"], family.stranger["id"]
    attempts = [
        {"kind": "deduction", "credits": "1"},
        {"kind": "purchase", "amount": "5"},
        {"kind": "event_fee", "event_id": event["id"]},
        {"kind": "event_fee", "event_id": event["id"], "pay_with": "cash"},
        {"kind": "top_up", "amount": "5", "method": "cash"},
    ]
    for body in attempts:
        _refused(_move(family.front, primary, lead_id=stranger, **body), 400, "LEARNER_NOT_ON_CARD")
    _refused(
        _move(family.front, family.shared["id"], kind="deduction", credits="1", lead_id=stranger),
        400,
        "LEARNER_NOT_ON_CARD",
    )
    assert _state(family) == before


def test_a_lead_that_does_not_exist_is_404_and_nothing_is_written(family, other_school):
    before = _state(family)
    for unknown in (
        "no-such-lead",
        other_school.staff("consultant").post("/leads", lead_body(name="外校")).json_body["id"],
    ):
        for body in ({"kind": "deduction", "credits": "1"}, {"kind": "purchase", "amount": "1"}):
            _refused(_move(family.front, family.primary["id"], lead_id=unknown, **body), 404, "LEAD_NOT_FOUND")
    assert _state(family) == before


def test_the_holder_and_a_shared_sub_card_learner_may_spend(family):
    primary, shared = family.primary["id"], family.shared["id"]
    own = _move(family.front, primary, kind="deduction", credits="1", lead_id=family.holder["id"])
    assert own.status_code == 201 and own.json_body.get("used_card_id") is None
    # the shared sub-card's learner, through the primary card or their own sub-card
    through_primary = _move(family.front, primary, kind="purchase", amount="10", lead_id=family.shared_learner["id"])
    assert through_primary.status_code == 201, through_primary.body
    assert through_primary.json_body["used_card_id"] == shared  # shown in the sub-card's own ledger
    through_sub = _move(family.front, shared, kind="deduction", credits="1", lead_id=family.shared_learner["id"])
    assert through_sub.status_code == 201 and through_sub.json_body["card_id"] == primary
    assert _balances(family.front, primary) == ("5.00", "90.00")  # 10 − 3 shared out − 2; 100 − 10
    used = family.front.get(f"/cards/{shared}/ledger").json_body["items"]
    assert [m["kind"] for m in used] == ["deduction", "purchase"]


def test_a_shared_sub_card_learner_spending_through_a_frozen_sub_card_is_refused(family):
    family.front.post(f"/cards/{family.shared['id']}/freeze", {"reason": "请假"})
    before = _state(family)
    refused = _move(
        family.front, family.primary["id"], kind="deduction", credits="1", lead_id=family.shared_learner["id"]
    )
    _refused(refused, 409, "CARD_FROZEN")
    assert _state(family) == before


def test_check_in_follows_the_same_rule(family):
    manager = family.manager
    monday = school_today() + timedelta(days=7 - school_today().weekday())
    course = manager.post("/courses", {"name": "书法", "lesson_cost": "1"}).json_body
    cls = manager.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": family.campus["id"],
            "teacher": "陈老师",
            "capacity": 5,
            "slots": [{"weekday": 1, "start": "09:00", "end": "10:00"}],
            "start_date": monday.isoformat(),
            "end_date": monday.isoformat(),
        },
    ).json_body
    sessions = manager.post(f"/classes/{cls['id']}/sessions", {"from": monday.isoformat(), "to": monday.isoformat()})
    session = sessions.json_body["sessions"][0]
    path = f"/sessions/{session['id']}/check-ins"
    before = _state(family)
    class_time = session_start(session) - timedelta(minutes=10)
    with signed_in_at(family.front, class_time) as front:
        wrong = front.post(path, {"lead_id": family.holder["id"], "card_id": family.fixed["id"]})
    _refused(wrong, 400, "LEARNER_NOT_ON_CARD")
    assert _state(family) == before
    with signed_in_at(family.front, class_time) as front:
        shared = front.post(path, {"lead_id": family.shared_learner["id"], "card_id": family.primary["id"]})
    assert shared.status_code == 201, shared.body
    assert shared.json_body["movement"]["used_card_id"] == family.shared["id"]


# --- item 5a: a contract's money state follows from its figures --------------------


def test_a_part_paid_then_part_refunded_contract_is_partly_refunded_with_the_rest_due(school):
    alice, finance = school.staff("consultant"), school.staff("finance")
    lead = alice.post("/leads", lead_body(name="张三")).json_body
    contract = _contract(alice, [lead["id"]], credits="10", price="1000.00")
    path = f"/contracts/{contract['id']}"
    assert finance.post(f"{path}/payments", {"amount": "200", "method": "wechat"}).status_code == 201
    refund = finance.post(f"{path}/refunds", {"amount": "100", "reason": "少上两节", "credits": "1"})
    assert refund.status_code == 201, refund.body
    shown = refund.json_body["contract"]
    assert (shown["status"], shown["paid"], shown["refunded"], shown["balance_due"]) == (
        "partly_refunded",
        "200.00",
        "100.00",
        "800.00",
    )
    assert finance.get(path).json_body["status"] == "partly_refunded"


def test_paying_and_refunding_step_by_step_keeps_status_and_balance_due_right(school):
    alice, finance = school.staff("consultant"), school.staff("finance")
    lead = alice.post("/leads", lead_body(name="陈小明")).json_body
    contract = _contract(alice, [lead["id"]], credits="10", price="1000.00", discount="100.00")
    path = f"/contracts/{contract['id']}"
    steps = [
        ("payments", {"amount": "300", "method": "cash"}, "partly_paid", "600.00"),
        ("refunds", {"amount": "50", "reason": "退一节", "credits": "0.5"}, "partly_refunded", "600.00"),
        ("payments", {"amount": "600", "method": "alipay"}, "partly_refunded", "0.00"),
        ("refunds", {"amount": "850", "reason": "转学"}, "refunded", "0.00"),
    ]
    for route, body, state, due in steps:
        response = finance.post(f"{path}/{route}", body)
        assert response.status_code == 201, (route, body, response.body)
        assert (response.json_body["contract"]["status"], response.json_body["contract"]["balance_due"]) == (state, due)
        stored = finance.get(path).json_body
        assert (stored["status"], stored["balance_due"]) == (state, due)
    more = finance.post(f"{path}/payments", {"amount": "1", "method": "cash"})
    _refused(more, 409, "CONTRACT_CLOSED")
    too_much = finance.post(f"{path}/refunds", {"amount": "1", "reason": "再退"})
    _refused(too_much, 409, "REFUND_TOO_LARGE")
    detail = finance.get(path).json_body
    assert (detail["paid"], detail["refunded"], detail["unallocated_credits"]) == ("900.00", "900.00", "0.00")


@race_rounds
def test_racing_payments_and_refunds_under_busy_transactions_keep_every_figure_and_state_right(school, race_round):
    """Cashiers paying and refunding one contract at once, while DynamoDB cancels some of
    their transactions: nothing paid twice or lost, no refund beyond what is kept, and the
    state and balance due shown are those of the figures stored."""
    from chalicelib.domain.auth import authenticate
    from chalicelib.errors import ConflictError
    from chalicelib.schemas.cards import PaymentRequest, RefundRequest
    from tests.test_busy import dynamodb_busy

    alice, finance = school.staff("consultant"), school.staff("finance")
    lead = alice.post("/leads", lead_body(name="赵六")).json_body
    contract = _contract(alice, [lead["id"]], credits="10", price="1000.00")
    cashier = authenticate(f"Bearer {finance.token}")
    jobs = [("pay", Decimal(100))] * 12 + [("refund", Decimal(50))] * 6

    def run(job):
        kind, amount = job
        try:
            if kind == "pay":
                result = contracts.pay(cashier, contract["id"], PaymentRequest(amount=amount, method="cash"), None)
            else:
                request = RefundRequest(amount=amount, reason="退一点", credits=Decimal(0))
                result = contracts.refund(cashier, contract["id"], request, None)
        except ConflictError as exc:
            return exc.code, None
        shown = result.contract
        figures = contracts.Figures(*(wallets.units(v) for v in (shown.net_price, shown.paid, shown.refunded)))
        return "ok", (shown.status == contracts.money_state(figures), shown.balance_due == wallets.decimal(figures.due))

    with dynamodb_busy(times=6), concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(run, jobs))
    detail = finance.get(f"/contracts/{contract['id']}").json_body
    paid = sum(Decimal(p["amount"]) for p in detail["payments"] if p["kind"] == "payment")
    refunded = sum(Decimal(p["amount"]) for p in detail["payments"] if p["kind"] == "refund")
    done = [o for o in outcomes if o[0] == "ok"]
    violations = [o for o in done if o[1] != (True, True)]
    violations += [o for o in outcomes if o[0] not in ("ok", "OVERPAYMENT", "REFUND_TOO_LARGE", "EDIT_CONFLICT")]
    if (Decimal(detail["paid"]), Decimal(detail["refunded"])) != (paid, refunded) or not refunded <= paid <= 1000:
        violations.append(("figures", detail["paid"], detail["refunded"], paid, refunded))
    expected = contracts.money_state(contracts.Figures(100000, wallets.units(paid), wallets.units(refunded)))
    if (detail["status"], Decimal(detail["balance_due"])) != (expected, max(Decimal(0), 1000 - paid)):
        violations.append(("state", detail["status"], detail["balance_due"]))
    race_report("payments/refunds under busy transactions (wrong figures)", len(jobs), len(violations))
    assert violations == []
    assert len(done) == len(detail["payments"])  # every answer written once, nothing written unanswered
