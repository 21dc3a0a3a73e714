"""A paid event charges once per booking (issue 14, item 5b): when the school says (booking
or arrival), never for a cancelled booking, never twice; a cancellation after the charge
refunds by the school's rule, once."""

from __future__ import annotations

import concurrent.futures
from datetime import timedelta

from chalicelib.db import cards as cards_db
from chalicelib.domain import auth, cards, clock
from chalicelib.errors import ConflictError
from chalicelib.schemas.cards import MovementRequest
from tests.conftest import race_report, race_rounds
from tests.test_cards import _balances, _card, _contract, _move, desk  # noqa: F401 - the fixture
from tests.test_leads import lead_body


def _event(school, minutes_ahead: int = 3 * 24 * 60, **fees) -> dict:
    body = {
        "name": "亲子烘焙活动",
        "starts_at": (clock.now() + timedelta(minutes=minutes_ahead)).isoformat(),
        "capacity": 20,
        **(fees or {"fee_credits": "2"}),
    }
    response = school.manager.post("/events", body)
    assert response.status_code == 201, response.body
    return response.json_body


def _member(school, name: str, credits: str = "5") -> tuple[dict, dict]:
    """A lead with one card holding `credits`."""
    lead = school.alice.post("/leads", lead_body(name=name)).json_body
    contract = _contract(school.alice, [lead["id"]], credits=credits, price="100.00")
    return lead, _card(school.front, lead["id"], [contract["id"]])


def _book(school, lead, event) -> dict:
    response = school.alice.post(f"/leads/{lead['id']}/appointments", {"kind": "event", "event_id": event["id"]})
    assert response.status_code == 201, response.body
    return response.json_body


def _ledger_matches(school, card_id) -> bool:
    """The sum of the card's ledger equals its balances."""
    entries = cards_db.ledger_all(_tenant(school), card_id)
    summed = tuple(f"{sum(int(e[k]) for e in entries) / 100:.2f}" for k in ("credits", "amount"))
    return summed == _balances(school.front, card_id)


def _tenant(school) -> str:
    return auth.authenticate(f"Bearer {school.front.token}").tenant


def _event_fees(school, card_id) -> list[dict]:
    return [e for e in cards_db.ledger_all(_tenant(school), card_id) if e["movement"] == "event_fee"]


def test_a_booking_is_charged_its_fee_once_and_a_second_charge_is_refused(desk):  # noqa: F811
    event = _event(desk)
    lead, card = _member(desk, "小厨师")
    _book(desk, lead, event)  # the school charges at booking (the default): the lead's only card pays
    assert _balances(desk.front, card["id"]) == ("3.00", "0.00")
    again = _move(desk.front, card["id"], kind="event_fee", event_id=event["id"])
    assert again.status_code == 409 and again.json_body["error"]["code"] == "EVENT_FEE_ALREADY_CHARGED"
    assert _balances(desk.front, card["id"]) == ("3.00", "0.00") and len(_event_fees(desk, card["id"])) == 1
    assert _ledger_matches(desk, card["id"])


@race_rounds
def test_racing_charges_of_one_unpaid_booking_charge_it_once(desk, race_round):  # noqa: F811
    event = _event(desk)
    lead = desk.alice.post("/leads", lead_body(name="并发付费")).json_body
    _book(desk, lead, event)  # no card yet: the booking stays unpaid
    contract = _contract(desk.alice, [lead["id"]], credits="20", price="100.00")
    card = _card(desk.front, lead["id"], [contract["id"]])
    principal = auth.authenticate(f"Bearer {desk.front.token}")
    request = MovementRequest(kind="event_fee", event_id=event["id"])

    def charge(_):
        try:
            cards.move(principal, card["id"], request, key=None)
            return "charged"
        except ConflictError as exc:
            return exc.code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(charge, range(12)))
    race_report("charges of one booking (charged twice)", len(results), abs(results.count("charged") - 1))
    assert results.count("charged") == 1
    assert set(results) - {"charged"} <= {"EVENT_FEE_ALREADY_CHARGED", "CARD_BUSY", "BUSY"}
    assert _balances(desk.front, card["id"]) == ("18.00", "0.00") and _ledger_matches(desk, card["id"])


