"""A teacher's day (我的课程, issue 19) in a real browser on the local API: today's session,
its roster (names, cards' credits, member or trial, no phones), a member checked in (the
card's credits drop by the lesson's cost, through the API), a trial marked arrived, and a
class record (课堂记录) that then shows in the lead's changes."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.test_cards import _card, _contract, school_today
from tests.test_leads import lead_body


def _soon() -> datetime:
    """A quarter of an hour from now, school time, on 5 minutes: bookable, and its attendance
    open (an hour before the start, the default); kept to today near midnight."""
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)
    soon = now + timedelta(minutes=15)
    soon -= timedelta(minutes=soon.minute % 5)
    return soon if soon.date() == now.date() else now.replace(hour=23, minute=55)


def _todays_class(school, teacher) -> dict:
    """The teacher's class today with a cohort of one confirmed member (a card of 10 credits,
    lesson cost 1) and a trial learner booked."""
    manager, consultant, front = school.staff("manager"), school.staff("consultant"), school.staff("frontdesk")
    tag = secrets.token_hex(2)
    phone = "137" + "".join(secrets.choice("0123456789") for _ in range(8))
    member = consultant.post("/leads", lead_body(name="会员" + tag, phone=phone)).json_body
    trial = consultant.post("/leads", lead_body(name="试听" + tag)).json_body
    start = _soon()
    day = start.date().isoformat()
    programme = manager.post("/programmes", {"name": "亲子音乐" + tag}).json_body
    cohort = manager.post(
        f"/programmes/{programme['id']}/cohorts",
        {
            "campus_id": school.campus["id"],
            "name": "音乐班" + tag,
            "starts_on": day,
            "price": "0.00",
            "seats": 5,
            "teacher_id": teacher.user["id"],
        },
    ).json_body
    enrolment = consultant.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": member["id"]}).json_body
    assert consultant.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 200
    course = manager.post("/courses", {"name": "音乐课" + tag, "lesson_cost": "1"}).json_body
    end = min(start + timedelta(minutes=45), start.replace(hour=23, minute=59))
    made = manager.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": school.campus["id"],
            "teacher": teacher.user["display_name"],
            "teacher_id": teacher.user["id"],
            "cohort_id": cohort["id"],
            "capacity": 6,
            "slots": [{"weekday": start.isoweekday(), "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}],
            "start_date": day,
            "end_date": day,
        },
    )
    assert made.status_code == 201, made.body
    generated = manager.post(f"/classes/{made.json_body['id']}/sessions", {"from": day, "to": day})
    session = generated.json_body["sessions"][0]
    card = _card(front, member["id"], [_contract(consultant, [member["id"]], credits="10", price="1000.00")["id"]])
    booked = consultant.post(f"/leads/{trial['id']}/appointments", {"kind": "trial", "session_id": session["id"]})
    assert booked.status_code == 201, booked.body
    return {
        "phone": phone,
        "member": member,
        "trial": trial,
        "course": course,
        "session": session,
        "card": card,
        "start": start,
    }


def test_a_teacher_checks_a_member_in_marks_a_trial_and_writes_a_class_record(page, school):
    teacher = school.staff("teacher", display_name="刘老师")
    made = _todays_class(school, teacher)
    member, trial, card = made["member"], made["trial"], made["card"]
    sign_in(page, school, teacher)
    page.get_by_role("link", name="我的课程").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的课程")
    sessions = page.get_by_role("region", name="课节")
    link = sessions.get_by_role("link", name=f"{made['course']['name']} {made['start'].strftime('%H:%M')}")
    expect(link).to_be_visible()
    shot(page, "my-sessions")
    link.click()
    roster = page.get_by_role("region", name="点名")
    expect(roster.get_by_role("row").filter(has_text=member["name"])).to_contain_text("未签到")
    expect(page.locator(f"[data-credits='{member['id']}']")).to_have_text(f"{card['number']}: 10.00")
    expect(roster.get_by_role("row").filter(has_text=trial["name"])).to_contain_text("试听")
    expect(roster.get_by_role("link")).to_have_count(0)  # a teacher reads no lead's page
    assert made["phone"] not in page.content() and "****" not in page.content()  # no phone, not even masked

    check_ins: list[str] = []
    page.on("request", lambda r: r.method == "POST" and r.url.endswith("/check-ins") and check_ins.append(r.url))
    page.get_by_role("button", name=f"签到 {member['name']}").dblclick()
    expect(page.locator(f"[data-status='{member['id']}']")).to_have_text("已签到")
    expect(page.locator(f"[data-credits='{member['id']}']")).to_have_text(f"{card['number']}: 9.00")
    assert len(check_ins) == 1  # the second click, while the first is answered: ignored
    assert teacher.get(f"/sessions/{made['session']['id']}/roster").status_code == 200
    assert school.admin.get(f"/cards/{card['id']}").json_body["credits"] == "9.00"  # one lesson, once

    page.get_by_role("button", name=f"到访 {trial['name']}").click()
    expect(page.locator(f"[data-status='{trial['id']}']")).to_have_text("已到")
    booked = school.admin.get(f"/leads/{trial['id']}/appointments").json_body["items"]
    assert [a["attendance"] for a in booked] == ["arrived"]

    notes = "能完整唱完儿歌 " + secrets.token_hex(2)
    page.get_by_role("button", name=f"课堂记录 {member['name']}").click()
    dialog = page.get_by_role("dialog", name=f"{member['name']} 的课堂记录")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.get_by_role("alert")).to_be_visible()  # nothing written yet: said so, nothing sent
    dialog.get_by_role("textbox", name="课堂表现").fill(notes)
    dialog.get_by_role("textbox", name="作业").fill("每天练习 10 分钟")
    dialog.get_by_role("radio", name="4").dispatch_event("click")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(roster.get_by_role("row").filter(has_text=member["name"])).to_contain_text(notes)
    shot(page, "session-roster")

    # on a phone the roster is no wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/my-sessions", f"/sessions/{made['session']['id']}"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.set_viewport_size({"width": 1280, "height": 800})

    # the record is in the lead's changes, for those who read the lead
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, school, school.admin, path=f"/leads/{member['id']}")
    changes = page.get_by_role("region", name="变更记录")
    entry = changes.get_by_role("listitem").filter(has_text="课堂记录")
    expect(entry).to_contain_text(notes)
    expect(entry).to_contain_text("评分 4/5")
    history = school.admin.get(f"/leads/{member['id']}/history").json_body["items"]
    assert [h["details"]["notes"] for h in history if h["action"] == "class_record"] == [notes]


def test_another_day_has_no_classes_and_the_menu_is_the_teachers(page, school):
    teacher = school.staff("teacher")
    sign_in(page, school, teacher, path=f"/my-sessions?date={(school_today() + timedelta(days=3)).isoformat()}")
    expect(page.get_by_role("region", name="课节")).to_contain_text("这一天没有您的课")
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, school, school.staff("consultant"))
    expect(page.get_by_role("heading", name="今日工作")).to_be_visible()
    expect(page.get_by_role("link", name="我的课程")).to_have_count(0)
