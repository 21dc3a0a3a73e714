"""The cards screen (会员卡, issue 18) in a real browser on the local API: the front desk finds
a member's card by its number, tops it up and deducts a lesson. Money actions carry an
Idempotency-Key: a double click, or clicking again after the answer was lost, moves the
balance once. Amounts are the API's decimal strings, shown as they come."""

from __future__ import annotations

import secrets
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body


def _member_card(school) -> tuple[object, dict]:
    """A front desk and a learner's card with a 10-credit contract (no cash yet)."""
    consultant, front = school.staff("consultant"), school.staff("frontdesk", display_name="前台小王")
    lead = consultant.post("/leads", lead_body(name="持卡学员" + secrets.token_hex(2))).json_body
    today = school_today()
    contract = consultant.post(
        "/contracts",
        {
            "lead_ids": [lead["id"]],
            "credits": "10",
            "price": "1000.00",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
        },
    )
    assert contract.status_code == 201, contract.body
    card = front.post("/cards", {"holder_lead_id": lead["id"], "contract_ids": [contract.json_body["id"]]})
    assert card.status_code == 201, card.body
    return front, card.json_body


def _movement_keys(page) -> list[str]:
    """The Idempotency-Key of every movement the page sends, as it sends them."""
    keys: list[str] = []

    def seen(request) -> None:
        if request.method == "POST" and request.url.endswith("/movements"):
            keys.append(request.headers.get("idempotency-key", ""))

    page.on("request", seen)
    return keys


def test_the_front_desk_finds_a_card_tops_it_up_with_a_double_click_and_deducts_a_lesson(page, school):
    front, card = _member_card(school)
    sign_in(page, school, front)
    page.get_by_role("link", name="会员卡").click()
    shot(page, "cards")
    page.get_by_role("textbox", name="卡号").fill(card["number"])
    page.get_by_role("button", name="查找").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"会员卡 {card['number']}")
    expect(page.locator("[data-wallet=credits]")).to_have_text("10.00")
    expect(page.locator("[data-wallet=cash]")).to_have_text("0.00")

    keys = _movement_keys(page)
    page.get_by_role("button", name="充值").click()
    dialog = page.get_by_role("dialog", name="充值")
    dialog.get_by_role("textbox", name="金额").fill("500.00")
    pick(page, "支付方式", "微信")
    dialog.get_by_role("button", name="确定").dblclick()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-wallet=cash]")).to_have_text("500.00")
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) >= 8  # two clicks, one key
    ledger = front.get(f"/cards/{card['id']}/ledger?kind=top_up").json_body["items"]
    assert [(m["amount"], m["method"]) for m in ledger] == [("500.00", "wechat")]  # charged once
    table = page.get_by_role("region", name="消费记录")
    expect(table.get_by_role("row").filter(has_text="充值")).to_have_count(1)

    page.get_by_role("button", name="扣课").click()
    dialog = page.get_by_role("dialog", name="扣课")
    dialog.get_by_role("textbox", name="课时").fill("1")
    dialog.get_by_role("button", name="确定").click()
    expect(page.locator("[data-wallet=credits]")).to_have_text("9.00")
    assert keys[2] != keys[0]  # another action, another key
    expect(table.get_by_role("row").filter(has_text="扣课")).to_have_count(1)
    # the ledger by kind
    pick(page, "类型", "充值", exact=True)
    expect(table.get_by_role("row").filter(has_text="扣课")).to_have_count(0)
    expect(table.get_by_role("row").filter(has_text="充值")).to_have_count(1)
    shot(page, "card")


def test_a_top_up_whose_answer_was_lost_is_sent_again_with_its_key_and_charged_once(page, school):
    front, card = _member_card(school)
    sign_in(page, school, front, path=f"/cards/{card['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"会员卡 {card['number']}")
    keys = _movement_keys(page)
    lost = []

    def lose_the_first_answer(route) -> None:
        if not lost:
            lost.append(route.fetch())  # the API applies the top-up; its answer never arrives
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/cards/*/movements", lose_the_first_answer)
    page.get_by_role("button", name="充值").click()
    dialog = page.get_by_role("dialog", name="充值")
    dialog.get_by_role("textbox", name="金额").fill("200.00")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog.get_by_role("alert")).to_be_visible()  # the console says it failed
    assert lost[0].status == 201  # ... though the API had done it
    dialog.get_by_role("button", name="确定").click()  # the front desk tries again
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-wallet=cash]")).to_have_text("200.00")  # not 400.00
    assert len(keys) == 2 and keys[0] == keys[1]
    ledger = front.get(f"/cards/{card['id']}/ledger?kind=top_up").json_body["items"]
    assert [m["amount"] for m in ledger] == ["200.00"]


def test_the_card_screen_fits_a_phone(page, school):
    front, card = _member_card(school)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone held upright
    sign_in(page, school, front, path=f"/cards/{card['id']}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"会员卡 {card['number']}")
    for control in (heading, page.get_by_role("button", name="充值"), page.get_by_role("button", name="扣课")):
        box = control.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box


def _todays_class(school) -> dict:
    """A class at the school's campus today (school time), 00:05-00:50: marking it is open."""
    manager = school.staff("manager")
    course = manager.post("/courses", {"name": "乐高" + secrets.token_hex(2), "lesson_cost": "1.5"}).json_body
    today = school_today()
    made = manager.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": school.campus["id"],
            "teacher": "陈老师",
            "capacity": 4,
            "slots": [{"weekday": today.isoweekday(), "start": "00:05", "end": "00:50"}],
            "start_date": today.isoformat(),
            "end_date": today.isoformat(),
        },
    )
    assert made.status_code == 201, made.body
    generated = manager.post(
        f"/classes/{made.json_body['id']}/sessions", {"from": today.isoformat(), "to": today.isoformat()}
    )
    assert generated.status_code in (200, 201), generated.body
    return {"course": course, "session": generated.json_body["sessions"][0]}


def test_the_front_desk_checks_a_member_into_todays_class_from_the_card(page, school):
    front, card = _member_card(school)
    made = _todays_class(school)
    sign_in(page, school, front, path=f"/cards/{card['id']}")
    expect(page.locator("[data-wallet=credits]")).to_have_text("10.00")
    keys = _movement_keys(page)
    check_ins: list[str] = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith("/check-ins") and check_ins.append(r.url))
    page.get_by_role("button", name="上课签到").click()
    dialog = page.get_by_role("dialog", name="上课签到")
    expect(dialog).to_contain_text(card["holder_name"])
    pick(page, "课节", made["course"]["name"])
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-wallet=credits]")).to_have_text("8.50")  # the course's lesson cost
    ledger = page.get_by_role("region", name="消费记录")
    expect(ledger.get_by_role("row").filter(has_text="上课签到")).to_have_count(1)
    assert len(check_ins) == 1 and keys == []
    seats = front.get(f"/sessions?date={school_today().isoformat()}&campus={school.campus['id']}").json_body["items"]
    (session,) = [s for s in seats if s["id"] == made["session"]["id"]]
    assert (session["regular"], session["seats_left"]) == (1, 3)
    # a second check-in of the same member is refused, with the API's reason, and takes nothing
    page.get_by_role("button", name="上课签到").click()
    dialog = page.get_by_role("dialog", name="上课签到")
    pick(page, "课节", made["course"]["name"])
    dialog.get_by_role("button", name="确定").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    assert front.get(f"/cards/{card['id']}").json_body["credits"] == "8.50"
