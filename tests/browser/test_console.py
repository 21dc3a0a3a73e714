"""The staff console in a real browser (Chromium), on the local API: a consultant's day
(sign in, today, a new lead, the duplicate-phone answer, a follow-up in the history), the
language switch, what a role is not offered, an expired session and a frozen account."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import choose, shot, sign_in
from tests.browser.conftest import shot as take_shot


def _phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_consultant_signs_in_adds_a_lead_sees_the_duplicate_phone_and_records_a_follow_up(page, school, size):
    """The consultant's path, at a desk and on a phone (390x844: the menu a row above the page,
    the leads list a column of cards, each row's values named by their column)."""
    consultant = school.staff("consultant", display_name="顾问小李")
    name, phone = "王小明" + secrets.token_hex(2), _phone()
    if size == "phone":
        page.set_viewport_size({"width": 390, "height": 844})

    def shot(page, picture: str) -> None:  # the pictures of docs/console.md are the desk's
        if size == "desktop":
            take_shot(page, picture)

    page.goto("/sign-in")
    shot(page, "sign-in")
    sign_in(page, school, consultant, path="")
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    expect(page.get_by_text("今日待跟进")).to_be_visible()  # the counts of /dashboard/today
    shot(page, "today")
    expect(page.get_by_text("顾问小李")).to_be_visible()

    page.get_by_role("link", name="客户").click()
    expect(page.get_by_role("heading", name="客户")).to_be_visible()
    page.get_by_role("button", name="新建客户").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("南山校区")).to_be_visible()  # the consultant's one campus, already chosen
    dialog.get_by_label("姓名", exact=True).fill(name)
    dialog.get_by_label("家长姓名").fill("王妈妈")
    dialog.get_by_label("电话").fill(phone)
    shot(page, "new-lead")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name=name)).to_be_visible()
    shot(page, "leads")
    if size == "phone":
        # a card per row: the phone's line is named by its column, under the name's line
        row = page.get_by_role("row").filter(has_text=name)
        phone_line = row.locator("td").filter(has_text=phone[-4:])
        expect(phone_line).to_have_attribute("data-label", "电话")
        name_box, phone_box = row.get_by_role("link", name=name).bounding_box(), phone_line.bounding_box()
        assert name_box and phone_box and phone_box["y"] > name_box["y"]  # stacked, not side by side
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        take_shot(page, "leads-phone")

    # the same phone again: the API's 409 DUPLICATE_PHONE message, in an alert and next to the phone field
    page.get_by_role("button", name="新建客户").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("姓名", exact=True).fill("李四")
    dialog.get_by_label("家长姓名").fill("李爸爸")
    dialog.get_by_label("电话").fill(phone)
    dialog.get_by_role("button", name="保存").click()
    again = consultant.post(
        "/leads",
        {"name": "李四", "guardians": [{"name": "李爸爸", "phones": [phone]}]},
        headers={"Accept-Language": "zh-CN"},
    )
    assert again.status_code == 409 and again.json_body["error"]["code"] == "DUPLICATE_PHONE"
    message = again.json_body["error"]["message"]
    expect(dialog.get_by_role("alert").first).to_contain_text(message)
    phone_field = dialog.locator(".el-form-item").filter(has=page.get_by_label("电话"))
    expect(phone_field.get_by_role("alert")).to_have_text(message)
    shot(page, "duplicate-phone")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="李四")).to_have_count(0)

    # the lead's page: its name is the main heading; a follow-up lands in the history
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.get_by_role("button", name="添加跟进").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_label("下次跟进")).to_be_visible()
    notes = "妈妈说周六上午可以来参观 " + secrets.token_hex(3)
    form.get_by_label("跟进内容").fill(notes)
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    expect(page.get_by_role("list", name="跟进记录")).to_contain_text(notes)
    shot(page, "lead")
    lead = consultant.get(f"/leads?q={phone}").json_body["items"]
    assert [item["follow_up_count"] for item in lead] == [1]


def test_lang_en_on_any_url_switches_to_english_is_remembered_and_the_menu_switches_back(page, school):
    consultant = school.staff("consultant")
    sign_in(page, school, consultant)
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()

    page.goto("/leads?lang=en")
    expect(page.get_by_role("link", name="Leads")).to_be_visible()
    expect(page.get_by_role("button", name="New lead")).to_be_visible()
    expect(page.get_by_label("Search")).to_be_visible()
    page.goto("/")  # no ?lang: remembered
    expect(page.get_by_role("heading", name="Today")).to_be_visible()

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    expect(page.get_by_role("link", name="客户")).to_be_visible()