def test_a_cancelled_or_missing_booking_cannot_be_charged(desk):  # noqa: F811
    event = _event(desk)
    lead = desk.alice.post("/leads", lead_body(name="取消了")).json_body
    appointment = _book(desk, lead, event)
    assert desk.alice.delete(f"/appointments/{appointment['id']}").status_code == 204
    contract = _contract(desk.alice, [lead["id"]], credits="5", price="100.00")
    card = _card(desk.front, lead["id"], [contract["id"]])
    cancelled = _move(desk.front, card["id"], kind="event_fee", event_id=event["id"])
    assert cancelled.status_code == 409 and cancelled.json_body["error"]["code"] == "EVENT_NOT_BOOKED"
    other = _event(desk)  # never booked at all
    unbooked = _move(desk.front, card["id"], kind="event_fee", event_id=other["id"])
    assert unbooked.status_code == 409 and unbooked.json_body["error"]["code"] == "EVENT_NOT_BOOKED"
    assert _balances(desk.front, card["id"]) == ("5.00", "0.00")


def test_a_school_charging_at_arrival_charges_on_arrival_once_and_not_a_booking_cancelled_before(desk):  # noqa: F811
    assert desk.admin.patch("/settings/cards", {"event_fee_charge_at": "arrival"}).status_code == 200
    event = _event(desk, minutes_ahead=30, fee_amount="50.00")  # attendance opens before the start
    lead, card = _member(desk, "到场才付")
    _move(desk.front, card["id"], kind="top_up", amount="100", method="wechat")
    appointment = _book(desk, lead, event)
    assert _balances(desk.front, card["id"]) == ("5.00", "100.00")  # nothing at booking
    arrived = desk.front.patch(f"/appointments/{appointment['id']}", {"attendance": "arrived"})
    assert arrived.status_code == 200, arrived.body
    assert _balances(desk.front, card["id"]) == ("5.00", "50.00")
    desk.front.patch(f"/appointments/{appointment['id']}", {"attendance": "arrived"})  # marked twice
    assert _balances(desk.front, card["id"]) == ("5.00", "50.00") and len(_event_fees(desk, card["id"])) == 1

    early, early_card = _member(desk, "提前取消")
    _move(desk.front, early_card["id"], kind="top_up", amount="100", method="wechat")
    gone = _book(desk, early, event)
    assert desk.alice.delete(f"/appointments/{gone['id']}").status_code == 204  # before the charge point
    assert _balances(desk.front, early_card["id"]) == ("5.00", "100.00") and _event_fees(desk, early_card["id"]) == []


def test_a_cancellation_after_the_charge_refunds_once_even_if_the_delete_is_sent_again(desk):  # noqa: F811
    event = _event(desk)
    lead, card = _member(desk, "退费学员")
    appointment = _book(desk, lead, event)
    assert _balances(desk.front, card["id"]) == ("3.00", "0.00")
    for _ in range(3):  # the DELETE retried
        assert desk.alice.delete(f"/appointments/{appointment['id']}").status_code == 204
    assert _balances(desk.front, card["id"]) == ("5.00", "0.00")
    fees = _event_fees(desk, card["id"])
    assert sorted(e["credits"] for e in fees) == [-200, 200]  # one charge, one refund
    assert _ledger_matches(desk, card["id"])


def test_a_school_that_keeps_fees_refunds_nothing_on_cancel(desk):  # noqa: F811
    assert desk.admin.patch("/settings/cards", {"event_fee_refund_on_cancel": "none"}).status_code == 200
    event = _event(desk)
    lead, card = _member(desk, "不退费")
    appointment = _book(desk, lead, event)
    assert desk.alice.delete(f"/appointments/{appointment['id']}").status_code == 204
    assert _balances(desk.front, card["id"]) == ("3.00", "0.00") and len(_event_fees(desk, card["id"])) == 1
