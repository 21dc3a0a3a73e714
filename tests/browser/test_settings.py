"""Settings (设置, issue 18) in a real browser: an admin sees the frozen accounts (智能预警)
with why, and unfreezes one with a reason; the account can sign in again and the audit says
who unfroze it and why."""

from __future__ import annotations

from playwright.sync_api import expect

from chalicelib.domain import audit
from tests.browser.conftest import shot, sign_in


def test_an_admin_unfreezes_an_account_with_a_reason(page, school):
    consultant = school.staff("consultant", display_name="翻页的顾问")
    assert audit.freeze(school.slug, consultant.user["id"], "130 reads in the minute (limit 120)")
    assert consultant.get("/me").status_code in (401, 423)  # frozen: its token no longer works
    sign_in(page, school, school.admin)
    page.get_by_role("link", name="设置").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("智能预警：冻结的账号")
    frozen = page.get_by_role("region", name="智能预警：冻结的账号")
    row = frozen.get_by_role("row").filter(has_text="翻页的顾问")
    expect(row).to_contain_text("130 reads in the minute")
    shot(page, "settings-frozen")
    row.get_by_role("button", name="解冻").click()
    dialog = page.get_by_role("dialog", name="解冻 翻页的顾问")
    dialog.get_by_role("button", name="解冻").click()
    expect(dialog.get_by_role("alert")).to_contain_text("原因")  # a reason is required
    dialog.get_by_role("textbox", name="原因").fill("核实为正常工作")
    dialog.get_by_role("button", name="解冻").click()
    expect(dialog).to_be_hidden()
    expect(frozen.get_by_role("row").filter(has_text="翻页的顾问")).to_have_count(0)
    again = school.sign_in(consultant.user["username"], consultant.password)
    assert again.get("/me").status_code == 200
    entries = school.admin.get(f"/audit?user={school.admin.user['id']}").json_body["items"]
    assert any(e["action"] == "unfreeze" and "核实为正常工作" in (e.get("details") or "") for e in entries)


def test_a_manager_unfreezes_a_consultant_of_their_campus(page, school):
    """The manager's daily path, with the funnel in test_reports: the frozen accounts of their
    campus's staff, not another campus's, and an unfreeze with a reason."""
    mine = school.staff("consultant", display_name="本校区的顾问")
    north = school.admin.post("/campuses", {"name": "北山校区"}).json_body
    theirs = school.staff("consultant", display_name="北山的顾问", campus_ids=[north["id"]])
    for who in (mine, theirs):
        assert audit.freeze(school.slug, who.user["id"], "130 reads in the minute (limit 120)")
    manager = school.staff("manager")
    sign_in(page, school, manager)
    page.get_by_role("link", name="设置").click()
    frozen = page.get_by_role("region", name="智能预警：冻结的账号")
    expect(frozen.get_by_role("row").filter(has_text="本校区的顾问")).to_have_count(1)
    expect(frozen.get_by_role("row").filter(has_text="北山的顾问")).to_have_count(0)  # not their campus
    frozen.get_by_role("row").filter(has_text="本校区的顾问").get_by_role("button", name="解冻").click()
    dialog = page.get_by_role("dialog", name="解冻 本校区的顾问")
    dialog.get_by_role("textbox", name="原因").fill("店长核实：正常回访")
    dialog.get_by_role("button", name="解冻").click()
    expect(dialog).to_be_hidden()
    expect(frozen.get_by_role("row").filter(has_text="本校区的顾问")).to_have_count(0)
    assert school.sign_in(mine.user["username"], mine.password).get("/me").status_code == 200
    assert school.admin.get(f"/users/{theirs.user['id']}").json_body["frozen_at"] is not None
    entries = school.admin.get(f"/audit?user={manager.user['id']}").json_body["items"]
    assert any(e["action"] == "unfreeze" and "店长核实" in (e.get("details") or "") for e in entries)


def test_settings_are_not_offered_to_consultants_or_supervisors(page, school):
    for role in ("consultant", "supervisor"):
        sign_in(page, school, school.staff(role))
        expect(page.get_by_role("link", name="今日工作")).to_be_visible()
        expect(page.get_by_role("link", name="设置")).to_have_count(0)
        page.get_by_role("button", name="退出登录").click()
