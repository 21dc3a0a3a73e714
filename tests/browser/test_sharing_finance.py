"""Issue 19, parts 6 and 7 in a real browser: an admin chooses who reads follow-up history
(客户设置 → 谁可查看跟进记录), and the finance report shows this period against the previous
one and the same one last year, with the API's figures."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body
from tests.test_streams import Tap, lambda_like


def test_an_admin_lets_the_campus_read_follow_up_history(page, school):
    sign_in(page, school, school.admin)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="设置", exact=True).click()
    page.get_by_role("navigation", name="设置", exact=True).get_by_role("link", name="客户设置", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("客户设置")
    choices = page.get_by_role("radiogroup", name="谁可查看跟进记录")
    expect(choices.get_by_role("radio", name="能看到该客户的人（负责人、团队、校区店长）")).to_be_checked()
    choices.get_by_text("该客户所在校区的所有顾问").click()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-history-sharing")
    settings = school.admin.get("/settings/leads").json_body
    assert settings["history_visibility"] == "campus"
    assert settings["export_roles"] == ["manager", "admin"]  # the rest as it was


def test_the_finance_report_compares_with_last_month_and_last_year(page, school, dynamodb_endpoint, tmp_path):
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    today = school_today()
    first = today.replace(day=1)
    last_month = (first - timedelta(days=1)).replace(day=1)  # its 1st is in "1st .. today" a month back
    consultant, finance = school.staff("consultant"), school.staff("finance")
    lead = consultant.post("/leads", lead_body(name="对比学员")).json_body
    contract = consultant.post(
        "/contracts",
        {
            "lead_ids": [lead["id"]],
            "credits": "10",
            "price": "5000.00",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
        },
    ).json_body
    for amount, day in (("800.00", today), ("500.00", last_month), ("400.00", first.replace(year=first.year - 1))):
        paid = finance.post(
            f"/contracts/{contract['id']}/payments", {"amount": amount, "method": "cash", "paid_on": day.isoformat()}
        )
        assert paid.status_code == 201, paid.body
    lambda_like(tap.drain(), batch_size=100)
    figures = finance.get("/reports/finance").json_body
    assert (figures["revenue"], figures["previous"]["revenue"], figures["last_year"]["revenue"]) == (
        "800.00",
        "500.00",
        "400.00",
    )

    sign_in(page, school, finance, path="/reports/finance")
    expect(page.get_by_role("heading", level=1)).to_have_text("财务")
    compared = page.get_by_role("table").filter(has_text="上期（环比）")
    this = compared.get_by_role("row").filter(has_text="本期")
    expect(this).to_contain_text(f"{figures['from']} – {figures['to']}")
    expect(this).to_contain_text("800.00")
    previous = compared.get_by_role("row").filter(has_text="上期（环比）")
    expect(previous).to_contain_text(f"{figures['previous']['from']} – {figures['previous']['to']}")
    expect(previous).to_contain_text("500.00")
    expect(previous).to_contain_text("300.00 (+60.0%)")
    expect(compared.get_by_role("row").filter(has_text="去年同期（同比）")).to_contain_text("400.00 (+100.0%)")
    shot(page, "report-finance-compared")
