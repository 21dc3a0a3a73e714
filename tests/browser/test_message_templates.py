"""Message templates (模板) and a bulk send to ticked leads (issue 18) in a real browser on the
local API: an admin writes a template with the variables' buttons and its live preview on the
sample data (rendered by the API's own sandbox, with the SMS segments), edits it, deletes it,
and sees a syntax error's message; a consultant ticks two of three leads on the list and sends
them a message: the preview and the send record name exactly those two."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.conftest import without_quiet_hours
from tests.test_leads import lead_body

ZH = {"Accept-Language": "zh-CN"}


def _templates(session) -> dict[str, dict]:
    return {t["name"]: t for t in session.get("/templates").json_body["items"]}


def test_an_admin_writes_a_template_with_a_variable_and_its_live_preview_then_edits_and_deletes_it(page, school):
    admin = school.admin
    name = "试听邀请" + secrets.token_hex(2)
    sign_in(page, school, admin)
    page.get_by_role("link", name="短信").click()
    page.get_by_role("link", name="模板", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("模板")
    page.get_by_role("link", name="新建模板").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("新建模板")
    page.get_by_role("textbox", name="名称").fill(name)
    text = page.get_by_role("textbox", name="内容")
    text.fill("{{ guardian.name }}您好，请带来周六的体验课。")
    text.evaluate("el => el.setSelectionRange(el.value.indexOf('来'), el.value.indexOf('来'))")  # the cursor after 请带
    page.get_by_role("button", name="插入 learner.name").click()
    body = "{{ guardian.name }}您好，请带{{ learner.name }}来周六的体验课。"
    expect(text).to_have_value(body)
    expected = admin.post("/templates/preview", {"channel": "sms", "body": body}).json_body
    assert expected["text"] == "王妈妈您好，请带王小明来周六的体验课。"
    live = page.get_by_role("region", name="实时预览")
    expect(live.locator("[data-figure=text]")).to_have_text(expected["text"])  # the sample learner's name
    expect(live.locator("[data-figure=segments]")).to_have_text(str(expected["segments"]))
    # it follows the typing: a text over 70 Chinese characters is two SMS
    text.press("End")
    text.press_sequentially("欢迎" * 30)
    longer = admin.post("/templates/preview", {"channel": "sms", "body": body + "欢迎" * 30}).json_body
    assert longer["segments"] == 2
    expect(live.locator("[data-figure=segments]")).to_have_text("2")
    expect(live.locator("[data-figure=text]")).to_have_text(longer["text"])
    shot(page, "message-template")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("模板")
    saved = _templates(admin)[name]
    assert (saved["body"], saved["channel"], saved["kind"]) == (body + "欢迎" * 30, "sms", "general")
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text(longer["text"])

    # edit: a new name and the text back to the short one
    page.get_by_role("link", name=f"编辑 {name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("编辑模板")
    expect(page.get_by_role("textbox", name="内容")).to_have_value(body + "欢迎" * 30)
    page.get_by_role("textbox", name="名称").fill(name + "改")
    page.get_by_role("textbox", name="内容").fill(body)
    expect(live.locator("[data-figure=segments]")).to_have_text("1")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("模板")
    edited = _templates(admin)
    assert name not in edited and edited[name + "改"]["id"] == saved["id"] and edited[name + "改"]["body"] == body

    # delete
    page.get_by_role("button", name=f"删除 {name}改").click()
    dialog = page.get_by_role("dialog", name="删除模板")
    dialog.get_by_role("button", name="删除").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_have_count(0)
    assert name + "改" not in _templates(admin)


def test_a_template_with_a_syntax_error_shows_the_apis_message(page, school):
    bad = "{{ learner.name 您好"
    answer = school.admin.post("/templates/preview", {"channel": "sms", "body": bad}, headers=ZH)
    assert answer.status_code == 400
    message = answer.json_body["error"]["message"]
    assert "第 1 行语法错误" in message
    sign_in(page, school, school.admin, path="/messages/templates/new")
    page.get_by_role("textbox", name="名称").fill("坏模板")
    page.get_by_role("textbox", name="内容").fill(bad)
    live = page.get_by_role("region", name="实时预览")
    expect(live.get_by_role("alert")).to_have_text(message)
    expect(live.locator("[data-figure=text]")).to_have_count(0)
    page.get_by_role("button", name="保存").click()
    saving = page.get_by_role("alert").filter(has_text=message)
    expect(saving).to_have_count(2)  # the save's refusal too, above the form
    expect(page.get_by_role("heading", level=1)).to_have_text("新建模板")  # still here
    assert "坏模板" not in _templates(school.admin)


def test_a_consultant_reads_the_templates_and_is_offered_no_changes(page, school):
    consultant = school.staff("consultant")
    made = school.admin.post("/templates", {"name": "通知", "channel": "sms", "body": "{{ learner.name }}您好"})
    assert made.status_code == 201
    sign_in(page, school, consultant, path="/messages/templates")
    expect(page.get_by_role("row").filter(has_text="通知")).to_contain_text("王小明您好")  # read, as GET /templates
    expect(page.get_by_role("link", name="新建模板")).to_have_count(0)
    expect(page.get_by_role("button", name="删除 通知")).to_have_count(0)
    assert consultant.delete(f"/templates/{made.json_body['id']}").status_code == 403  # as the API says


def test_a_consultant_ticks_two_of_three_leads_and_sends_them_a_message(page, school):
    without_quiet_hours(school)
    consultant = school.staff("consultant")
    tag = "勾选" + secrets.token_hex(2)
    leads = [consultant.post("/leads", lead_body(name=f"{tag}{i}")).json_body for i in range(3)]
    assert all("id" in lead for lead in leads)
    chosen = [leads[0], leads[2]]
    body = "{{ learner.name }}家长您好，周六有公开课。"
    template = school.admin.post("/templates", {"name": "周六公开课" + tag, "channel": "sms", "body": body}).json_body

    sign_in(page, school, consultant, path=f"/leads?q={tag}")
    expect(page.get_by_role("link", name=f"{tag}1")).to_be_visible()
    send = page.get_by_role("button", name="群发短信")
    expect(send).to_be_disabled()
    for lead in chosen:
        box = page.get_by_role("checkbox", name=f"选择 {lead['name']}")
        label = box.locator("xpath=ancestor::label[1]")  # the input itself is hidden under its picture
        label.click()
        expect(box).to_be_checked()
        expect(label).to_have_class(re.compile(r"\bis-checked\b"))  # shown ticked, not only the input
    expect(page.get_by_role("checkbox", name=f"选择 {tag}1")).not_to_be_checked()
    expect(page.get_by_text("已选 2 位")).to_be_visible()
    page.wait_for_timeout(400)  # for the picture only: the tick's colour fades in over 0.25 s
    shot(page, "leads-ticked")
    send.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("新建群发")
    expect(page.get_by_role("radio", name="已选客户（2）")).to_be_checked()
    page.get_by_role("combobox", name="模板").dispatch_event("click")
    page.get_by_role("option", name=template["name"]).dispatch_event("click")
    expect(page.get_by_role("textbox", name="内容")).to_have_value(template["body"])
    page.get_by_role("button", name="预览").click()
    preview = page.get_by_role("region", name="发送预览")
    expect(preview.locator("[data-figure=would_send]")).to_have_text("2")
    rows = preview.get_by_role("row").filter(has_text=tag)
    expect(rows).to_have_count(2)
    for lead in chosen:
        expect(rows.filter(has_text=f"{lead['name']}家长您好")).to_have_count(1)
    expect(preview.get_by_role("row").filter(has_text=f"{tag}1")).to_have_count(0)
    preview.get_by_role("button", name="确认发送").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("发送记录")
    message_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    record = consultant.get(f"/messages/{message_id}")
    assert record.status_code == 200, record.body
    assert record.json_body["recipients"] == 2
    assert sorted(r["lead_id"] for r in record.json_body["items"]) == sorted(lead["id"] for lead in chosen)
    texts = {r["text"] for r in record.json_body["items"]}
    assert texts == {f"{lead['name']}家长您好，周六有公开课。" for lead in chosen}


def test_a_message_to_ticked_leads_at_a_set_time_is_scheduled_for_exactly_them(page, school):
    without_quiet_hours(school)
    consultant = school.staff("consultant")
    tag = "定时" + secrets.token_hex(2)
    leads = [consultant.post("/leads", lead_body(name=f"{tag}{i}")).json_body for i in range(2)]
    when = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )

    sign_in(page, school, consultant, path=f"/leads?q={tag}")
    box = page.get_by_role("checkbox", name=f"选择 {leads[1]['name']}")
    box.locator("xpath=ancestor::label[1]").click()
    expect(box).to_be_checked()
    page.get_by_role("button", name="群发短信").click()
    expect(page.get_by_role("radio", name="已选客户（1）")).to_be_checked()
    page.get_by_role("textbox", name="内容").fill("{{ learner.name }}您好")
    send_at = page.get_by_role("combobox", name="发送时间")
    send_at.fill(when.strftime("%Y-%m-%d %H:%M:%S"))
    send_at.press("Enter")
    page.get_by_role("button", name="预览").click()
    preview = page.get_by_role("region", name="发送预览")
    expect(preview.locator("[data-figure=would_send]")).to_have_text("1")
    expect(preview.get_by_role("row").filter(has_text=f"{leads[1]['name']}您好")).to_have_count(1)
    preview.get_by_role("button", name="确认发送").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("发送记录")
    record = consultant.get(f"/messages/{page.url.rstrip('/').rsplit('/', 1)[-1]}").json_body
    assert record["status"] == "scheduled"
    assert datetime.fromisoformat(record["send_at"]) == when
    assert [(r["lead_id"], r["status"]) for r in record["items"]] == [(leads[1]["id"], "queued")]
