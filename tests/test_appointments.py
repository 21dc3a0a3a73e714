"""Classes, sessions, appointments (visits, trials, events), waitlists and walk-ins."""

from __future__ import annotations

import concurrent.futures
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain import clock
from tests.conftest import race_report, race_rounds, session_start
from tests.test_leads import lead_body


@pytest.fixture
def centre(school):
    """A manager who plans, a consultant with leads, and a class with next week's sessions."""
    school.manager = school.staff("manager")
    school.alice = school.staff("consultant", display_name="Alice")
    course = school.manager.post("/courses", {"name": "亲子早教 A", "lesson_cost": "1"}).json_body
    school.course = course
    monday = date.today() + timedelta(days=7 - date.today().weekday() + 7)  # a Monday at least a week ahead
    school.monday = monday
    cls = school.manager.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": school.campus["id"],
            "teacher": "刘老师",
            "capacity": 2,
            "slots": [
                {"weekday": 1, "start": "10:00", "end": "11:00"},
                {"weekday": 3, "start": "15:00", "end": "16:00"},
            ],
            "start_date": monday.isoformat(),
            "end_date": (monday + timedelta(days=13)).isoformat(),
        },
    ).json_body
    school.cls = cls
    generated = school.manager.post(
        f"/classes/{cls['id']}/sessions", {"from": monday.isoformat(), "to": (monday + timedelta(days=13)).isoformat()}
    ).json_body
    school.sessions = generated["sessions"]
    return school


def _lead(school, name="学员"):
    return school.alice.post("/leads", lead_body(name=name)).json_body


def _trial(session, lead, session_id, **extra):
    return session.post(f"/leads/{lead['id']}/appointments", {"kind": "trial", "session_id": session_id, **extra})


def test_sessions_are_generated_once_and_listed_with_seats(centre):
    assert len(centre.sessions) == 4  # two Mondays, two Wednesdays
    again = centre.manager.post(
        f"/classes/{centre.cls['id']}/sessions",
        {"from": centre.monday.isoformat(), "to": (centre.monday + timedelta(days=13)).isoformat()},
    ).json_body
    assert (again["created"], again["existing"]) == (0, 4)
    listed = centre.alice.get(f"/sessions?date={centre.monday.isoformat()}").json_body["items"]
    assert [(s["start"], s["seats_left"], s["course_name"]) for s in listed] == [("10:00", 2, "亲子早教 A")]
    assert centre.alice.post("/courses", {"name": "x", "lesson_cost": "1"}).status_code == 403


def test_trial_rules_full_duplicate_and_active_trial(centre):
    first, second = centre.sessions[0]["id"], centre.sessions[1]["id"]
    a, b, c = _lead(centre, "甲"), _lead(centre, "乙"), _lead(centre, "丙")
    assert _trial(centre.alice, a, first).status_code == 201
    dup = _trial(centre.alice, a, first)
    assert dup.status_code == 409 and dup.json_body["error"]["code"] == "ALREADY_BOOKED"
    other_session = _trial(centre.alice, a, second)  # an active trial of the course already
    assert other_session.status_code == 409 and other_session.json_body["error"]["code"] == "ALREADY_BOOKED"
    assert _trial(centre.alice, b, first).status_code == 201
    full = _trial(centre.alice, c, first)
    assert full.status_code == 409 and full.json_body["error"]["code"] == "SESSION_FULL"
    seats = centre.alice.get(f"/sessions?date={centre.monday.isoformat()}").json_body["items"][0]
    assert (seats["trials"], seats["seats_left"]) == (2, 0)


def test_bad_bookings_are_400s_naming_the_field(centre):
    lead = _lead(centre)
    unknown = _trial(centre.alice, lead, "nope")
    assert unknown.status_code == 400 and unknown.json_body["error"]["details"][0]["field"] == "session_id"
    centre.manager.patch(f"/sessions/{centre.sessions[2]['id']}", {"cancelled": True})
    cancelled = _trial(centre.alice, lead, centre.sessions[2]["id"])
    assert cancelled.status_code == 400 and "cancelled" in cancelled.json_body["error"]["message"]
    past_visit = centre.alice.post(f"/leads/{lead['id']}/appointments", {"kind": "visit", "at": "2001-01-01T10:00"})
    assert past_visit.json_body["error"]["details"][0]["field"] == "at"
    missing = centre.alice.post(f"/leads/{lead['id']}/appointments", {"kind": "trial"})
    assert missing.status_code == 400


