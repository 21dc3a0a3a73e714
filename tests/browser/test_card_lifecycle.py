"""A card's life in the console (会员卡, issue 18): opened from a contract, a purchase and an
exchange, a shared sub-card for a sibling, a contract added, frozen with a reason and a last
day, unfrozen, reported lost and reissued under a new number. Each step is checked against
the API's own answer."""

from __future__ import annotations

import secrets
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import choose, pick, shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body


def _contract(who, lead_id: str, credits: str = "10") -> dict:
    today = school_today()
    made = who.post(
        "/contracts",
        {
            "lead_ids": [lead_id],
            "credits": credits,
            "price": "1000.00",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
        },
    )
    assert made.status_code == 201, made.body
    return made.json_body


def _lead(who, name: str) -> dict:
    made = who.post("/leads", lead_body(name=name))
    assert made.status_code == 201, made.body
    return made.json_body


def test_the_front_desk_opens_a_card_on_a_contract_and_runs_its_life(page, school):
    assert school.admin.patch("/settings/cards", {"exchange_rate": "50.00"}).status_code == 200
    consultant = school.staff("consultant")
    front = school.staff("frontdesk", display_name="前台小李")
    tag = secrets.token_hex(2)
    learner = _lead(consultant, "开卡学员" + tag)
    sibling = _lead(consultant, "开卡弟弟" + tag)
    first = _contract(consultant, learner["id"], "10")
    second = _contract(consultant, learner["id"], "4")

    sign_in(page, school, front, path=f"/contracts/{first['id']}")
    cards = page.get_by_role("region", name="会员卡")
    expect(cards).to_contain_text("10.00")  # credits not on a card yet
    cards.get_by_role("button", name="开卡").click()
    dialog = page.get_by_role("dialog", name="开卡")
    dialog.get_by_role("textbox", name="卡号").fill("LC-" + tag)
    dialog.get_by_role("button", name="开卡").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"会员卡 LC-{tag}")
    expect(page.locator("[data-wallet=credits]")).to_have_text("10.00")
    card_id = page.url.rsplit("/", 1)[1]
    assert school.admin.get(f"/contracts/{first['id']}").json_body["card_ids"] == [card_id]

    # the second contract onto the same card
    page.get_by_role("group", name="卡片管理").get_by_role("button", name="添加合同").click()
    dialog = page.get_by_role("dialog", name="添加合同")
    pick(page, "合同", "未分配 4.00 课时")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-wallet=credits]")).to_have_text("14.00")
    assert school.admin.get(f"/contracts/{second['id']}").json_body["card_ids"] == [card_id]

    # an exchange: 2 credits at the school's 50.00 a credit; then a purchase off that cash
    page.get_by_role("button", name="兑换").click()
    dialog = page.get_by_role("dialog", name="兑换")
    dialog.get_by_role("textbox", name="课时").fill("2")
    dialog.get_by_role("button", name="确定").click()
    expect(page.locator("[data-wallet=cash]")).to_have_text("100.00")
    page.get_by_role("button", name="购买").click()
    dialog = page.get_by_role("dialog", name="购买")
    dialog.get_by_role("textbox", name="金额").fill("30.50")
    dialog.get_by_role("button", name="确定").click()
    expect(page.locator("[data-wallet=cash]")).to_have_text("69.50")
    card = school.admin.get(f"/cards/{card_id}").json_body
    assert (card["credits"], card["cash"]) == ("12.00", "69.50")

    # a shared sub-card for the sibling, found by typing part of the name
    page.get_by_role("button", name="添加附属卡").click()
    dialog = page.get_by_role("dialog", name="添加附属卡")
    dialog.get_by_role("combobox", name="附属卡学员").fill("开卡弟弟" + tag)
    choose(page, "开卡弟弟" + tag)
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    related = page.get_by_role("list", name="关联的卡")
    expect(related).to_contain_text("附属卡")
    expect(related).to_contain_text("开卡弟弟" + tag)
    subs = school.admin.get(f"/cards/{card_id}").json_body["sub_card_ids"]
    assert len(subs) == 1 and school.admin.get(f"/cards/{subs[0]}").json_body["holder_lead_id"] == sibling["id"]

    # frozen with a reason until a day: no money actions; the reason is on the card
    until = (school_today() + timedelta(days=30)).isoformat()
    page.get_by_role("button", name="冻结").click()
    dialog = page.get_by_role("dialog", name=f"冻结 LC-{tag}")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog.get_by_role("alert")).to_contain_text("原因")  # a reason is required
    dialog.get_by_role("textbox", name="原因").fill("学员出国一个月")
    dialog.get_by_label("冻结至").fill(until)
    dialog.get_by_label("冻结至").press("Enter")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("学员出国一个月").first).to_be_visible()
    expect(page.get_by_role("button", name="充值")).to_be_disabled()
    card = school.admin.get(f"/cards/{card_id}").json_body
    assert (card["status"], card["frozen_reason"], card["frozen_until"]) == ("frozen", "学员出国一个月", until)
    shot(page, "card-frozen")
    page.get_by_role("button", name="解冻").click()
    page.get_by_role("dialog", name=f"解冻 LC-{tag}").get_by_role("button", name="确定").click()
    expect(page.get_by_role("button", name="充值")).to_be_enabled()
    assert school.admin.get(f"/cards/{card_id}").json_body["status"] == "active"

    # lost, then reissued under a new number: the balances and the sub-card move to it
    page.get_by_role("button", name="挂失").click()
    page.get_by_role("dialog", name=f"挂失 LC-{tag}").get_by_role("button", name="确定").click()
    expect(page.get_by_text("已挂失").first).to_be_visible()
    page.get_by_role("button", name="补办").click()
    dialog = page.get_by_role("dialog", name=f"补办 LC-{tag}")
    dialog.get_by_role("textbox", name="新卡号").fill("LC2-" + tag)
    dialog.get_by_role("button", name="确定").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"会员卡 LC2-{tag}")
    expect(page.locator("[data-wallet=credits]")).to_have_text("12.00")
    expect(page.locator("[data-wallet=cash]")).to_have_text("69.50")
    expect(page.get_by_role("list", name="关联的卡")).to_contain_text(f"LC-{tag}")  # reissued from
    history = page.get_by_role("region", name="卡片记录")
    expect(history).to_contain_text("补办的新卡")
    old = school.admin.get(f"/cards/{card_id}").json_body
    assert old["status"] == "replaced" and old["credits"] == "0.00"
    new = school.admin.get(f"/cards?number=LC2-{tag}").json_body["items"][0]
    assert new["sub_card_ids"] == subs and (new["credits"], new["cash"]) == ("12.00", "69.50")
    shot(page, "card-reissued")


def test_freezing_and_exchanges_are_not_offered_to_consultants(page, school):
    consultant = school.staff("consultant")
    learner = _lead(consultant, "顾问的学员" + secrets.token_hex(2))
    contract = _contract(consultant, learner["id"])
    card = consultant.post("/cards", {"holder_lead_id": learner["id"], "contract_ids": [contract["id"]]}).json_body
    sign_in(page, school, consultant, path=f"/cards/{card['id']}")
    manage = page.get_by_role("group", name="卡片管理")
    expect(manage.get_by_role("button", name="挂失")).to_be_visible()
    expect(manage.get_by_role("button", name="冻结")).to_have_count(0)  # the cash desk's
    expect(page.get_by_role("button", name="兑换")).to_have_count(0)
    expect(page.get_by_role("button", name="购买")).to_be_visible()
