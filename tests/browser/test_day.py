"""The day's work in a real browser (Chromium), on the local API: the dashboard's counts are
links (trials -> the Appointments page for that day), arrival marking on the Appointments
page (a trial within the hour is marked; tomorrow's is refused with the API's message), and
editing a lead's name from its page."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import choose, shot, sign_in


def _class_with_session(school, start: datetime) -> str:
    """A one-day class starting at `start` (school time) and its session's id, set up through the API."""
    end = min(start + timedelta(hours=1), start.replace(hour=23, minute=59))
    course = school.admin.post("/courses", {"name": "亲子早教 A", "lesson_cost": "1"}).json_body
    day = start.date().isoformat()
    body = {
        "course_id": course["id"],
        "campus_id": school.campus["id"],
        "teacher": "刘老师",
        "capacity": 4,
        "slots": [{"weekday": start.isoweekday(), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}],
        "start_date": day,
        "end_date": day,
    }
    cls = school.admin.post("/classes", body)
    assert cls.status_code == 201, cls.body
    sessions = school.admin.post(f"/classes/{cls.json_body['id']}/sessions", {"from": day, "to": day})
    assert sessions.status_code in (200, 201), sessions.body
    return sessions.json_body["sessions"][0]["id"]


def _trial(consultant, name: str, session_id: str) -> dict:
    lead = consultant.post("/leads", {"name": name, "guardians": [{"name": "家长"}]})
    assert lead.status_code == 201, lead.body
    booked = consultant.post(f"/leads/{lead.json_body['id']}/appointments", {"kind": "trial", "session_id": session_id})
    assert booked.status_code == 201, booked.body
    return booked.json_body


