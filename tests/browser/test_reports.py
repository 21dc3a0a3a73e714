"""Reports (查询统计, issue 18) in a real browser on the local API: each report page draws an
ECharts canvas under a heading naming the report, with the API's figures in the table under
it; ECharts is loaded by the report pages only. The figures come from the stream's aggregates,
so the test runs the stream processor over what it wrote (as Lambda would)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body
from tests.test_streams import Tap, lambda_like


def _with_new_leads(school, dynamodb_endpoint, tmp_path, n: int) -> None:
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    consultant = school.staff("consultant")
    for i in range(n):
        made = consultant.post("/leads", lead_body(name=f"报表客户{i}" + secrets.token_hex(2)))
        assert made.status_code == 201, made.body
    lambda_like(tap.drain(), batch_size=100)  # the stream keeps the report aggregates


def test_a_manager_reads_the_funnel_chart_and_its_figures_are_the_apis(page, school, dynamodb_endpoint, tmp_path):
    _with_new_leads(school, dynamodb_endpoint, tmp_path, 3)
    manager = school.staff("manager")
    today = school_today()
    figures = manager.get(f"/reports/funnel?from={today.replace(day=1).isoformat()}&to={today.isoformat()}").json_body
    assert figures["new_leads"] >= 3

    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(urlsplit(r.url).path))
    sign_in(page, school, manager)
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    assert not any("echarts" in path for path in loaded)  # not before a report page
    page.get_by_role("link", name="查询统计").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("转化漏斗")
    chart = page.get_by_role("img", name="转化漏斗")
    expect(chart.locator("canvas")).to_have_count(1)  # ECharts drew it
    assert any("echarts" in path for path in loaded)
    row = page.get_by_role("row").filter(has_text="新客户")
    expect(row.get_by_role("cell").nth(1)).to_have_text(str(figures["new_leads"]))
    expect(page.get_by_role("row").filter(has_text="签约").get_by_role("cell").nth(1)).to_have_text(
        str(figures["conversions"])
    )
    shot(page, "report-funnel")

    # the other reports: a canvas under a heading naming each
    for tab, name in (("顾问业绩", "顾问业绩"), ("渠道分析", "渠道分析"), ("财务", "财务")):
        page.get_by_role("navigation", name="查询统计").get_by_role("link", name=tab).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        expect(page.get_by_role("img", name=name).locator("canvas")).to_have_count(1)
        shot(page, {"顾问业绩": "report-consultants", "渠道分析": "report-sources", "财务": "report-finance"}[tab])
    sources = manager.get(f"/reports/sources?from={today.replace(day=1).isoformat()}&to={today.isoformat()}").json_body
    page.get_by_role("navigation", name="查询统计").get_by_role("link", name="渠道分析").click()
    for item in sources["items"]:
        label = item.get("label") or item["source"]
        expect(page.get_by_role("row").filter(has_text=label).first).to_contain_text(str(item["new_leads"]))


def test_a_report_table_exports_to_xlsx(page, school):
    manager = school.staff("manager")
    sign_in(page, school, manager, path="/reports/funnel")
    expect(page.get_by_role("heading", level=1)).to_have_text("转化漏斗")
    with page.expect_download() as download:
        page.get_by_role("button", name="导出 Excel").click()
    saved = download.value
    assert saved.suggested_filename.startswith("funnel-") and saved.suggested_filename.endswith(".xlsx")
    import io
    from pathlib import Path

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(Path(saved.path()).read_bytes()))
    assert book.worksheets and book.worksheets[0].max_row >= 2


def test_the_referral_ranking_shows_the_apis_figures_under_its_chart(page, school, dynamodb_endpoint, tmp_path):
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    consultant = school.staff("consultant")
    tag = secrets.token_hex(2)
    gold = consultant.post("/leads", lead_body(name="金牌家长" + tag)).json_body
    for i in range(3):
        referred = consultant.post("/leads", lead_body(name=f"朋友{i}{tag}", referrer_lead_id=gold["id"]))
        assert referred.status_code == 201, referred.body
    lambda_like(tap.drain(), batch_size=100)
    manager = school.staff("manager")
    figures = manager.get("/reports/referrals").json_body
    assert figures["items"][0]["lead_id"] == gold["id"] and figures["items"][0]["referrals"] == 3

    sign_in(page, school, manager, path="/reports/funnel")
    page.get_by_role("navigation", name="查询统计").get_by_role("link", name="转介绍").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("转介绍")
    expect(page.get_by_role("img", name="转介绍").locator("canvas")).to_have_count(1)
    row = page.get_by_role("row").filter(has_text="金牌家长" + tag)
    expect(row.get_by_role("cell").nth(2)).to_have_text(str(figures["items"][0]["referrals"]))
    expect(row.get_by_role("link", name="金牌家长" + tag)).to_be_visible()
    shot(page, "report-referrals")


def test_a_staff_referrer_chosen_in_the_lead_form_ranks_by_the_money_signed(page, school, dynamodb_endpoint, tmp_path):
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    consultant = school.staff("consultant")
    tag = secrets.token_hex(2)
    teacher = school.staff("teacher", display_name="推荐老师" + tag)
    parent = consultant.post("/leads", lead_body(name="热心家长" + tag)).json_body
    for i in range(2):
        assert (
            consultant.post("/leads", lead_body(name=f"家长朋友{i}{tag}", referrer_lead_id=parent["id"])).status_code
            == 201
        )
    manager = school.staff("manager")
    # the manager adds a lead the teacher referred, choosing the teacher in the lead form
    sign_in(page, school, manager, path="/leads")
    page.get_by_role("button", name="新建客户").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("姓名", exact=True).fill("老师的学生" + tag)
    dialog.get_by_label("家长姓名").fill("学生妈妈")
    dialog.get_by_label("电话").fill(lead_body()["guardians"][0]["phones"][0])
    pick(page, "推荐人（员工）", "推荐老师" + tag)
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    (made,) = [x for x in manager.get("/leads?limit=100").json_body["items"] if x["name"] == "老师的学生" + tag]
    assert made["referrer_user_id"] == teacher.user["id"]
    # it signs 2000.00 (the parent's friends sign nothing)
    today = school_today()
    signed = consultant.post(
        "/contracts",
        {
            "lead_ids": [made["id"]],
            "credits": "10",
            "price": "2000.00",
            "starts_on": today.isoformat(),
            "ends_on": today.replace(year=today.year + 1).isoformat(),
        },
    )
    assert signed.status_code == 201, signed.body
    lambda_like(tap.drain(), batch_size=100)

    page.goto("/reports/referrals")
    expect(page.get_by_role("heading", level=1)).to_have_text("转介绍")
    staff_row = page.get_by_role("row").filter(has_text="推荐老师" + tag)
    expect(staff_row.get_by_role("cell").nth(4)).to_have_text("2000.00")
    expect(staff_row.get_by_role("cell").nth(5)).to_have_text("员工")
    # most referred first: the parent; most money signed first: the teacher
    pick(page, "排序", "按转介绍人数")
    expect(page.get_by_role("row").nth(1)).to_contain_text("热心家长" + tag)
    pick(page, "排序", "按签约金额")
    expect(page.get_by_role("row").nth(1)).to_contain_text("推荐老师" + tag)
    shot(page, "report-referrals-amount")