@race_rounds
def test_fifty_concurrent_bookings_for_five_free_seats(centre, race_round):
    from chalicelib.domain import auth, schedule
    from chalicelib.errors import ConflictError
    from chalicelib.schemas.schedule import AppointmentCreateRequest

    session_id = centre.sessions[3]["id"]
    centre.manager.patch(f"/sessions/{session_id}", {"capacity": 5})
    leads = [_lead(centre, f"并发{i}") for i in range(50)]
    principal = auth.authenticate(f"Bearer {centre.alice.token}")

    def book(lead):
        try:
            schedule.book(principal, lead["id"], AppointmentCreateRequest(kind="trial", session_id=session_id))
            return "booked"
        except ConflictError as exc:
            return exc.code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(book, leads))
    wednesday = (centre.monday + timedelta(days=9)).isoformat()
    seats = centre.alice.get(f"/sessions?date={wednesday}").json_body["items"][0]
    overbooked = max(0, results.count("booked") - 5) + (seats["trials"] != results.count("booked"))
    race_report("bookings for 5 seats (overbooked)", len(leads), overbooked)
    assert results.count("booked") == 5
    assert results.count("SESSION_FULL") == 45
    assert (seats["trials"], seats["seats_left"]) == (5, 0)


def test_cancel_releases_the_seat_and_the_same_lead_can_rebook(centre):
    session_id = centre.sessions[0]["id"]
    lead = _lead(centre)
    appointment = _trial(centre.alice, lead, session_id).json_body
    assert centre.alice.delete(f"/appointments/{appointment['id']}").status_code == 204
    assert centre.alice.delete(f"/appointments/{appointment['id']}").status_code == 204  # idempotent
    seats = lambda: centre.alice.get(f"/sessions?date={centre.monday.isoformat()}").json_body["items"][0]  # noqa: E731
    assert seats()["seats_left"] == 2
    rebooked = _trial(centre.alice, lead, session_id)
    assert rebooked.status_code == 201
    assert seats()["seats_left"] == 1  # no seat lost, none counted twice


def test_a_cancellation_promotes_the_first_waitlisted_and_tells_their_consultant(centre):
    session_id = centre.sessions[0]["id"]
    a, b, c, d = (_lead(centre, n) for n in "ABCD")
    first = _trial(centre.alice, a, session_id).json_body
    _trial(centre.alice, b, session_id)
    waiting_c = _trial(centre.alice, c, session_id, waitlist=True).json_body
    waiting_d = _trial(centre.alice, d, session_id, waitlist=True).json_body
    assert waiting_c["status"] == waiting_d["status"] == "waitlisted"
    centre.alice.delete(f"/appointments/{first['id']}")
    statuses = {a["lead_name"]: a["status"] for a in centre.alice.get("/appointments?kind=trial").json_body["items"]}
    assert statuses == {"A": "cancelled", "B": "booked", "C": "booked", "D": "waitlisted"}
    notes = centre.alice.get("/notifications").json_body["items"]
    assert any("C" in n["message"] and "候补" in n["message"] for n in notes)


def _again(centre, who):
    """`who` signed in again (under a frozen clock: a token of that time)."""
    return centre.sign_in(who.user["username"], who.password)


