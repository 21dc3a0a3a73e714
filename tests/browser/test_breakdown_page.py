"""The breakdown report (分类统计) in a real browser: a chart and a table of leads and members by
a list field, the figures the API answers; the field is chosen from the built-in lists and the
school's own list fields."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body
from tests.test_streams import Tap, lambda_like


def test_the_breakdown_page_shows_the_apis_figures_by_source_and_by_status(page, school, dynamodb_endpoint, tmp_path):
    # GIVEN leads from three sources, their figures kept by the stream
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    consultant = school.staff("consultant")
    for source, n in (("website", 3), ("referral", 2), ("ad", 1)):
        for i in range(n):
            assert consultant.post("/leads", lead_body(name=f"分类{source}{i}", source=source)).status_code == 201
    lambda_like(tap.drain(), batch_size=100)
    manager = school.staff("manager")
    today = school_today()
    figures = manager.get(
        f"/reports/breakdown?field=source&from={today.replace(day=1).isoformat()}&to={today.isoformat()}"
    ).json_body

    # WHEN the manager opens the breakdown under the reports
    sign_in(page, school, manager, path="/reports/funnel")
    page.get_by_role("navigation", name="查询统计").get_by_role("link", name="分类统计").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("分类统计")
    # THEN the chart is drawn and every row shows the API's figures, in its order
    expect(page.get_by_role("img", name="客户来源").locator("canvas")).to_have_count(1)
    expect(page.get_by_text(f"共 {figures['leads']} 条线索，{figures['members']} 位会员")).to_be_visible()
    body_rows = page.locator(".el-table__body").get_by_role("row")
    expect(body_rows).to_have_count(len(figures["items"]))
    for n, item in enumerate(figures["items"]):
        cells = body_rows.nth(n).get_by_role("cell")
        expect(cells.nth(0)).to_have_text(item["label"] or item["key"])
        expect(cells.nth(1)).to_have_text(str(item["leads"]))
        expect(cells.nth(2)).to_have_text(str(item["members"]))
    assert [i["key"] for i in figures["items"][:3]] == ["website", "referral", "ad"]
    shot(page, "report-breakdown")

    # WHEN another field is chosen, THEN the table is that field's
    pick(page, "统计字段", "客户状态")
    expect(page).to_have_url(re.compile(r"field=status"))
    expect(
        page.locator(".el-table__body").get_by_role("row").filter(has_text="潜在").get_by_role("cell").nth(1)
    ).to_have_text("6")
