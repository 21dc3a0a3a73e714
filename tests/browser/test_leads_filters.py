"""The leads list's filters in a real browser: status, source, stage and importance from the
school's lists, a tag, the next follow-up range, kept in the URL (a link and the back button
keep them) and sent to GET /leads as its parameters, one call per list load; 清除 shows
everything again."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import pick, sign_in


def _phone() -> str:
    return "137" + "".join(secrets.choice("0123456789") for _ in range(8))


def _lead(consultant, name: str, **fields) -> dict:
    created = consultant.post("/leads", {"name": name, "guardians": [{"name": "家长", "phones": [_phone()]}], **fields})
    assert created.status_code == 201, created.body
    return created.json_body


def _rows(page):
    return page.get_by_role("row").filter(has=page.get_by_role("link"))


def test_a_consultant_filters_leads_by_status_the_url_keeps_it_and_clear_shows_both(page, school, api_url):
    consultant = school.staff("consultant")
    tag = secrets.token_hex(2)
    intent = _lead(consultant, f"意向客户{tag}", status="intent", source="referral")
    lost = _lead(consultant, f"流失客户{tag}", status="lost", source="website")
    sign_in(page, school, consultant, path="/leads")
    expect(page.get_by_role("heading", name="客户")).to_be_visible()
    expect(_rows(page)).to_have_count(2)
    page.wait_for_load_state("networkidle")

    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if r.url.startswith(api_url) else None)
    pick(page, "状态", "意向", exact=True)
    expect(page).to_have_url(re.compile(r"status=intent"))
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=intent["name"])).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=intent["name"])).to_contain_text("意向")  # the list's label
    page.wait_for_load_state("networkidle")
    lists = [url for url in calls if "/leads?" in url]
    assert len(lists) == 1 and len(calls) == 1, calls  # one GET /leads per load, the lists are cached
    assert parse_qs(urlsplit(lists[0]).query)["status"] == ["intent"], lists

    # a link keeps the filter: a fresh load of the URL shows the same one lead, the select says so
    page.reload()
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=intent["name"])).to_be_visible()

    # the lead's page and back: the filter is still there
    page.get_by_role("link", name=intent["name"]).click()
    expect(page.get_by_role("heading", name=intent["name"], level=1)).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=intent"))
    expect(_rows(page)).to_have_count(1)

    page.get_by_role("button", name="清除").click()
    expect(_rows(page)).to_have_count(2)
    expect(page.get_by_role("link", name=lost["name"])).to_be_visible()
    assert "status=" not in page.url

    # the back button returns to the filtered list
    page.go_back()
    expect(page).to_have_url(re.compile(r"status=intent"))
    expect(_rows(page)).to_have_count(1)

    # source, in English: Source from the school's list
    page.goto("/leads?lang=en")
    pick(page, "Source", "官网", exact=True)
    expect(page).to_have_url(re.compile(r"source=website"))
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=lost["name"])).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    expect(_rows(page)).to_have_count(2)


def test_a_link_with_a_next_follow_up_range_lists_only_the_leads_due_in_it(page, school):
    consultant = school.staff("consultant")
    tag = secrets.token_hex(2)
    due = _lead(consultant, f"待跟进{tag}")
    _lead(consultant, f"无计划{tag}")
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    followed = consultant.post(
        f"/leads/{due['id']}/follow-ups",
        {"method": "phone", "content": "周六来参观", "next_follow_up_at": soon.isoformat()},
    )
    assert followed.status_code == 201, followed.body
    start, end = (soon - timedelta(days=3)).date(), (soon + timedelta(days=3)).date()
    sign_in(page, school, consultant, path=f"/leads?next_from={start}&next_to={end}")
    expect(page.get_by_role("heading", name="客户")).to_be_visible()
    expect(page.get_by_role("link", name=due["name"])).to_be_visible()
    expect(_rows(page)).to_have_count(1)
    page.get_by_role("button", name="清除").click()
    expect(_rows(page)).to_have_count(2)
    assert "next_from=" not in page.url


def test_a_manager_of_two_campuses_filters_by_campus_a_consultant_of_one_is_not_offered_it(page, school):
    north = school.admin.post("/campuses", {"name": "北山校区"}).json_body
    manager = school.staff("manager", campus_ids=[school.campus["id"], north["id"]])
    tag = secrets.token_hex(2)
    here = _lead(school.admin, f"南山客户{tag}", campus_id=school.campus["id"], to_pool=True)
    there = _lead(school.admin, f"北山客户{tag}", campus_id=north["id"], to_pool=True)
    sign_in(page, school, manager, path="/leads")
    expect(_rows(page)).to_have_count(2)
    pick(page, "校区", "北山校区")
    expect(page).to_have_url(re.compile(rf"campus={north['id']}"))
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=there["name"])).to_be_visible()
    page.reload()  # a link with a campus names it
    expect(page.get_by_role("link", name=here["name"])).to_have_count(0)
    expect(page.locator(".filters").get_by_text("北山校区")).to_be_visible()  # the select shows its name

    page.get_by_role("button", name="退出登录").click()
    sign_in(page, school, school.staff("consultant"), path="/leads")
    expect(page.get_by_role("heading", name="客户")).to_be_visible()
    expect(page.get_by_role("combobox", name="状态")).to_be_visible()
    expect(page.get_by_role("combobox", name="校区")).to_have_count(0)


def test_a_consultant_filters_by_stage_then_importance_then_by_tag_the_url_keeps_them(page, school, api_url):
    stages = {"entries": [{"key": "first", "label": "初访"}, {"key": "trialled", "label": "试听过"}]}
    importance = {"entries": [{"key": "vip", "label": "重点"}, {"key": "plain", "label": "普通"}]}
    assert school.admin.put("/settings/dictionaries/stages", stages).status_code == 200
    assert school.admin.put("/settings/dictionaries/importance", importance).status_code == 200
    consultant = school.staff("consultant")
    tag = secrets.token_hex(2)
    key = _lead(consultant, f"重点初访{tag}", stage="first", importance="vip")
    plain = _lead(consultant, f"普通初访{tag}", stage="first", importance="plain")
    tagged = _lead(consultant, f"试听钢琴{tag}", stage="trialled", importance="vip", tags=["钢琴", "周末"])
    sign_in(page, school, consultant, path="/leads")
    expect(_rows(page)).to_have_count(3)
    page.wait_for_load_state("networkidle")

    # the school's lists came with the page, all in one GET /settings/dictionaries (the custom
    # fields' filters need them too): opening the stage select asks the API nothing more
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if r.url.startswith(api_url) else None)
    pick(page, "阶段", "初访", exact=True)
    expect(page).to_have_url(re.compile(r"stage=first"))
    expect(_rows(page)).to_have_count(2)
    expect(page.get_by_role("link", name=key["name"])).to_be_visible()
    expect(page.get_by_role("link", name=plain["name"])).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert [url for url in calls if "/settings/" in url] == [], calls
    assert len(calls) == 1 and "stage=first" in calls[0], calls  # the filtered page alone

    pick(page, "重要程度", "重点", exact=True)
    expect(page).to_have_url(re.compile(r"stage=first.*importance=vip|importance=vip.*stage=first"))
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=key["name"])).to_be_visible()
    expect(page.get_by_role("combobox", name="等级")).to_be_visible()

    # a reload keeps both, and the selects show the entries' labels (their lists read at mount)
    page.reload()
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=key["name"])).to_be_visible()
    expect(page.locator(".filters").get_by_text("初访", exact=True)).to_be_visible()
    expect(page.locator(".filters").get_by_text("重点", exact=True)).to_be_visible()

    page.get_by_role("button", name="清除").click()
    expect(_rows(page)).to_have_count(3)
    assert "stage=" not in page.url and "importance=" not in page.url

    # a tag matches one of the lead's tags exactly; Enter applies it
    page.get_by_label("标签").fill("钢琴")
    page.get_by_label("标签").press("Enter")
    expect(page).to_have_url(re.compile(r"tag="))
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=tagged["name"])).to_be_visible()
    assert parse_qs(urlsplit(page.url).query)["tag"] == ["钢琴"], page.url
    page.reload()
    expect(_rows(page)).to_have_count(1)
    expect(page.get_by_role("link", name=tagged["name"])).to_be_visible()
    expect(page.get_by_label("标签")).to_have_value("钢琴")

    # clearing the box applies at once; back returns to the tag, 清除 clears it too
    page.get_by_label("标签").hover()
    page.locator(".filters .el-input__clear").click()
    expect(_rows(page)).to_have_count(3)
    assert "tag=" not in page.url
    page.go_back()
    expect(page).to_have_url(re.compile(r"tag="))
    expect(_rows(page)).to_have_count(1)
    page.get_by_role("button", name="清除").click()
    expect(_rows(page)).to_have_count(3)
    expect(page.get_by_label("标签")).to_have_value("")
    assert "tag=" not in page.url
