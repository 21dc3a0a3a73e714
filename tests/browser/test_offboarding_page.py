"""离职交接 and 员工档案 in a real browser (docs/staff.md): on 员工, an admin offboards a
consultant to a colleague (the summary shows what moved, the row shows 已停用), and keeps a
colleague's employee record with the ID number shown masked."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.browser.test_staff import _me
from tests.test_leads import lead_body


def test_an_admin_offboards_a_consultant_to_a_colleague(page, school, api_url):
    alice = school.staff("consultant", display_name="顾问李娜")
    bob = school.staff("consultant", display_name="顾问王强")
    lead = alice.post("/leads", lead_body(name="小明")).json_body
    sign_in(page, school, school.admin)
    page.get_by_role("link", name="员工").click()
    row = page.get_by_role("row").filter(has_text="顾问李娜")
    row.get_by_role("button", name="离职交接").click()
    dialog = page.get_by_role("dialog", name="顾问李娜 离职交接")
    pick(page, "交接给", "顾问王强（顾问）")
    dialog.get_by_role("button", name="离职交接").click()
    summary = dialog.get_by_role("region", name="交接结果")
    expect(summary).to_contain_text("交接已完成")
    expect(summary).to_contain_text("客户：转交 1 个，进入公海 0 个")
    shot(page, "staff-offboard")
    dialog.get_by_role("button", name="关闭", exact=True).click()
    expect(row).to_contain_text("已停用")
    assert school.admin.get(f"/leads/{lead['id']}").json_body["owner_id"] == bob.user["id"]
    assert _me(api_url, alice.token) == 401  # where the change was made: at once (elsewhere within 30 s)


def test_an_admin_keeps_an_employee_record(page, school):
    school.staff("consultant", display_name="顾问小周")
    sign_in(page, school, school.admin)
    page.get_by_role("link", name="员工").click()
    page.get_by_role("row").filter(has_text="顾问小周").get_by_role("button", name="档案").click()
    dialog = page.get_by_role("dialog", name="顾问小周 的员工档案")
    dialog.get_by_role("textbox", name="电话").fill("13800138000")
    dialog.get_by_role("textbox", name="身份证号").fill("11010519491231002X")
    dialog.get_by_role("textbox", name="备注").fill("周末值班")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("row").filter(has_text="顾问小周").get_by_role("button", name="档案").click()
    dialog = page.get_by_role("dialog", name="顾问小周 的员工档案")
    expect(dialog.get_by_role("textbox", name="身份证号")).to_have_value("1101**********002X")
    expect(dialog.get_by_role("textbox", name="备注")).to_have_value("周末值班")
    dialog.get_by_role("textbox", name="身份证号").fill("1101**********9999")  # not the one on record
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