def test_attendance_arrived_or_no_show(centre):
    lead = _lead(centre)
    appointment = _trial(centre.alice, lead, centre.sessions[0]["id"]).json_body
    with clock.frozen(session_start(centre.sessions[0]) + timedelta(minutes=20)):  # the class began without them
        no_show = _again(centre, centre.alice).patch(f"/appointments/{appointment['id']}", {"attendance": "no_show"})
    assert no_show.json_body["attendance"] == "no_show"
    # a no-show may book another trial of the course
    assert _trial(centre.alice, lead, centre.sessions[1]["id"]).status_code == 201
    visit = centre.alice.post(
        f"/leads/{lead['id']}/appointments", {"kind": "visit", "at": (clock.now() + timedelta(minutes=30)).isoformat()}
    ).json_body
    arrived = centre.alice.patch(f"/appointments/{visit['id']}", {"attendance": "arrived"}).json_body
    assert arrived["attendance"] == "arrived" and arrived["arrived_at"]
    future = centre.alice.patch(
        f"/appointments/{visit['id']}", {"attendance": "arrived", "arrived_at": "2099-01-01T00:00:00Z"}
    )
    assert future.status_code == 400


def test_events_capacity_and_the_sign_in_sheet(centre):
    event = centre.manager.post(
        "/events",
        {
            "name": "圣诞亲子派对",
            "starts_at": (clock.now() + timedelta(days=3)).isoformat(),
            "capacity": 1,
            "location": "大厅",
        },
    ).json_body
    a, b = _lead(centre, "小红"), _lead(centre, "小明")
    assert (
        centre.alice.post(f"/leads/{a['id']}/appointments", {"kind": "event", "event_id": event["id"]}).status_code
        == 201
    )
    full = centre.alice.post(f"/leads/{b['id']}/appointments", {"kind": "event", "event_id": event["id"]})
    assert full.json_body["error"]["code"] == "SESSION_FULL"
    sheet = centre.manager.get(f"/events/{event['id']}/sign-in-sheet")
    assert sheet.headers["Content-Type"].startswith("text/html")
    html = sheet.body.decode()
    assert "圣诞亲子派对" in html and "小红" in html and "小明" not in html
    csv_sheet = centre.manager.get(f"/events/{event['id']}/sign-in-sheet?format=csv")
    text = csv_sheet.body.decode("utf-8")
    assert text.startswith("\ufeff") and "小红" in text


def test_a_walk_in_records_contact_visit_and_trial_in_one_call(centre):
    lead = _lead(centre, "路过的")
    with clock.frozen(session_start(centre.sessions[0]) - timedelta(minutes=5)):  # the class is about to begin
        response = _again(centre, centre.alice).post(
            f"/leads/{lead['id']}/walk-ins", {"content": "路过进来咨询", "trial_session_id": centre.sessions[0]["id"]}
        )
    assert response.status_code == 201, response.body
    result = response.json_body
    assert result["visit"]["attendance"] == "arrived" and result["trial"]["attendance"] == "arrived"
    detail = centre.alice.get(f"/leads/{lead['id']}").json_body
    assert detail["follow_ups"][0]["method"] == "visit" and detail["last_contacted_at"]
    assert sorted(a["kind"] for a in detail["appointments"]) == ["trial", "visit"]


def test_today_counts_trials_on_the_right_day_in_the_school_time_zone(centre):
    # the Monday 10:00 Shanghai session is 02:00 UTC; at 23:30 UTC on Sunday it is already Monday in Shanghai
    lead = _lead(centre)
    _trial(centre.alice, lead, centre.sessions[0]["id"])
    sunday_night_utc = datetime.combine(centre.monday - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=23, minutes=30
    )
    with clock.frozen(sunday_night_utc):
        alice = centre.sign_in(centre.alice.user["username"], centre.alice.password)
        today = alice.get("/dashboard/today").json_body
        manager = centre.sign_in(centre.manager.user["username"], centre.manager.password)
        campus_today = manager.get("/dashboard/today").json_body
    assert today["date"] == centre.monday.isoformat()
    assert today["trials"]["count"] == 1 and today["trials"]["items"][0]["lead_name"] == lead["name"]
    assert campus_today["trials"]["count"] >= 1
    with clock.frozen(sunday_night_utc - timedelta(hours=12)):  # 19:30 Sunday in Shanghai
        alice = centre.sign_in(centre.alice.user["username"], centre.alice.password)
        assert alice.get("/dashboard/today").json_body["trials"]["count"] == 0


