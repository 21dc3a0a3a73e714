"""Messages (短信, issue 18) in a real browser on the local API: a manager writes an SMS to the
leads of a list's filter, previews it first (who receives, who is skipped and why, the SMS
segments: the cost), sends it, and reads the send record with each recipient."""

from __future__ import annotations

import secrets

from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.test_leads import lead_body


def test_a_manager_previews_a_bulk_sms_to_a_filtered_list_then_sends_it(page, school):
    consultant, manager = school.staff("consultant"), school.staff("manager")
    tag = "群发" + secrets.token_hex(2)
    made = [consultant.post("/leads", lead_body(name=f"{tag}{i}")) for i in range(3)]
    assert all(m.status_code == 201 for m in made)
    expected = manager.post(
        "/messages?dry_run=true",
        {
            "channel": "sms",
            "text": "{{ learner.name }} 家长您好，周六有公开课。",
            "recipients": {"filter": {"scope": "visible", "q": tag}},
        },
    ).json_body
    assert expected["would_send"] == 3

    sign_in(page, school, manager)
    page.get_by_role("link", name="短信").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("短信")
    page.get_by_role("link", name="新建群发").click()
    page.get_by_role("textbox", name="搜索").fill(tag)
    page.get_by_role("textbox", name="内容").fill("{{ learner.name }} 家长您好，周六有公开课。")
    expect(page.get_by_role("button", name="确认发送")).to_have_count(0)  # the preview comes first
    page.get_by_role("button", name="预览").click()
    preview = page.get_by_role("region", name="发送预览")
    expect(preview.locator("[data-figure=would_send]")).to_have_text(str(expected["would_send"]))
    expect(preview.locator("[data-figure=segments]")).to_have_text(str(expected["segments"]))
    expect(preview.get_by_role("row").filter(has_text=f"{tag}0 家长您好")).to_have_count(1)  # rendered for each
    shot(page, "message-preview")
    preview.get_by_role("button", name="确认发送").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("发送记录")
    expect(page.locator("[data-figure=recipients]")).to_have_text("3")
    records = page.get_by_role("region", name="每位收件人")
    expect(records.get_by_role("row").filter(has_text=tag)).to_have_count(3)
    shot(page, "message")
    page.get_by_role("link", name="短信", exact=True).click()
    expect(page.get_by_role("region", name="发送记录").get_by_role("row")).to_have_count(2)  # the header and the send
    shot(page, "messages")
    sent = manager.get("/messages").json_body["items"]
    assert sent[0]["recipients"] == 3 and sent[0]["channel"] == "sms"


def test_changing_the_text_after_the_preview_asks_for_a_new_preview(page, school):
    manager = school.staff("manager")
    assert school.staff("consultant").post("/leads", lead_body(name="改稿")).status_code == 201
    sign_in(page, school, manager, path="/messages/new")
    page.get_by_role("textbox", name="内容").fill("您好")
    page.get_by_role("button", name="预览").click()
    expect(page.get_by_role("region", name="发送预览")).to_be_visible()
    page.get_by_role("textbox", name="内容").fill("您好，改过了")
    expect(page.get_by_role("region", name="发送预览")).to_have_count(0)
