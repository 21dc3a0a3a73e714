"""A school's own lists and lead fields in a real browser: an admin creates the list
"occupation" with two entries and a list field using it; a consultant sets it on a lead
from the lead's page and filters the leads list by it."""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in


def _phone() -> str:
    return "136" + "".join(secrets.choice("0123456789") for _ in range(8))


def test_an_admin_makes_a_list_and_a_field_and_a_consultant_sets_and_filters_by_it(page, school, api_url):
    consultant = school.staff("consultant")
    tag = secrets.token_hex(2)
    lead = consultant.post(
        "/leads", {"name": f"王老师{tag}", "guardians": [{"name": "家长", "phones": [_phone()]}]}
    ).json_body
    other = consultant.post(
        "/leads", {"name": f"李医生{tag}", "guardians": [{"name": "家长", "phones": [_phone()]}]}
    ).json_body

    # GIVEN the admin creates the list "occupation" with two entries
    sign_in(page, school, school.admin, path="/settings/lists")
    expect(page.get_by_role("heading", name="字典")).to_be_visible()
    page.get_by_label("新列表名称").fill("occupation")
    page.get_by_role("button", name="新建列表").click()
    expect(page.get_by_role("region", name="occupation")).to_be_visible()  # the new, empty list
    for key, label in (("teacher", "教师"), ("doctor", "医生")):
        page.get_by_label("新条目名称").fill(label)
        page.get_by_label("新条目代码").fill(key)
        page.get_by_role("button", name="添加条目").click()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    assert [e["key"] for e in school.admin.get("/settings/dictionaries/occupation").json_body["entries"]] == [
        "teacher",
        "doctor",
    ]

    # AND a list field using it
    page.goto("/settings/lead-fields")
    expect(page.get_by_role("heading", name="自定义字段")).to_be_visible()
    page.get_by_label("新字段名称").fill("职业")
    page.get_by_label("新字段代码").fill("occupation")
    pick(page, "列表", "occupation", exact=True)
    page.get_by_role("button", name="添加字段").click()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("已保存")
    fields = school.admin.get("/settings/lead-fields").json_body["fields"]
    assert [(f["key"], f["type"], f["list"]) for f in fields] == [("occupation", "list", "occupation")]
    shot(page, "settings-lead-fields")
    page.get_by_role("button", name="退出登录").click()

    # WHEN a consultant sets it on a lead from the lead's page
    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    page.get_by_role("button", name="编辑").click()
    dialog = page.get_by_role("dialog")
    pick(page, "职业", "教师", exact=True)
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    # THEN the page shows it by its label, and the API has the entry's key
    expect(page.get_by_text("自定义字段")).to_be_visible()
    expect(page.locator(".el-descriptions").filter(has_text="自定义字段")).to_contain_text("教师")
    assert consultant.get(f"/leads/{lead['id']}").json_body["custom"] == {"occupation": "teacher"}

    # AND the leads list filters by it (one GET /leads with custom=occupation:teacher)
    page.goto("/leads")
    rows = page.get_by_role("row").filter(has=page.get_by_role("link"))
    expect(page.get_by_role("link", name=other["name"])).to_be_visible()
    page.wait_for_load_state("networkidle")
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if r.url.startswith(api_url) and "/leads?" in r.url else None)
    pick(page, "职业", "教师", exact=True)
    expect(page).to_have_url(re.compile(r"custom=occupation%3Ateacher|custom=occupation:teacher"))
    expect(rows).to_have_count(1)
    expect(page.get_by_role("link", name=lead["name"])).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert parse_qs(urlsplit(calls[-1]).query)["custom"] == ["occupation:teacher"], calls
    page.reload()  # a link keeps the filter
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="清除").click()
    expect(page.get_by_role("link", name=other["name"])).to_be_visible()
