"""Printing and the glossary in a real browser (issue 19 part 8): the lead page's 打印 opens
the printable customer record in a new tab; an admin edits a phrase of the glossary (its
text and its category, from the school's list)."""

from __future__ import annotations

import secrets

from playwright.sync_api import expect

from tests.browser.conftest import choose, sign_in
from tests.test_leads import lead_body


def test_print_opens_the_customer_record_in_a_new_tab(page, school):
    consultant = school.staff("consultant")
    name = "打印的孩子" + secrets.token_hex(2)
    lead = consultant.post("/leads", lead_body(name=name)).json_body
    consultant.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "约了周六试听"})
    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="打印").click()
    record = opened.value
    record.wait_for_load_state()
    expect(record.get_by_role("heading", level=1)).to_contain_text(name)
    expect(record.get_by_role("region", name="跟进记录")).to_contain_text("约了周六试听")
    assert record.url.startswith("blob:")  # fetched with the token, then opened
    expect(page.get_by_role("alert")).to_have_count(0)


def test_an_admin_edits_a_phrase_and_files_it_under_another_category(page, school):
    phrase = school.admin.post("/glossary", {"category": "pricing", "text": "首期课程 3980 元。"}).json_body
    sign_in(page, school, school.admin)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="设置", exact=True).click()
    page.get_by_role("navigation", name="设置", exact=True).get_by_role("link", name="常用语", exact=True).click()
    phrases = page.get_by_role("region", name="常用语")
    expect(phrases.get_by_role("row").filter(has_text="首期课程")).to_contain_text("价格")
    phrases.get_by_role("button", name="编辑 首期课程 3980 元。").click()
    dialog = page.get_by_role("dialog", name="编辑常用语")
    expect(dialog.get_by_role("textbox", name="内容")).to_have_value("首期课程 3980 元。")
    dialog.get_by_role("textbox", name="内容").fill("首期课程 3680 元，含教材。")
    dialog.get_by_role("combobox", name="分类").dispatch_event("click")
    choose(page, "异议处理", exact=True)
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    row = phrases.get_by_role("row").filter(has_text="首期课程")
    expect(row).to_contain_text("首期课程 3680 元，含教材。")
    expect(row).to_contain_text("异议处理")
    [after] = school.admin.get("/glossary").json_body["items"]
    assert (after["id"], after["category"], after["text"]) == (phrase["id"], "objections", "首期课程 3680 元，含教材。")
    assert after["updated_by"] == school.admin.user["id"]
