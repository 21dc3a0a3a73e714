"""The lead's page in a real browser (Chromium), on the local API: "show number" reveals the
full phone (and the API records it), the latest follow-ups and the older ones on "load more"
(加载更多), a plan added and completed by a follow-up, a plan handed to a teammate, and a trial
booked into a full session through the waitlist (候补)."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import choose, shot, sign_in
from tests.test_leads import lead_body


def _phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def _open_lead(page, school, consultant, name: str, phone: str | None = None) -> dict:
    lead = consultant.post("/leads", lead_body(name=name, phone=phone or _phone()))
    assert lead.status_code == 201, lead.body
    sign_in(page, school, consultant, path=f"/leads/{lead.json_body['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    return lead.json_body


def test_show_number_reveals_the_guardians_full_phone_and_the_api_records_who_asked(page, school):
    consultant = school.staff("consultant")
    phone = _phone()
    lead = _open_lead(page, school, consultant, "张小花" + secrets.token_hex(2), phone)

    expect(page.get_by_text("等级")).to_be_visible()  # details: level and assessment score
    guardians = page.get_by_role("list", name="家长")
    expect(guardians).to_contain_text("王妈妈")
    expect(guardians).not_to_contain_text(phone)  # masked until asked for
    assert not any(h["action"] == "phone_revealed" for h in consultant.get(f"/leads/{lead['id']}").json_body["history"])

    guardians.get_by_role("button", name="显示号码").click()
    expect(guardians).to_contain_text(phone)
    expect(guardians.get_by_role("button", name="显示号码")).to_have_count(0)
    history = consultant.get(f"/leads/{lead['id']}").json_body["history"]
    revealed = [h for h in history if h["action"] == "phone_revealed"]
    assert [h["by"] for h in revealed] == [consultant.user["id"]]
    # the lead's changes (变更记录), apart from its follow-ups: newest first
    page.reload()
    changes = page.get_by_role("region", name="变更记录")
    expect(changes.get_by_role("listitem")).to_have_count(2)
    expect(changes.get_by_role("listitem").first).to_contain_text("查看号码")
    expect(changes.get_by_role("listitem").last).to_contain_text("创建")


def test_the_page_shows_the_latest_follow_ups_and_loads_the_older_ones_on_request(page, school):
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(name="跟进多的孩子" + secrets.token_hex(2))).json_body
    for n in range(12):
        made = consultant.post(f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": f"第{n}次电话"})
        assert made.status_code == 201, made.body
    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    follow_ups = page.get_by_role("list", name="跟进记录")
    expect(follow_ups.get_by_role("listitem")).to_have_count(5)  # the latest five, newest first
    expect(follow_ups.get_by_role("listitem").first).to_contain_text("第11次电话")
    page.get_by_role("button", name="加载更多", exact=True).click()
    expect(follow_ups.get_by_role("listitem")).to_have_count(12)
    expect(follow_ups.get_by_role("listitem").last).to_contain_text("第0次电话")
    expect(page.get_by_role("button", name="加载更多", exact=True)).to_have_count(0)  # nothing older left
    shot(page, "lead-follow-ups-load-more")


def test_the_changes_show_the_latest_five_and_load_the_older_ones_on_request(page, school):
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(name="变更多的孩子" + secrets.token_hex(2))).json_body
    for _ in range(6):  # each a history entry (phone_revealed), after "created"
        assert consultant.post(f"/leads/{lead['id']}/reveal-phone").status_code == 200
    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    changes = page.get_by_role("region", name="变更记录")
    expect(changes.get_by_role("listitem")).to_have_count(5)
    changes.get_by_role("button", name="加载更多").click()
    expect(changes.get_by_role("listitem")).to_have_count(7)
    expect(changes.get_by_role("listitem").last).to_contain_text("创建")
    expect(changes.get_by_role("button", name="加载更多")).to_have_count(0)


def test_the_appointments_show_the_latest_five_booked_and_load_the_older_ones_on_request(page, school):
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(name="预约多的孩子" + secrets.token_hex(2))).json_body
    for day in range(7):
        at = (datetime.now(ZoneInfo("UTC")) + timedelta(days=day + 1)).replace(microsecond=0).isoformat()
        visit = consultant.post(f"/leads/{lead['id']}/appointments", {"kind": "visit", "at": at})
        assert visit.status_code == 201, visit.body
    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    appointments = page.get_by_role("list", name="预约")
    expect(appointments.get_by_role("listitem")).to_have_count(5)
    page.get_by_role("button", name="加载更多 预约").click()
    expect(appointments.get_by_role("listitem")).to_have_count(7)
    expect(page.get_by_role("button", name="加载更多 预约")).to_have_count(0)
    expect(page.get_by_role("button", name="加载更多", exact=True)).to_have_count(0)  # no follow-ups to page


def test_a_manager_is_offered_only_the_campus_consultants_and_supervisors_as_a_plans_assignee(page, school):
    manager = school.staff("manager", display_name="店长老吴")
    school.staff("teacher", display_name="刘老师")
    first = school.staff("consultant", display_name="顾问小赵")
    second = school.staff("consultant", display_name="顾问小钱")
    lead = first.post("/leads", lead_body(name="店长看的孩子" + secrets.token_hex(2))).json_body
    sign_in(page, school, manager, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    purpose = "确认试听时间 " + secrets.token_hex(3)

    page.get_by_role("button", name="添加计划").click()
    form = page.get_by_role("dialog")
    when = (datetime.now() + timedelta(days=1)).replace(hour=11, minute=0)
    form.get_by_label("时间").fill(when.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("内容").fill(purpose)
    form.get_by_role("combobox", name="负责人").click(force=True)  # the selected text lies over it
    expect(page.get_by_role("option", name="顾问小钱")).to_be_visible()
    # the API gives plans only to consultants and supervisors: not the manager, not a teacher
    expect(page.get_by_role("option", name="店长老吴")).to_have_count(0)
    expect(page.get_by_role("option", name="刘老师")).to_have_count(0)
    choose(page, "顾问小赵")
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    plans = page.get_by_role("list", name="工作计划")
    expect(plans).to_contain_text("顾问小赵")

    plans.get_by_role("button", name=f"转交 {purpose}").click()
    form = page.get_by_role("dialog")
    form.get_by_role("combobox", name="负责人").click(force=True)
    choose(page, "顾问小钱")
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    expect(plans).to_contain_text("顾问小钱")
    stored = manager.get(f"/leads/{lead['id']}").json_body["plans"]
    assert [(p["purpose"], p["assignee_id"]) for p in stored] == [(purpose, second.user["id"])]


def test_a_consultant_adds_a_plan_sees_it_and_completes_it_with_a_follow_up(page, school):
    consultant = school.staff("consultant", display_name="顾问小陈")
    lead = _open_lead(page, school, consultant, "李小雨" + secrets.token_hex(2))
    purpose = "邀约周六试听 " + secrets.token_hex(3)

    page.get_by_role("button", name="添加计划").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text("顾问小陈")).to_be_visible()  # a consultant may only plan for themselves
    when = (datetime.now() + timedelta(days=2)).replace(hour=10, minute=0)
    form.get_by_label("时间").fill(when.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("内容").fill(purpose)
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    plans = page.get_by_role("list", name="工作计划")
    expect(plans).to_contain_text(purpose)
    expect(plans).to_contain_text("顾问小陈")
    expect(plans.get_by_role("button", name="转交")).to_have_count(0)  # no teammates to choose from
    shot(page, "lead-plans")

    # 完成: the follow-up that fulfils the plan, with the plan already chosen
    plans.get_by_role("button", name=f"完成 {purpose}").click()
    form = page.get_by_role("dialog")
    expect(form.get_by_text(purpose)).to_be_visible()
    notes = "已电话邀约 " + secrets.token_hex(3)
    form.get_by_label("跟进内容").fill(notes)
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    expect(page.get_by_role("list", name="跟进记录")).to_contain_text(notes)
    expect(plans).not_to_contain_text(purpose)
    stored = consultant.get(f"/leads/{lead['id']}").json_body["plans"]
    assert [(p["purpose"], p["status"]) for p in stored] == [(purpose, "done")]


def test_a_supervisor_hands_a_plan_to_a_consultant_of_the_team(page, school):
    supervisor = school.staff("supervisor", display_name="主管老周")
    consultant = school.staff("consultant", display_name="顾问小林", supervisor_id=supervisor.user["id"])
    lead = consultant.post("/leads", lead_body(name="交接的孩子" + secrets.token_hex(2))).json_body
    sign_in(page, school, supervisor, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    purpose = "回访家长 " + secrets.token_hex(3)

    page.get_by_role("button", name="添加计划").click()
    form = page.get_by_role("dialog")
    when = (datetime.now() + timedelta(days=1)).replace(hour=15, minute=30)
    form.get_by_label("时间").fill(when.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("内容").fill(purpose)
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    plans = page.get_by_role("list", name="工作计划")
    expect(plans).to_contain_text("主管老周")  # the assignee by default: yourself

    plans.get_by_role("button", name=f"转交 {purpose}").click()
    form = page.get_by_role("dialog")
    form.get_by_role("combobox", name="负责人").click(force=True)  # the selected text lies over it
    choose(page, "顾问小林")
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    expect(plans).to_contain_text("顾问小林")
    stored = supervisor.get(f"/leads/{lead['id']}").json_body["plans"]
    assert [(p["purpose"], p["assignee_id"]) for p in stored] == [(purpose, consultant.user["id"])]


def _one_seat_session(school, day: date) -> dict:
    """A course with a one-seat class and its session on `day` (09:00 school time)."""
    manager = school.staff("manager")
    course = manager.post("/courses", {"name": "少儿英语 " + secrets.token_hex(2), "lesson_cost": "1"})
    assert course.status_code == 201, course.body
    cls = manager.post(
        "/classes",
        {
            "course_id": course.json_body["id"],
            "campus_id": school.campus["id"],
            "teacher": "刘老师",
            "capacity": 1,
            "slots": [{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(1, 8)],
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
        },
    )
    assert cls.status_code == 201, cls.body
    made = manager.post(f"/classes/{cls.json_body['id']}/sessions", {"from": day.isoformat(), "to": day.isoformat()})
    assert made.status_code in (200, 201), made.body
    (session,) = made.json_body["sessions"]
    return session


def test_a_trial_in_a_full_session_is_offered_the_waitlist_and_shows_as_waitlisted(page, school):
    day = date.today() + timedelta(days=3)
    session = _one_seat_session(school, day)
    consultant = school.staff("consultant")
    taken = consultant.post("/leads", lead_body(name="先来的孩子")).json_body
    first = consultant.post(f"/leads/{taken['id']}/appointments", {"kind": "trial", "session_id": session["id"]})
    assert first.status_code == 201 and first.json_body["status"] == "booked", first.body
    lead = _open_lead(page, school, consultant, "后来的孩子" + secrets.token_hex(2))

    page.get_by_role("button", name="预约试听").click()
    form = page.get_by_role("dialog")
    form.get_by_label("日期").fill(day.isoformat())
    choice = form.get_by_role("radio", name="刘老师")
    expect(choice).to_have_count(1)
    expect(form.get_by_text("已满")).to_be_visible()  # seats_left 0, as GET /sessions says
    form.get_by_text("少儿英语").click()
    expect(form.get_by_role("button", name="加入候补")).to_be_visible()
    expect(form.get_by_role("button", name="保存")).to_have_count(0)
    shot(page, "lead-waitlist")
    form.get_by_role("button", name="加入候补").click()
    expect(form).to_be_hidden()

    appointments = page.get_by_role("list", name="预约")
    expect(appointments).to_contain_text("试听")
    expect(appointments).to_contain_text("候补")
    booked = consultant.get(f"/leads/{lead['id']}").json_body["appointments"]
    assert [(a["kind"], a["status"]) for a in booked] == [("trial", "waitlisted")]


def test_a_visit_invitation_is_booked_and_a_full_event_offers_the_waitlist(page, school):
    day = date.today() + timedelta(days=4)
    manager = school.staff("manager")
    starts = datetime.combine(day, time(10, 0), tzinfo=ZoneInfo("Asia/Shanghai"))
    event = manager.post("/events", {"name": "家长开放日", "starts_at": starts.isoformat(), "capacity": 1})
    assert event.status_code == 201, event.body
    consultant = school.staff("consultant")
    taken = consultant.post("/leads", lead_body(name="先报名的孩子")).json_body
    first = consultant.post(f"/leads/{taken['id']}/appointments", {"kind": "event", "event_id": event.json_body["id"]})
    assert first.status_code == 201 and first.json_body["status"] == "booked", first.body
    lead = _open_lead(page, school, consultant, "参观的孩子" + secrets.token_hex(2))
    appointments = page.get_by_role("list", name="预约")

    page.get_by_role("button", name="邀约参观").click()
    form = page.get_by_role("dialog")
    form.get_by_label("时间").fill(datetime.combine(day, time(16, 0)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    expect(appointments).to_contain_text("参观")
    expect(appointments).to_contain_text("已预约")

    page.get_by_role("button", name="预约活动").click()
    form = page.get_by_role("dialog")
    form.get_by_label("日期").fill(day.isoformat())
    expect(form.get_by_role("radio", name="家长开放日")).to_have_count(1)
    form.get_by_text("家长开放日").click()
    form.get_by_role("button", name="加入候补").click()
    expect(form).to_be_hidden()
    expect(appointments.get_by_role("listitem").filter(has_text="家长开放日")).to_contain_text("候补")
    booked = consultant.get(f"/leads/{lead['id']}").json_body["appointments"]
    assert sorted((a["kind"], a["status"]) for a in booked) == [("event", "waitlisted"), ("visit", "booked")]


def test_a_follow_up_offers_the_schools_own_methods_by_their_labels(page, school):
    methods = school.admin.get("/settings/dictionaries/follow_up_methods").json_body["entries"]
    for entry in methods:
        if entry["key"] == "qq":
            entry["retired"] = True
    methods.append({"key": "home_visit", "label": "上门家访"})
    assert school.admin.put("/settings/dictionaries/follow_up_methods", {"entries": methods}).status_code == 200
    consultant = school.staff("consultant")
    lead = _open_lead(page, school, consultant, "家访的孩子" + secrets.token_hex(2))
    page.get_by_role("button", name="添加跟进").click()
    form = page.get_by_role("dialog")
    form.get_by_role("combobox", name="跟进方式").dispatch_event("click")
    listbox = page.get_by_role("listbox", name="跟进方式")
    expect(listbox.get_by_role("option", name="电话")).to_be_visible()
    expect(listbox.get_by_role("option", name="QQ")).to_have_count(0)  # retired: not offered
    listbox.get_by_role("option", name="上门家访").dispatch_event("click")
    form.get_by_label("跟进内容").fill("到家里看了看学习环境")
    form.get_by_role("button", name="保存").click()
    expect(form).to_be_hidden()
    expect(page.get_by_role("list", name="跟进记录")).to_contain_text("上门家访")
    stored = consultant.get(f"/leads/{lead['id']}").json_body["follow_ups"]
    assert [f["method"] for f in stored] == ["home_visit"]
