"""Receivables (应收欠费, issue 19) in a real browser on the local API: finance finds an overdue
instalment under 已逾期, records a payment towards a confirmed enrolment from its row (a double
click records it once: the Idempotency-Key), and the finance report shows the ageing; the
menu entry is not offered to teachers."""

from __future__ import annotations

import secrets
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body


def _overdue_contract(consultant) -> tuple[dict, dict]:
    """A lead whose contract's first instalment (500.00) fell due 40 days ago, the second in 20 days."""
    lead = consultant.post("/leads", lead_body(name="欠费学员" + secrets.token_hex(2))).json_body
    today = school_today()
    contract = consultant.post(
        "/contracts",
        {
            "lead_ids": [lead["id"]],
            "credits": "20",
            "price": "1000.00",
            "starts_on": (today - timedelta(days=60)).isoformat(),
            "ends_on": (today + timedelta(days=300)).isoformat(),
            "instalments": [
                {"due_on": (today - timedelta(days=40)).isoformat(), "amount": "500.00"},
                {"due_on": (today + timedelta(days=20)).isoformat(), "amount": "500.00"},
            ],
        },
    )
    assert contract.status_code == 201, contract.body
    return lead, contract.json_body


def _confirmed_enrolment(school, consultant) -> tuple[dict, dict]:
    """A cohort starting today and a lead enrolled and confirmed at 800.00 (due today)."""
    manager = school.staff("manager")
    tag = secrets.token_hex(2)
    programme = manager.post("/programmes", {"name": "美术" + tag}).json_body
    cohort = manager.post(
        f"/programmes/{programme['id']}/cohorts",
        {
            "campus_id": school.campus["id"],
            "name": "周六班" + tag,
            "starts_on": school_today().isoformat(),
            "price": "800.00",
            "seats": 5,
        },
    ).json_body
    lead = consultant.post("/leads", lead_body(name="报名学员" + tag)).json_body
    enrolment = consultant.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": lead["id"]})
    assert enrolment.status_code == 201, enrolment.body
    assert consultant.post(f"/enrolments/{enrolment.json_body['id']}/confirm").status_code == 200
    return lead, cohort


def _payment_keys(page) -> list[str]:
    keys: list[str] = []
    page.on(
        "request",
        lambda r: r.method == "POST" and r.url.endswith("/payments") and keys.append(r.headers["idempotency-key"]),
    )
    return keys


def test_finance_sees_an_overdue_instalment_and_records_an_enrolment_payment_once(page, school):
    consultant = school.staff("consultant", display_name="顾问小周")
    late, contract = _overdue_contract(consultant)
    learner, cohort = _confirmed_enrolment(school, consultant)
    finance = school.staff("finance", display_name="财务小李")
    sign_in(page, school, finance)
    page.get_by_role("link", name="应收欠费").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("应收欠费")
    page.get_by_role("radio", name="已逾期").dispatch_event("click")
    table = page.get_by_role("region", name="应收欠费")
    overdue = table.get_by_role("row").filter(has_text=late["name"])
    expect(overdue).to_have_count(1)  # the instalment due in 20 days is not overdue
    expect(overdue).to_contain_text("逾期 40 天")
    expect(overdue).to_contain_text("500.00")
    expect(overdue.get_by_role("link", name="合同 1/2")).to_have_attribute("href", f"/contracts/{contract['id']}")
    expect(table.get_by_role("row").filter(has_text=learner["name"])).to_have_count(0)
    expect(page.locator(".el-loading-mask")).to_have_count(0)
    shot(page, "receivables")

    # the enrolment's price, due today: not yet overdue
    page.get_by_role("radio", name="未到期").dispatch_event("click")
    row = table.get_by_role("row").filter(has_text=learner["name"])
    expect(row).to_contain_text("800.00")
    expect(row.get_by_role("link", name=f"{cohort['programme_name']}（{cohort['name']}）1/1")).to_have_attribute(
        "href", f"/cohorts/{cohort['id']}"
    )
    keys = _payment_keys(page)
    row.get_by_role("button", name=f"收款 {learner['name']}").click()
    dialog = page.get_by_role("dialog", name="收款")
    expect(dialog.get_by_role("textbox", name="金额")).to_have_value("800.00")  # what is owed
    pick(page, "支付方式", "微信")
    dialog.get_by_role("button", name="确定").dblclick()
    expect(dialog).to_be_hidden()
    expect(table.get_by_role("row").filter(has_text=learner["name"])).to_have_count(0)
    assert len(keys) == 2 and keys[0] == keys[1]  # two clicks, one key
    (enrolment,) = finance.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"]
    assert (enrolment["paid"], enrolment["balance_due"]) == ("800.00", "0.00")  # recorded once
    page.get_by_role("radio", name="已收清").dispatch_event("click")
    expect(table.get_by_role("row").filter(has_text=learner["name"])).to_contain_text(school_today().isoformat())
    paid = finance.get("/receivables?status=paid").json_body["items"]
    assert [(r["lead_names"], r["paid"]) for r in paid if r["source"] == "enrolment"] == [([learner["name"]], "800.00")]

    # the finance report's ageing: 500.00 overdue 31-60 days, 500.00 not yet due
    page.get_by_role("link", name="查询统计").click()
    page.get_by_role("navigation", name="查询统计").get_by_role("link", name="财务").click()
    ageing = page.get_by_role("region", name="账龄")
    expect(ageing.get_by_role("row").filter(has_text="逾期 31-60 天")).to_contain_text("500.00")
    expect(ageing.get_by_role("row").filter(has_text="未到期")).to_contain_text("500.00")
    expect(ageing.get_by_role("row").filter(has_text="逾期合计")).to_contain_text("500.00")
    ageing.scroll_into_view_if_needed()
    shot(page, "report-finance-ageing")


def test_a_cashier_records_an_enrolment_payment_on_the_cohorts_page_and_a_teacher_has_no_receivables(page, school):
    consultant = school.staff("consultant")
    learner, cohort = _confirmed_enrolment(school, consultant)
    teacher = school.staff("teacher")
    sign_in(page, school, teacher)
    expect(page.get_by_role("link", name="我的课程")).to_be_visible()
    expect(page.get_by_role("link", name="应收欠费")).to_have_count(0)
    page.get_by_role("button", name="退出登录").click()

    manager = school.staff("manager")
    sign_in(page, school, manager, path=f"/cohorts/{cohort['id']}")
    expect(page.locator(f"[data-paid='{learner['id']}']")).to_have_text("0.00")
    keys = _payment_keys(page)
    page.get_by_role("button", name=f"收款 {learner['name']}").click()
    dialog = page.get_by_role("dialog", name="收款")
    dialog.get_by_role("textbox", name="金额").fill("300.00")
    dialog.get_by_role("button", name="确定").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"[data-paid='{learner['id']}']")).to_have_text("300.00")
    assert len(keys) == 1
    (enrolment,) = manager.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"]
    assert (enrolment["paid"], enrolment["balance_due"]) == ("300.00", "500.00")
    # a consultant enrols but takes no money: no 收款 on the row
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, school, consultant, path=f"/cohorts/{cohort['id']}")
    expect(
        page.get_by_role("region", name="报名名单").get_by_role("row").filter(has_text=learner["name"])
    ).to_be_visible()
    expect(page.get_by_role("button", name=f"收款 {learner['name']}")).to_have_count(0)