def test_the_sign_in_page_in_english_and_a_wrong_password_shows_the_apis_message(page, school):
    consultant = school.staff("consultant")
    page.goto("/sign-in?lang=en")
    page.get_by_label("School").fill(school.slug)
    page.get_by_label("Username").fill(consultant.user["username"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_a_consultant_is_not_offered_the_staff_list_the_api_refuses_them_but_a_manager_is(page, school):
    consultant = school.staff("consultant")
    assert consultant.get("/users").status_code == 403
    sign_in(page, school, consultant)
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    expect(page.get_by_role("link", name="客户")).to_be_visible()
    expect(page.get_by_role("link", name="员工")).to_have_count(0)
    page.goto("/staff")  # typed in: not shown either
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()

    manager = school.staff("manager", display_name="店长")
    sign_in(page, school, manager, path="")
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    page.get_by_role("link", name="员工").click()
    expect(page.get_by_role("heading", name="员工")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=consultant.user["username"])
    expect(row).to_contain_text("consultant")


def test_an_expired_session_returns_to_sign_in_and_then_to_the_page_asked_for(page, school):
    consultant = school.staff("consultant")
    sign_in(page, school, consultant)
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    page.evaluate(
        """() => { const s = JSON.parse(sessionStorage.getItem('crm.session'));
                   s.token = 'expired.token.value'; sessionStorage.setItem('crm.session', JSON.stringify(s)); }"""
    )
    page.goto("/leads?scope=pool")
    expect(page.get_by_role("button", name="登录")).to_be_visible()  # GET /leads answered 401
    expect(page).to_have_url(re.compile(r"/sign-in\?redirect="))
    sign_in(page, school, consultant, path="")
    expect(page.get_by_role("heading", name="客户")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/leads\?scope=pool$"))


def test_a_frozen_account_gets_a_page_saying_so_and_who_can_unfreeze_it(page, school):
    from chalicelib.domain import audit

    consultant = school.staff("consultant")
    assert audit.freeze(school.slug, consultant.user["id"], "test: read too fast")
    sign_in(page, school, consultant)
    expect(page.get_by_role("heading", name="账号已被冻结")).to_be_visible()
    shot(page, "frozen")
    expect(page.get_by_text("管理员")).to_be_visible()


def test_a_consultant_picks_the_pool_scope_and_claims_a_lead_from_it(page, school):
    name = "公海客户" + secrets.token_hex(2)
    created = school.admin.post(
        "/leads",
        {"name": name, "campus_id": school.campus["id"], "to_pool": True, "guardians": [{"name": "家长"}]},
    )
    assert created.status_code == 201 and created.json_body["owner_id"] is None, created.body
    consultant = school.staff("consultant", display_name="顾问小王")
    sign_in(page, school, consultant, path="/leads")
    expect(page.get_by_role("heading", name="客户")).to_be_visible()
    page.get_by_role("combobox", name="范围").click(force=True)  # the selected text lies over it
    choose(page, "公海")
    expect(page).to_have_url(re.compile(r"scope=pool"))
    page.get_by_role("button", name=f"认领 {name}").click()
    expect(page.get_by_role("button", name=f"认领 {name}")).to_have_count(0)  # no longer in the pool
    lead = consultant.get(f"/leads/{created.json_body['id']}").json_body
    assert lead["owner_id"] == consultant.user["id"]
    page.get_by_role("combobox", name="范围").click(force=True)  # the selected text lies over it
    choose(page, "我的客户")
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("顾问小王")


def test_on_a_phone_the_menu_is_a_bar_above_the_page_and_the_leads_list_fits_the_screen(page, school):
    consultant = school.staff("consultant", display_name="顾问小周")
    name = "手机客户" + secrets.token_hex(2)
    made = consultant.post(
        "/leads",
        {"name": name, "campus_id": school.campus["id"], "guardians": [{"name": "家长", "phones": [_phone()]}]},
    )
    assert made.status_code == 201, made.body
    page.set_viewport_size({"width": 390, "height": 844})  # a phone held upright
    sign_in(page, school, consultant, path="/leads")
    heading = page.get_by_role("heading", name="客户")
    expect(heading).to_be_visible()
    menu = page.get_by_role("link", name="客户", exact=True).bounding_box()
    top = heading.bounding_box()
    assert menu and top and menu["y"] + menu["height"] <= top["y"]  # the menu sits above the page
    link = page.get_by_role("link", name=name)
    expect(link).to_be_visible()
    box = link.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390  # the lead's name is on screen
    search = page.get_by_role("searchbox", name="搜索").bounding_box()
    assert search and search["x"] + search["width"] <= 390
    shot(page, "leads-phone")
    link.click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def test_every_screen_of_the_console_fits_a_phone(page, school):
    """At 390x844 no screen is wider than the phone (tables scroll inside their own box), the
    menu is one row above the page, and each page's heading is on screen."""
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, school, school.admin)
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    for path, heading in (
        ("/leads", "客户"),
        ("/appointments", "预约"),
        ("/contracts", "合同"),
        ("/receivables", "应收欠费"),
        ("/cards", "会员卡"),
        ("/messages", "短信"),
        ("/messages/new", "新建群发"),
        ("/messages/templates", "模板"),
        ("/messages/templates/new", "新建模板"),
        ("/reports/funnel", "转化漏斗"),
        ("/reports/finance", "财务"),
        ("/reports/audit", "系统操作历史"),
        ("/programmes", "课程"),
        ("/leads/imports", "批量导入"),
        ("/settings/frozen", "智能预警：冻结的账号"),
        ("/settings/campuses", "校区"),
        ("/settings/lists", "字典"),
        ("/settings/assessment", "测评"),
        ("/settings/security", "安全：防爬取阈值"),
        ("/settings/messaging", "短信设置"),
        ("/settings/leads", "客户设置"),
        ("/settings/cards", "会员卡设置"),
        ("/settings/api-keys", "API 密钥"),
        ("/settings/announcements", "公告"),
        ("/settings/glossary", "常用语"),
        ("/settings/usage", "用量"),
        ("/staff", "员工"),
    ):
        page.goto(path)
        title = page.get_by_role("heading", level=1)
        expect(title).to_have_text(heading)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        box = title.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (path, box)
        if path == "/reports/funnel":
            expect(page.get_by_role("img", name="转化漏斗").locator("canvas")).to_have_count(1)
            shot(page, "report-phone")
    menu = page.get_by_role("navigation", name="主菜单").bounding_box()
    assert menu and menu["height"] < 60  # one row, however many entries
