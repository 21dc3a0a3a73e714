"""Administration (设置, issue 18) in a real browser: an admin's settings pages, each checked
through the API afterwards: campuses (add, rename), the school's lists, the assessment
(and the API's refusal in the alert), the security thresholds, quiet hours (in English), an
API key (its secret shown once, then revoked), an announcement with an attachment and a
glossary phrase, the month's usage; a manager's settings are the frozen accounts alone."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in


def _settings(page, tab: str, *, menu: str = "设置", nav: str = "设置") -> None:
    """From any page: the menu's settings link, then the settings navigation's tab."""
    page.get_by_role("navigation", name="主菜单" if menu == "设置" else "Main menu").get_by_role(
        "link", name=menu, exact=True
    ).click()
    page.get_by_role("navigation", name=nav, exact=True).get_by_role("link", name=tab, exact=True).click()


def test_an_admin_adds_a_campus_and_renames_it(page, school):
    sign_in(page, school, school.admin)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="设置", exact=True).click()
    # an admin's first settings page is still the frozen accounts (智能预警)
    expect(page.get_by_role("heading", level=1)).to_have_text("智能预警：冻结的账号")
    page.get_by_role("navigation", name="设置", exact=True).get_by_role("link", name="校区", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("校区")
    page.get_by_role("button", name="新建校区").click()
    dialog = page.get_by_role("dialog", name="新建校区")
    dialog.get_by_role("textbox", name="名称").fill("前海校区")
    dialog.get_by_role("textbox", name="地址").fill("深圳市南山区前海路 1 号")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    listed = page.get_by_role("region", name="校区")
    expect(listed.get_by_role("row").filter(has_text="前海校区")).to_contain_text("前海路 1 号")
    listed.get_by_role("row").filter(has_text="前海校区").get_by_role("button", name="编辑").click()
    dialog = page.get_by_role("dialog", name="编辑 前海校区")
    expect(dialog.get_by_role("textbox", name="名称")).to_have_value("前海校区")
    dialog.get_by_role("textbox", name="名称").fill("前海湾校区")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(listed.get_by_role("row").filter(has_text="前海湾校区")).to_have_count(1)
    shot(page, "settings-campuses")
    campuses = {c["name"]: c for c in school.admin.get("/campuses?limit=100").json_body["items"]}
    assert "前海校区" not in campuses
    assert campuses["前海湾校区"]["address"] == "深圳市南山区前海路 1 号"  # only the name was sent


def test_an_admin_adds_a_source_and_retires_another(page, school):
    before = school.admin.get("/settings/dictionaries/sources").json_body["entries"]
    retired = before[0]
    sign_in(page, school, school.admin)
    _settings(page, "字典")
    expect(page.get_by_role("heading", level=1)).to_have_text("字典")
    table = page.get_by_role("region", name="来源")
    expect(table.get_by_role("textbox", name=f"名称 {retired['key']}")).to_have_value(retired["label"])
    page.get_by_role("textbox", name="新条目名称").fill("抖音直播")
    page.get_by_role("textbox", name="新条目代码").fill("douyin_live")
    page.get_by_role("button", name="添加条目").click()
    expect(table.get_by_role("textbox", name="名称 douyin_live")).to_have_value("抖音直播")
    retire = table.get_by_role("checkbox", name=f"停用 {retired['key']}")
    retire.dispatch_event("click")  # Element Plus hides the native box under its own
    expect(retire).to_be_checked()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-lists")
    after = {e["key"]: e for e in school.admin.get("/settings/dictionaries/sources").json_body["entries"]}
    assert after["douyin_live"]["label"] == "抖音直播" and not after["douyin_live"]["retired"]
    assert after[retired["key"]]["retired"] is True
    assert len(after) == len(before) + 1


def test_an_admin_defines_a_questionnaire_and_sees_the_apis_refusal(page, school):
    sign_in(page, school, school.admin)
    _settings(page, "测评")
    expect(page.get_by_role("heading", level=1)).to_have_text("测评")
    page.get_by_role("button", name="添加问卷").click()
    survey = page.get_by_role("region", name="问卷 1")
    survey.get_by_role("textbox", name="问卷名称").fill("经济能力")
    question = survey.get_by_role("group", name="问题 1")
    question.get_by_role("textbox", name="问题 1").fill("家庭年收入？")
    question.get_by_role("textbox", name="选项 1").fill("20 万以下")
    question.get_by_role("textbox", name="选项 2").fill("20 万以上")
    question.get_by_role("spinbutton", name="分数 2").fill("80")
    levels = page.get_by_role("region", name="等级")
    page.get_by_role("button", name="添加等级").click()
    levels.get_by_role("textbox", name="等级 1").fill("A")
    levels.get_by_role("spinbutton", name="最低分 1").fill("60")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-assessment")
    config = school.admin.get("/settings/assessment").json_body
    [survey_saved] = config["questionnaires"]
    assert survey_saved["title"] == "经济能力"
    assert [(o["label"], o["score"]) for o in survey_saved["questions"][0]["options"]] == [
        ("20 万以下", 0),
        ("20 万以上", 80),
    ]
    assert [(lv["level"], lv["min_score"]) for lv in config["levels"]] == [("A", 60)]
    # an option without a label: the API refuses, its message is in the alert, nothing changes
    question.get_by_role("textbox", name="选项 1").fill("")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_contain_text("输入有误")
    assert school.admin.get("/settings/assessment").json_body == config


def test_an_admin_lowers_a_security_threshold(page, school):
    sign_in(page, school, school.admin)
    _settings(page, "安全")
    expect(page.get_by_role("heading", level=1)).to_have_text("安全：防爬取阈值")
    per_minute = page.get_by_role("spinbutton", name="每分钟读取上限")
    expect(per_minute).to_have_value(str(school.admin.get("/settings/security").json_body["reads_per_minute"]))
    per_minute.fill("90")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-security")
    security = school.admin.get("/settings/security").json_body
    assert security["reads_per_minute"] == 90
    assert security["reads_per_hour"] == 1500  # the rest as it was


def test_an_admin_changes_the_quiet_hours_in_english(page, school):
    sign_in(page, school, school.admin, path="/sign-in?lang=en", lang="en")
    _settings(page, "Messaging", menu="Settings", nav="Settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Messaging")
    pick(page, "Quiet hours from", "22:30", exact=True)
    pick(page, "Quiet hours until", "07:30", exact=True)
    page.get_by_role("spinbutton", name="Marketing messages a day per person").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved")
    shot(page, "settings-messaging")
    messaging = school.admin.get("/settings/messaging").json_body
    assert (messaging["quiet_from"], messaging["quiet_to"], messaging["marketing_daily_cap"]) == ("22:30", "07:30", 2)


def test_an_admin_creates_an_api_key_sees_it_once_and_revokes_it(page, school):
    sign_in(page, school, school.admin)
    _settings(page, "API 密钥")
    page.get_by_role("button", name="新建密钥").click()
    dialog = page.get_by_role("dialog", name="新建密钥")
    dialog.get_by_role("textbox", name="名称").fill("官网报名表")
    pick(page, "校区", school.campus["name"])
    dialog.get_by_role("button", name="保存").click()
    shown = page.get_by_role("dialog", name="新密钥：官网报名表")
    expect(shown).to_contain_text("只显示这一次")
    secret = shown.get_by_role("textbox", name="密钥").input_value()
    assert secret.startswith("pk_")
    shot(page, "settings-api-keys")
    [key] = school.admin.get("/settings/api-keys").json_body["items"]
    assert key["name"] == "官网报名表" and secret.startswith(key["prefix"]) and "key" not in key
    assert key["campus_id"] == school.campus["id"]
    shown.get_by_role("button", name="我已复制").click()
    expect(shown).to_be_hidden()
    expect(page.get_by_text(secret)).to_have_count(0)  # never shown again
    expect(page.locator(f"input[value='{secret}']")).to_have_count(0)
    row = page.get_by_role("region", name="API 密钥").get_by_role("row").filter(has_text="官网报名表")
    row.get_by_role("button", name="吊销 官网报名表").click()
    confirm = page.get_by_role("dialog", name="吊销 官网报名表")
    confirm.get_by_role("button", name="吊销").click()
    expect(confirm).to_be_hidden()
    expect(row).to_contain_text("已吊销")
    assert school.admin.get("/settings/api-keys").json_body["items"][0]["revoked"] is True


@pytest.fixture
def uploads(page):
    """The attachment's presigned PUT goes to the local file server (as `make run` starts it),
    here one of the test's own on a free port: the browser's request is passed on unchanged
    (the server checks its signature, type and If-None-Match) and its answer handed back."""
    from chalicelib.storage import store
    from infra.local import files
    from infra.local.dynamodb import free_port

    port = free_port()
    server = files.serve(store(), port)

    def forward(route) -> None:
        request = route.request
        where = urlsplit(request.url)
        target = f"http://127.0.0.1:{port}{where.path}?{where.query}"
        outgoing = urllib.request.Request(target, data=request.post_data_buffer, method=request.method)  # noqa: S310
        for name, value in request.headers.items():
            if name.lower() in ("content-type", "if-none-match"):
                outgoing.add_header(name, value)
        try:
            with urllib.request.urlopen(outgoing, timeout=10) as answer:  # noqa: S310
                status, body, headers = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as exc:
            status, body, headers = exc.code, exc.read(), dict(exc.headers)
        route.fulfill(status=status, body=body, headers=headers)

    page.route(re.compile(r"^http://127\.0\.0\.1:\d+/uploads/"), forward)
    yield
    server.shutdown()


PDF = b"%PDF-1.4\n" + "2027年春季课表".encode() + b"\n%%EOF\n"


def test_an_admin_posts_an_announcement_with_an_attachment_and_adds_a_phrase(page, school, uploads):
    sign_in(page, school, school.admin)
    _settings(page, "公告")
    expect(page.get_by_role("heading", level=1)).to_have_text("公告")
    page.get_by_role("textbox", name="标题").fill("春季课表")
    page.get_by_role("textbox", name="内容").fill("见附件，三月一日起执行。")
    attachment = {"name": "2027年春季课表.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.get_by_label("附件").set_input_files(attachment)
    page.get_by_role("button", name="发布").click()
    row = page.get_by_role("region", name="公告").get_by_role("row").filter(has_text="春季课表")
    expect(row).to_contain_text("2027年春季课表.pdf")
    expect(page.get_by_role("textbox", name="标题")).to_have_value("")
    shot(page, "settings-announcements")
    [made] = school.admin.get("/announcements").json_body["items"]
    assert (made["title"], made["body"]) == ("春季课表", "见附件，三月一日起执行。")
    assert (made["attachment"]["file_name"], made["attachment"]["size"]) == ("2027年春季课表.pdf", len(PDF))

    _settings(page, "常用语")
    expect(page.get_by_role("heading", level=1)).to_have_text("常用语")
    pick(page, "分类", "电话邀约", exact=True)  # the school's list glossary_categories
    page.get_by_role("textbox", name="内容").fill("您好，想邀请宝宝来体验一节免费的亲子课。")
    page.get_by_role("button", name="添加").click()
    phrases = page.get_by_role("region", name="常用语")
    expect(phrases.get_by_role("row").filter(has_text="电话邀约")).to_contain_text("免费的亲子课")
    shot(page, "settings-glossary")
    [phrase] = school.admin.get("/glossary").json_body["items"]
    assert (phrase["category"], phrase["text"]) == ("invitation", "您好，想邀请宝宝来体验一节免费的亲子课。")


def test_an_admin_reads_the_usage_of_a_month(page, school):
    sign_in(page, school, school.admin)
    _settings(page, "用量")
    expect(page.get_by_role("heading", level=1)).to_have_text("用量")
    month = page.get_by_role("combobox", name="月份").input_value()
    usage = school.admin.get(f"/usage?month={month}").json_body
    figures = page.get_by_role("region", name="用量")
    expect(figures).to_contain_text(re.compile(rf"月末有效客户\s*{usage['active_leads']}\b"))
    expect(figures).to_contain_text(re.compile(rf"短信条数\s*{usage['sms']}\b"))
    shot(page, "settings-usage")
    with page.expect_request(lambda r: "/usage?month=2025-01" in r.url) as asked:
        page.get_by_role("combobox", name="月份").fill("2025-01")
        page.get_by_role("combobox", name="月份").press("Enter")
    assert asked.value.response().status == 200
    expect(figures).to_contain_text(re.compile(r"月末有效客户\s*0\b"))


def test_a_manager_sees_only_the_alerts_in_settings(page, school):
    sign_in(page, school, school.staff("manager"))
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="设置", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("智能预警：冻结的账号")
    tabs = page.get_by_role("navigation", name="设置", exact=True).get_by_role("link")
    expect(tabs).to_have_text(["智能预警"])
    page.goto("/settings/campuses")  # not offered, and not opened either
    expect(page.get_by_role("heading", level=1)).to_have_text("今日工作")


def test_an_admin_sets_the_card_and_lead_rules(page, school):
    sign_in(page, school, school.admin)
    _settings(page, "会员卡设置")
    expect(page.get_by_role("heading", level=1)).to_have_text("会员卡设置")
    page.get_by_role("textbox", name="每课时兑换金额").fill("45.50")
    page.get_by_role("spinbutton", name="副卡上限").fill("2")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-cards")
    cards = school.admin.get("/settings/cards").json_body
    assert (cards["exchange_rate"], cards["max_sub_cards"]) == ("45.50", 2)

    page.get_by_role("navigation", name="设置", exact=True).get_by_role("link", name="客户设置", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("客户设置")
    page.get_by_role("spinbutton", name="每位顾问客户上限").fill("300")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-leads")
    leads = school.admin.get("/settings/leads").json_body
    assert leads["max_leads_per_consultant"] == 300
    assert leads["export_roles"] == ["manager", "admin"]  # the rest as it was


def test_an_admin_sets_the_retention_of_leads_and_turns_it_off(page, school):
    sign_in(page, school, school.admin)
    _settings(page, "客户设置")
    expect(page.get_by_role("heading", level=1)).to_have_text("客户设置")
    years = page.get_by_role("spinbutton", name="客户多少年无更新后抹去个人信息（年）")
    # THEN the page says it erases personal data for good
    expect(page.get_by_text(re.compile("个人信息无法恢复"))).to_be_visible()
    # WHEN the admin sets 3 years and saves: the API agrees
    years.fill("3")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-leads-retention")
    assert school.admin.get("/settings/leads").json_body["erase_untouched_after_years"] == 3
    # WHEN the admin empties it and saves: off
    years.fill("")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    expect(years).to_have_value("")
    assert school.admin.get("/settings/leads").json_body["erase_untouched_after_years"] is None


def test_an_admin_adds_a_holiday_greeting_and_an_email_signature(page, school):
    template = school.admin.post(
        "/templates", {"name": "元旦问候", "channel": "sms", "kind": "holiday", "body": "{{ holiday.name }}快乐"}
    ).json_body
    sign_in(page, school, school.admin)
    _settings(page, "短信设置")
    expect(page.get_by_role("heading", level=1)).to_have_text("短信设置")
    page.get_by_role("textbox", name="邮件签名").fill("小星星早教中心\n电话 0755-1234")
    holidays = page.get_by_role("region", name="节日问候")
    holidays.get_by_role("button", name="添加节日").click()
    holidays.get_by_role("textbox", name="节日 1").fill("元旦")
    holidays.get_by_role("textbox", name="日期 1").fill("01-01")
    pick(page, "模板 1", "元旦问候")
    pick(page, "发送对象 1", "所有可联系的客户")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    shot(page, "settings-messaging-holidays")
    messaging = school.admin.get("/settings/messaging").json_body
    assert messaging["email_signature"] == "小星星早教中心\n电话 0755-1234"
    assert messaging["holidays"] == [
        {
            "name": "元旦",
            "date": "01-01",
            "template_id": template["id"],
            "audience": "contactable",
            "channel": "sms",
        }
    ]
    # a day that is none: the API's refusal in the alert, nothing saved
    holidays.get_by_role("textbox", name="日期 1").fill("02-30")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("alert")).to_contain_text("holidays.0.date")
    holidays.get_by_role("button", name="删除 元旦").click()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    assert school.admin.get("/settings/messaging").json_body["holidays"] == []