def test_front_desk_marks_arrival_and_a_teacher_of_another_session_may_not(centre):
    frontdesk = centre.staff("frontdesk")
    teacher = centre.staff("teacher")  # not this session's teacher (tests/test_teaching.py: the session's own may)
    lead = _lead(centre)
    appointment = _trial(centre.alice, lead, centre.sessions[0]["id"]).json_body
    with clock.frozen(session_start(centre.sessions[0]) - timedelta(minutes=10)):
        teacher, frontdesk = _again(centre, teacher), _again(centre, frontdesk)
        # a trial in a session not theirs is as unknown to a teacher as another school's
        assert teacher.patch(f"/appointments/{appointment['id']}", {"attendance": "arrived"}).status_code == 404
        arrived = frontdesk.patch(f"/appointments/{appointment['id']}", {"attendance": "arrived"})
    assert arrived.status_code == 200 and arrived.json_body["attendance"] == "arrived"


def _mark(centre, who, appointment, attendance, at):
    with clock.frozen(at):
        return _again(centre, who).patch(f"/appointments/{appointment['id']}", {"attendance": attendance})


def test_tomorrows_trial_cannot_be_marked_today(centre):
    lead = _lead(centre)
    session = centre.sessions[0]  # Monday 10:00 in Shanghai
    appointment = _trial(centre.alice, lead, session["id"]).json_body
    the_day_before = session_start(session) - timedelta(days=1)
    for attendance in ("arrived", "no_show"):
        refused = _mark(centre, centre.alice, appointment, attendance, the_day_before)
        assert refused.status_code == 409, refused.body
        error = refused.json_body["error"]
        assert error["code"] == "ATTENDANCE_NOT_OPEN"
        assert error["details"][0]["opens_at"] == f"{centre.monday.isoformat()}T09:00+08:00"  # school time
        assert "09:00" in error["message"]
    listed = centre.alice.get(f"/leads/{lead['id']}").json_body["appointments"][0]
    assert listed.get("attendance") is None and listed.get("arrived_at") is None  # nothing was written


def test_attendance_opens_an_hour_before_the_start_or_as_the_school_sets(centre):
    session = centre.sessions[0]
    first, second = (_trial(centre.alice, _lead(centre, n), session["id"]).json_body for n in "甲乙")
    half_an_hour_before = session_start(session) - timedelta(minutes=30)
    assert _mark(centre, centre.alice, first, "arrived", half_an_hour_before).status_code == 200  # default 60
    bounds = [centre.admin.patch("/settings/leads", {"attendance_opens_minutes_before": v}) for v in (-1, 1441)]
    assert [b.json_body["error"]["details"][0]["field"] for b in bounds] == ["attendance_opens_minutes_before"] * 2
    settings = centre.admin.patch("/settings/leads", {"attendance_opens_minutes_before": 10}).json_body
    assert settings["attendance_opens_minutes_before"] == 10
    refused = _mark(centre, centre.alice, second, "arrived", half_an_hour_before)
    assert refused.status_code == 409 and refused.json_body["error"]["details"][0]["opens_at"].endswith("T09:50+08:00")
    five_before = session_start(session) - timedelta(minutes=5)
    assert _mark(centre, centre.alice, second, "arrived", five_before).status_code == 200


def test_a_walk_in_for_a_class_that_has_not_opened_is_refused_and_writes_nothing(centre):
    lead = _lead(centre, "太早的")
    response = centre.alice.post(
        f"/leads/{lead['id']}/walk-ins", {"content": "想试听下周的课", "trial_session_id": centre.sessions[0]["id"]}
    )
    assert response.status_code == 409, response.body
    assert response.json_body["error"]["details"][0]["field"] == "trial_session_id"
    detail = centre.alice.get(f"/leads/{lead['id']}").json_body
    assert detail["appointments"] == [] and detail["follow_ups"] == []
    seats = centre.alice.get(f"/sessions?date={centre.monday.isoformat()}").json_body["items"][0]
    assert seats["trials"] == 0
