"""Contracts (合同, issue 18) in a real browser on the local API: finance finds the month's
contracts, records a payment (a double click records it once: the Idempotency-Key) and a
refund with its reason; the amounts shown are the API's decimal strings."""

from __future__ import annotations

import secrets
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import choose, pick, shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body


def _signed(school) -> tuple[dict, dict]:
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(name="签约学员" + secrets.token_hex(2))).json_body
    today = school_today()
    contract = consultant.post(
        "/contracts",
        {
            "lead_ids": [lead["id"]],
            "credits": "20",
            "price": "1200.00",
            "discount": "200.00",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=180)).isoformat(),
        },
    )
    assert contract.status_code == 201, contract.body
    return lead, contract.json_body


def test_finance_records_a_payment_with_a_double_click_once_and_then_a_refund(page, school):
    lead, contract = _signed(school)
    finance = school.staff("finance", display_name="财务小李")
    sign_in(page, school, finance)
    page.get_by_role("link", name="合同").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("合同")
    expect(page.get_by_role("link", name=lead["name"])).to_be_visible()
    shot(page, "contracts")
    page.get_by_role("link", name=lead["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"合同：{lead['name']}")
    expect(page.locator("[data-money=net]")).to_have_text("1000.00")
    expect(page.locator("[data-money=due]")).to_have_text("1000.00")

    keys: list[str] = []
    page.on(
        "request",
        lambda r: r.method == "POST" and r.url.endswith("/payments") and keys.append(r.headers["idempotency-key"]),
    )
    page.get_by_role("button", name="收款").click()
    dialog = page.get_by_role("dialog", name="收款")
    dialog.get_by_role("textbox", name="金额").fill("1000.00")
    pick(page, "支付方式", "支付宝")
    dialog.get_by_role("button", name="确定").dblclick()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-money=paid]")).to_have_text("1000.00")
    expect(page.locator("[data-money=due]")).to_have_text("0.00")
    assert len(keys) == 2 and keys[0] == keys[1]  # two clicks, one key
    stored = finance.get(f"/contracts/{contract['id']}").json_body
    assert [(p["kind"], p["amount"], p["method"]) for p in stored["payments"]] == [("payment", "1000.00", "alipay")]

    page.get_by_role("button", name="退费").click()
    dialog = page.get_by_role("dialog", name="退费")
    dialog.get_by_role("textbox", name="金额").fill("300.00")
    dialog.get_by_role("textbox", name="扣回课时").fill("6")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog.get_by_role("alert")).to_contain_text("原因")  # a refund says why
    dialog.get_by_role("textbox", name="原因").fill("家长搬家")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-money=refunded]")).to_have_text("300.00")
    expect(page.get_by_role("cell", name="6.00", exact=True)).to_be_visible()  # the credits clawed back
    records = page.get_by_role("region", name="收退款记录")
    expect(records.get_by_role("row").filter(has_text="退费").filter(has_text="家长搬家")).to_have_count(1)
    expect(records.get_by_role("row").filter(has_text="收款")).to_have_count(1)
    stored = finance.get(f"/contracts/{contract['id']}").json_body
    assert [(p["kind"], p["amount"]) for p in stored["payments"]] == [("payment", "1000.00"), ("refund", "300.00")]
    assert stored["refunded"] == "300.00"
    shot(page, "contract")


def test_the_contracts_menu_is_for_those_who_may_list_them(page, school):
    front = school.staff("frontdesk")
    sign_in(page, school, front)
    expect(page.get_by_role("link", name="会员卡")).to_be_visible()
    expect(page.get_by_role("link", name="合同")).to_have_count(0)


def test_a_consultant_signs_a_contract_with_two_instalments_from_the_leads_page(page, school):
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(name="签约新生" + secrets.token_hex(2))).json_body
    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    page.get_by_role("button", name="签约").click()
    dialog = page.get_by_role("dialog", name="签约")
    dialog.get_by_role("textbox", name="课时", exact=True).fill("48")
    dialog.get_by_role("textbox", name="价格").fill("9600.00")
    dialog.get_by_role("textbox", name="优惠").fill("600.00")
    expect(dialog.locator("[data-money=net]")).to_have_text("9000.00")
    for _ in range(2):
        dialog.get_by_role("button", name="添加分期").click()
    dialog.get_by_role("textbox", name="金额 1").fill("4500.00")
    dialog.get_by_role("textbox", name="金额 2").fill("4000.00")  # 500.00 short of the net price
    dialog.get_by_role("button", name="签约").click()
    expect(dialog.get_by_role("alert")).to_be_visible()  # the API's refusal: instalments ≠ net price
    dialog.get_by_role("textbox", name="金额 2").fill("4500.00")
    posts: list[str] = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith("/contracts") and posts.append(r.url))
    dialog.get_by_role("button", name="签约").dblclick()  # the second click, while the first is answered: ignored
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("row").filter(has_text="9000.00")).to_have_count(1)  # the lead's contracts
    signed = consultant.get(f"/leads/{lead['id']}").json_body
    assert len(posts) == 1 and len(signed["contract_ids"]) == 1  # signed once
    contract = consultant.get(f"/contracts/{signed['contract_ids'][0]}").json_body
    assert (contract["credits"], contract["net_price"]) == ("48.00", "9000.00")
    assert [i["amount"] for i in contract["instalments"]] == ["4500.00", "4500.00"]


def test_a_contract_is_signed_for_two_siblings(page, school):
    consultant = school.staff("consultant")
    tag = secrets.token_hex(2)
    elder = consultant.post("/leads", lead_body(name="姐姐" + tag)).json_body
    younger = consultant.post("/leads", lead_body(name="弟弟" + tag)).json_body
    sign_in(page, school, consultant, path=f"/leads/{elder['id']}")
    page.get_by_role("button", name="签约").click()
    dialog = page.get_by_role("dialog", name="签约")
    dialog.get_by_role("combobox", name="其他学员").fill("弟弟" + tag)
    choose(page, "弟弟" + tag)
    expect(dialog.get_by_role("list", name="其他学员")).to_contain_text("弟弟" + tag)
    dialog.get_by_role("textbox", name="课时", exact=True).fill("20")
    dialog.get_by_role("textbox", name="价格").fill("4000.00")
    dialog.get_by_role("button", name="签约").click()
    expect(dialog).to_be_hidden()
    (contract_id,) = consultant.get(f"/leads/{elder['id']}").json_body["contract_ids"]
    contract = consultant.get(f"/contracts/{contract_id}").json_body
    assert contract["lead_ids"] == [elder["id"], younger["id"]]
    assert consultant.get(f"/leads/{younger['id']}").json_body["contract_ids"] == [contract_id]