def test_a_manager_follows_the_trials_count_to_the_days_appointments_marks_arrival_and_tomorrows_is_refused(
    page, school
):
    # like the README walk-through: a class about half an hour from now, school time (Asia/Shanghai)
    soon = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0) + timedelta(minutes=30)
    soon -= timedelta(minutes=soon.minute % 5)
    later = soon + timedelta(days=1)
    consultant = school.staff("consultant", display_name="顾问小李")
    manager = school.staff("manager", display_name="店长老周")
    today_name, tomorrow_name = "试听今天" + secrets.token_hex(2), "试听明天" + secrets.token_hex(2)
    _trial(consultant, today_name, _class_with_session(school, soon))
    tomorrows = _trial(consultant, tomorrow_name, _class_with_session(school, later))
    day = soon.date().isoformat()
    party = "圣诞亲子派对" + secrets.token_hex(2)
    event = school.admin.post(
        "/events", {"name": party, "starts_at": later.isoformat(), "capacity": 20, "campus_id": school.campus["id"]}
    )
    assert event.status_code == 201, event.body
    guest = {"kind": "event", "event_id": event.json_body["id"]}
    assert consultant.post(f"/leads/{tomorrows['lead_id']}/appointments", guest).status_code == 201

    sign_in(page, school, manager, path=f"/?date={day}")
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    trials = page.get_by_role("link", name=re.compile("今日试听"))
    expect(trials).to_contain_text("1")
    trials.click()

    expect(page.get_by_role("heading", name="预约")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/appointments\?.*date={day}"))
    row = page.get_by_role("row").filter(has_text=today_name)
    expect(row).to_contain_text("试听")
    expect(row).to_contain_text(soon.strftime("%H:%M"))  # the school's clock, whatever the browser's zone
    expect(page.get_by_role("row").filter(has_text=tomorrow_name)).to_have_count(0)  # another day
    row.get_by_role("button", name="到访").click()
    expect(row).to_contain_text("已到访")
    shot(page, "appointments")
    expect(page.get_by_role("alert")).to_have_count(0)
    arrived = manager.get(f"/appointments?date={day}&kind=trial").json_body["items"]
    assert [(a["lead_name"], a["attendance"]) for a in arrived] == [(today_name, "arrived")]

    # tomorrow's trial, picked through the menu's Appointments page: attendance is not open yet
    refused = manager.patch(
        f"/appointments/{tomorrows['id']}", {"attendance": "arrived"}, headers={"Accept-Language": "zh-CN"}
    )
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "ATTENDANCE_NOT_OPEN"
    page.get_by_role("link", name="预约").click()
    expect(page).to_have_url(re.compile(r"/appointments\?date=\d{4}-\d{2}-\d{2}"))  # today, as the API answers
    page.goto(f"/appointments?date={later.date().isoformat()}")
    row = page.get_by_role("row").filter(has_text=tomorrow_name).filter(has_text="亲子早教 A")  # the trial
    row.get_by_role("button", name="到访").click()
    expect(page.get_by_role("alert")).to_contain_text(refused.json_body["error"]["message"])
    expect(row).not_to_contain_text("已到访")

    # the day's event: its sign-in sheet opens in a new tab, to print, with the guest on it
    with page.context.expect_page() as opened:
        page.get_by_role("button", name=f"签到表 {party}").click()
    sheet = opened.value
    expect(sheet.locator("body")).to_contain_text(tomorrow_name)
    expect(sheet.locator("body")).to_contain_text(party)
    trials = manager.get(f"/appointments?date={later.date().isoformat()}&kind=trial").json_body["items"]
    assert [a["attendance"] for a in trials] == [None]


def test_editing_a_leads_name_and_guardian_from_its_page(page, school):
    consultant = school.staff("consultant")
    name, renamed = "张小华" + secrets.token_hex(2), "张晓桦" + secrets.token_hex(2)
    mother, father = "1390013" + secrets.choice("0123456789") * 4, "1370013" + secrets.choice("0123456789") * 4
    lead = consultant.post("/leads", {"name": name, "guardians": [{"name": "张妈妈", "phones": [mother]}]}).json_body

    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.get_by_role("button", name="编辑").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("姓名", exact=True)).to_have_value(name)
    dialog.get_by_label("姓名", exact=True).fill(renamed)
    expect(dialog.get_by_label("电话")).to_have_value(lead["guardians"][0]["phones"][0])  # masked, as shown
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text(renamed)
    assert consultant.get(f"/leads/{lead['id']}").json_body["name"] == renamed
    revealed = consultant.post(f"/leads/{lead['id']}/reveal-phone").json_body["guardians"]
    assert [(g["name"], [p["e164"] for p in g["phones"]]) for g in revealed] == [("张妈妈", ["+86" + mother])]

    # the guardian: a new name and number, the masked one never needed in full
    page.get_by_role("button", name="编辑").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("家长姓名").fill("张爸爸")
    dialog.get_by_label("电话").fill(father)
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    revealed = consultant.post(f"/leads/{lead['id']}/reveal-phone").json_body["guardians"]
    assert [(g["name"], [p["e164"] for p in g["phones"]]) for g in revealed] == [("张爸爸", ["+86" + father])]


def test_a_manager_picks_one_consultants_day_and_the_counts_follow(page, school):
    soon = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0) + timedelta(minutes=30)
    soon -= timedelta(minutes=soon.minute % 5)
    session_id = _class_with_session(school, soon)
    first = school.staff("consultant", display_name="顾问甲" + secrets.token_hex(2))
    second = school.staff("consultant", display_name="顾问乙" + secrets.token_hex(2))
    manager = school.staff("manager")
    for consultant, name in ((first, "甲的试听"), (second, "乙的试听")):
        _trial(consultant, name + secrets.token_hex(2), session_id)

    sign_in(page, school, manager, path=f"/?date={soon.date().isoformat()}")
    trials = page.get_by_role("link", name=re.compile("今日试听"))
    expect(trials).to_contain_text("2")  # the campus: both consultants' trials
    page.get_by_role("combobox", name="顾问").click(force=True)  # the placeholder lies over it
    choose(page, first.user["display_name"])
    expect(page).to_have_url(re.compile(rf"consultant={first.user['id']}"))
    expect(trials).to_contain_text("1")
    shot(page, "today-consultant")
    picked = manager.get(f"/dashboard/today?date={soon.date().isoformat()}&consultant_id={first.user['id']}")
    assert picked.json_body["trials"]["count"] == 1
