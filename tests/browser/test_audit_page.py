"""The operation audit (系统操作历史, issue 18) in a real browser on the local API: an admin
filters GET /audit by a user, by a day and by a lead (reached from the lead's page), and the
rows are the API's answer for the same filters; a role GET /audit refuses is not offered the
tab (nor the link on a lead's page)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.test_leads import lead_body


def _at(path: str) -> re.Pattern[str]:
    """The page's URL ends with this path and query, exactly."""
    return re.compile(re.escape(path) + "$")


def _what(item: dict) -> str:
    return " ".join(part for part in (item.get("method"), item.get("route")) if part)


def _rows_match(page, answer: dict) -> None:
    """The table's rows are the API's items, in its order: time shown, the route, the action."""
    table = page.get_by_role("region", name="系统操作历史")
    rows = table.locator(".el-table__body-wrapper").get_by_role("row")
    expect(rows).to_have_count(len(answer["items"]))
    for row, item in zip(rows.all(), answer["items"], strict=True):
        expect(row).to_contain_text(_what(item))
        expect(row).to_contain_text(item["username"])


def test_an_admin_filters_the_audit_by_a_user_a_day_and_a_lead(page, school):
    name = "审计顾问" + secrets.token_hex(2)
    consultant = school.staff("consultant", display_name=name)
    lead = consultant.post("/leads", lead_body(name="审计客户" + secrets.token_hex(2))).json_body
    assert consultant.get(f"/leads/{lead['id']}").status_code == 200
    made = consultant.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "电话沟通"})
    assert made.status_code == 201, made.body
    admin = school.admin
    user_id = consultant.user["id"]

    sign_in(page, school, admin, path="/reports/funnel")
    expect(page.get_by_role("heading", level=1)).to_have_text("转化漏斗")
    page.get_by_role("navigation", name="查询统计").get_by_role("link", name="系统操作历史").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("系统操作历史")

    # by a user: the select lists the staff of GET /users
    pick(page, "员工", name)
    expect(page).to_have_url(_at(f"/reports/audit?user={user_id}"))
    answer = admin.get(f"/audit?user={user_id}&limit=50").json_body
    assert {_what(i) for i in answer["items"]} >= {"GET /leads/{lead_id}", "POST /leads/{lead_id}/follow-ups"}
    _rows_match(page, answer)
    follow_up = page.get_by_role("row").filter(has_text="POST /leads/{lead_id}/follow-ups")
    expect(follow_up).to_contain_text("修改")  # a write
    expect(follow_up).to_contain_text("状态 201")

    # and a day (the API's days are UTC days): today's are the same, the day before has none
    today = datetime.now(UTC).date()
    day = page.get_by_role("combobox", name="日期", exact=True)
    day.fill(today.isoformat())
    day.press("Enter")
    expect(page).to_have_url(_at(f"/reports/audit?user={user_id}&day={today.isoformat()}"))
    _rows_match(page, admin.get(f"/audit?user={user_id}&from={today}&to={today}&limit=50").json_body)
    shot(page, "audit")
    before = (today - timedelta(days=1)).isoformat()
    day.fill(before)
    day.press("Enter")
    expect(page).to_have_url(_at(f"/reports/audit?user={user_id}&day={before}"))
    expect(page.get_by_text("没有记录")).to_be_visible()
    assert admin.get(f"/audit?user={user_id}&from={before}&to={before}").json_body["items"] == []

    # by a lead, from the lead's page: its reads and writes by everyone (this admin's too)
    page.goto(f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    page.get_by_role("link", name="该客户的系统操作历史").click()
    expect(page).to_have_url(_at(f"/reports/audit?lead={lead['id']}"))
    expect(page.get_by_role("textbox", name="客户编号")).to_have_value(lead["id"])
    expect(
        page.get_by_role("region", name="系统操作历史").get_by_role("row").filter(has_text=name).first
    ).to_be_visible()
    answer = admin.get(f"/audit?lead={lead['id']}&limit=50").json_body
    assert {i["username"] for i in answer["items"]} >= {consultant.user["username"], "admin"}
    _rows_match(page, answer)

    # 清除: every filter goes; the lead's id typed in the box filters again
    page.get_by_role("button", name="清除").click()
    expect(page).to_have_url(_at("/reports/audit"))
    box = page.get_by_role("textbox", name="客户编号")
    box.fill(lead["id"])
    box.press("Enter")
    expect(page).to_have_url(_at(f"/reports/audit?lead={lead['id']}"))


def test_a_page_of_50_entries_loads_more_by_cursor(page, school):
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(name="翻页客户" + secrets.token_hex(2))).json_body
    for _ in range(55):
        assert consultant.get(f"/leads/{lead['id']}").status_code == 200
    sign_in(page, school, school.admin, path=f"/reports/audit?user={consultant.user['id']}")
    rows = page.get_by_role("region", name="系统操作历史").locator(".el-table__body-wrapper").get_by_role("row")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="加载更多").click()
    answer = school.admin.get(f"/audit?user={consultant.user['id']}&limit=100").json_body
    assert len(answer["items"]) == 56  # the lead made, then read 55 times
    expect(rows).to_have_count(56)
    expect(page.get_by_role("button", name="加载更多")).to_have_count(0)


def test_the_audit_is_not_offered_to_a_role_the_api_refuses(page, school):
    supervisor = school.staff("supervisor")
    lead = supervisor.post("/leads", lead_body(name="主管客户" + secrets.token_hex(2))).json_body
    assert supervisor.get("/audit").status_code == 403
    sign_in(page, school, supervisor, path="/reports/funnel")
    tabs = page.get_by_role("navigation", name="查询统计")
    expect(tabs.get_by_role("link", name="转化漏斗")).to_be_visible()
    expect(tabs.get_by_role("link", name="系统操作历史")).to_have_count(0)
    page.goto(f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    expect(page.get_by_role("link", name="该客户的系统操作历史")).to_have_count(0)
    page.goto("/reports/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("今日工作")  # the route is not theirs either


def test_a_manager_reads_the_audit_in_english(page, school):
    manager = school.staff("manager")
    sign_in(page, school, manager, path="/reports/audit?lang=en", lang="en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit")
    expect(page.get_by_role("navigation", name="Reports").get_by_role("link", name="Audit")).to_be_visible()
    answer = manager.get("/audit?limit=50").json_body
    assert answer["items"], "the manager's own sign-in and reads are entries of their campus"
    rows = page.get_by_role("region", name="Audit").locator(".el-table__body-wrapper").get_by_role("row")
    expect(rows.first).to_be_visible()
