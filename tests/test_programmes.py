"""Programmes (课程), cohorts (班级), enrolments (报名), seats and enrolment reminders."""

from __future__ import annotations

import concurrent.futures
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib import jobs
from chalicelib.domain import clock, programmes
from tests.conftest import School
from tests.test_leads import lead_body


def _phone() -> str:
    return f"136{uuid.uuid4().int % 10**8:08d}"


def _day(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


@pytest.fixture
def academy(school):
    """A manager, a consultant with a lead, a teacher, and a programme."""
    school.manager = school.staff("manager")
    school.alice = school.staff("consultant", display_name="顾问Alice")
    school.teacher = school.staff("teacher", display_name="王老师")
    school.lead = school.alice.post("/leads", lead_body(name="李小龙", phone=_phone())).json_body
    school.programme = school.manager.post(
        "/programmes", {"name": "少儿编程启蒙", "kind": "course", "recurrence": "recurring"}
    ).json_body
    return school


def _cohort(session, programme_id, **extra):
    body = {
        "campus_id": extra.pop("campus_id"),
        "name": "周六上午班",
        "starts_on": _day(30),
        "schedule": "每周六 10:00-11:30",
        "price": "3600.00",
        "instalment_options": [{"name": "一次性", "count": 1}, {"name": "分3期", "count": 3}],
        "seats": 10,
        **extra,
    }
    response = session.post(f"/programmes/{programme_id}/cohorts", body)
    assert response.status_code == 201, response.body
    return response.json_body


def _enrol(session, cohort_id, lead_id, **extra):
    response = session.post(f"/cohorts/{cohort_id}/enrolments", {"lead_id": lead_id, **extra})
    assert response.status_code == 201, response.body
    return response.json_body


def test_a_programme_and_its_cohort_keep_chinese_names_teacher_and_price(academy):
    cohort = _cohort(
        academy.manager, academy.programme["id"], campus_id=academy.campus["id"], teacher_id=academy.teacher.user["id"]
    )
    assert cohort["programme_name"] == "少儿编程启蒙" and cohort["name"] == "周六上午班"
    assert cohort["teacher_name"] == "王老师" and cohort["campus_name"] == "南山校区"
    assert (cohort["price"], cohort["seats_left"], cohort["starts_at"]) == ("3600.00", 10, "09:00")
    seen = academy.alice.get(f"/cohorts/{cohort['id']}").json_body
    assert (seen["schedule"], seen["confirmed"], seen["pending"]) == ("每周六 10:00-11:30", 0, 0)
    listed = academy.alice.get(f"/cohorts?programme_id={academy.programme['id']}").json_body["items"]
    assert [c["id"] for c in listed] == [cohort["id"]]
    assert academy.alice.get("/programmes").json_body["items"][0]["name"] == "少儿编程启蒙"
    renamed = academy.manager.patch(f"/programmes/{academy.programme['id']}", {"description": "零基础"})
    assert renamed.json_body["description"] == "零基础"


def test_cohorts_are_listed_upcoming_first_and_pages_carry_on(academy):
    made = [
        _cohort(academy.manager, academy.programme["id"], campus_id=academy.campus["id"], starts_on=_day(d))["id"]
        for d in (20, 5, 12)
    ]
    first = academy.alice.get("/cohorts?limit=2").json_body
    second = academy.alice.get(f"/cohorts?limit=2&cursor={first['next_cursor']}").json_body
    assert [c["id"] for c in first["items"] + second["items"]] == [made[1], made[2], made[0]]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_on": _day(10), "ends_on": _day(9)}, "ends_on"),
        ({"seats": 0}, "seats"),
        ({"price": 3600.5}, "price"),
        ({"instalment_options": [{"name": "分3期", "count": 3}, {"name": "分3期", "count": 2}]}, "instalment_options"),
        ({"starts_at": "25:00"}, "starts_at"),
        ({"campus_id": "nowhere"}, "campus_id"),
        ({"teacher": "王老师"}, "teacher"),
    ],
)
def test_a_bad_cohort_is_refused_naming_the_field(academy, change, field):
    body = {
        "campus_id": academy.campus["id"],
        "name": "班",
        "starts_on": _day(10),
        "price": "100.00",
        "seats": 5,
        **change,
    }
    response = academy.manager.post(f"/programmes/{academy.programme['id']}/cohorts", body)
    assert response.status_code == 400, response.body
    error = response.json_body["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert any(d["field"].startswith(field) for d in error["details"]), error


def test_a_teacher_must_be_an_active_teacher_and_the_start_not_past(academy):
    url = f"/programmes/{academy.programme['id']}/cohorts"
    base = {"campus_id": academy.campus["id"], "name": "班", "starts_on": _day(10), "price": "1.00", "seats": 5}
    not_teacher = academy.manager.post(url, {**base, "teacher_id": academy.alice.user["id"]})
    assert not_teacher.status_code == 400 and not_teacher.json_body["error"]["details"][0]["field"] == "teacher_id"
    unknown = academy.manager.post(url, {**base, "teacher_id": "nobody"})
    assert unknown.status_code == 400
    past = academy.manager.post(url, {**base, "starts_on": _day(-1)})
    assert past.status_code == 400 and past.json_body["error"]["details"][0]["field"] == "starts_on"
    assert academy.manager.post("/programmes/nope/cohorts", base).status_code == 404
    assert academy.alice.get("/cohorts").json_body["items"] == []


def test_only_admins_and_managers_create_and_change_programmes_and_cohorts(academy):
    assert academy.alice.post("/programmes", {"name": "x"}).status_code == 403
    assert academy.teacher.post("/programmes", {"name": "x"}).status_code == 403
    base = {"campus_id": academy.campus["id"], "name": "班", "starts_on": _day(10), "price": "1.00", "seats": 5}
    response = academy.alice.post(f"/programmes/{academy.programme['id']}/cohorts", base)
    assert response.status_code == 403 and response.json_body["error"]["code"] == "ROLE_FORBIDDEN"
    cohort = _cohort(academy.admin, academy.programme["id"], campus_id=academy.campus["id"])
    assert academy.alice.patch(f"/cohorts/{cohort['id']}", {"seats": 1}).status_code == 403
    assert academy.alice.patch(f"/programmes/{academy.programme['id']}", {"name": "x"}).status_code == 403
    assert (
        academy.teacher.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": academy.lead["id"]}).status_code == 403
    )
    assert academy.teacher.get(f"/cohorts/{cohort['id']}").status_code == 200


def test_an_inactive_programme_opens_no_cohorts(academy):
    academy.manager.patch(f"/programmes/{academy.programme['id']}", {"active": False})
    base = {"campus_id": academy.campus["id"], "name": "班", "starts_on": _day(10), "price": "1.00", "seats": 5}
    response = academy.manager.post(f"/programmes/{academy.programme['id']}/cohorts", base)
    assert response.status_code == 409 and response.json_body["error"]["code"] == "PROGRAMME_INACTIVE"


def test_enrol_confirm_decline_and_the_seat_comes_back(academy):
    cohort = _cohort(academy.manager, academy.programme["id"], campus_id=academy.campus["id"], seats=1)
    enrolment = _enrol(academy.alice, cohort["id"], academy.lead["id"], instalments="分3期")
    assert (enrolment["status"], enrolment["agreed_price"]) == ("pending", "3600.00")
    assert (enrolment["instalments"], enrolment["instalment_count"]) == ("分3期", 3)
    again = academy.alice.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": academy.lead["id"]})
    assert again.status_code == 409 and again.json_body["error"]["code"] == "ALREADY_ENROLLED"
    assert academy.alice.get(f"/leads/{academy.lead['id']}").json_body["enrolment_ids"] == [enrolment["id"]]

    confirmed = academy.alice.post(f"/enrolments/{enrolment['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json_body["status"] == "confirmed"
    assert academy.alice.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 200  # a retry changes nothing
    seen = academy.alice.get(f"/cohorts/{cohort['id']}").json_body
    assert (seen["confirmed"], seen["pending"], seen["seats_left"]) == (1, 0, 0)

    other = academy.alice.post("/leads", lead_body(name="张三", phone=_phone())).json_body
    second = _enrol(academy.alice, cohort["id"], other["id"])
    full = academy.alice.post(f"/enrolments/{second['id']}/confirm")
    assert full.status_code == 409 and full.json_body["error"]["code"] == "COHORT_FULL"

    declined = academy.alice.post(f"/enrolments/{enrolment['id']}/decline").json_body
    assert declined["status"] == "declined"
    seen = academy.alice.get(f"/cohorts/{cohort['id']}").json_body
    assert (seen["confirmed"], seen["declined"], seen["seats_left"]) == (0, 1, 1)
    assert academy.alice.post(f"/enrolments/{second['id']}/confirm").json_body["status"] == "confirmed"
    listed = academy.manager.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"]
    assert {(e["lead_name"], e["status"]) for e in listed} == {("李小龙", "declined"), ("张三", "confirmed")}


def test_the_agreed_price_is_kept_and_options_are_the_cohorts(academy):
    cohort = _cohort(academy.manager, academy.programme["id"], campus_id=academy.campus["id"])
    bad = academy.alice.post(
        f"/cohorts/{cohort['id']}/enrolments", {"lead_id": academy.lead["id"], "instalments": "分12期"}
    )
    assert bad.status_code == 400 and bad.json_body["error"]["details"][0]["field"] == "instalments"
    floaty = academy.alice.post(
        f"/cohorts/{cohort['id']}/enrolments", {"lead_id": academy.lead["id"], "agreed_price": 1.5}
    )
    assert floaty.status_code == 400
    enrolment = _enrol(academy.alice, cohort["id"], academy.lead["id"], agreed_price="3000.00")
    assert enrolment["instalments"] == "一次性"  # the cohort's first option
    academy.manager.patch(f"/cohorts/{cohort['id']}", {"price": "4200.00"})
    confirmed = academy.alice.post(f"/enrolments/{enrolment['id']}/confirm").json_body
    assert confirmed["agreed_price"] == "3000.00"
    assert academy.alice.get(f"/cohorts/{cohort['id']}").json_body["price"] == "4200.00"


def test_staff_enrol_only_leads_they_can_see(academy):
    cohort = _cohort(academy.manager, academy.programme["id"], campus_id=academy.campus["id"])
    bob = academy.staff("consultant")
    response = bob.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": academy.lead["id"]})
    assert response.status_code == 404 and response.json_body["error"]["code"] == "LEAD_NOT_FOUND"
    enrolment = _enrol(academy.alice, cohort["id"], academy.lead["id"])
    assert bob.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 404
    assert bob.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"] == []
    assert len(academy.alice.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"]) == 1
    assert academy.alice.post("/enrolments/garbage/confirm").status_code == 404


def test_seats_never_go_below_the_confirmed_and_closed_cohorts_take_no_confirmations(academy):
    cohort = _cohort(academy.manager, academy.programme["id"], campus_id=academy.campus["id"], seats=3)
    leads = [academy.alice.post("/leads", lead_body(name=f"学员{i}", phone=_phone())).json_body for i in range(3)]
    enrolments = [_enrol(academy.alice, cohort["id"], lead["id"]) for lead in leads]
    for e in enrolments[:2]:
        academy.alice.post(f"/enrolments/{e['id']}/confirm")
    below = academy.manager.patch(f"/cohorts/{cohort['id']}", {"seats": 1})
    assert below.status_code == 409 and below.json_body["error"]["code"] == "SEATS_BELOW_CONFIRMED"
    assert academy.manager.patch(f"/cohorts/{cohort['id']}", {"seats": 2}).json_body["seats_left"] == 0
    assert academy.manager.patch(f"/cohorts/{cohort['id']}", {"seats": 5, "status": "closed"}).status_code == 200
    closed = academy.alice.post(f"/enrolments/{enrolments[2]['id']}/confirm")
    assert closed.status_code == 409 and closed.json_body["error"]["code"] == "COHORT_NOT_OPEN"
    late = academy.alice.post("/leads", lead_body(name="迟到", phone=_phone())).json_body
    refused = academy.alice.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": late["id"]})
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "COHORT_NOT_OPEN"
    bad = academy.manager.patch(f"/cohorts/{cohort['id']}", {"ends_on": _day(1)})
    assert bad.status_code == 400 and bad.json_body["error"]["details"][0]["field"] == "ends_on"


def test_n_plus_five_concurrent_confirmations_of_n_seats_confirm_exactly_n(academy):
    from chalicelib.domain.auth import authenticate
    from chalicelib.errors import ConflictError

    seats = 4
    cohort = _cohort(academy.manager, academy.programme["id"], campus_id=academy.campus["id"], seats=seats)
    leads = [academy.alice.post("/leads", lead_body(name=f"并发{i}", phone=_phone())).json_body for i in range(9)]
    enrolments = [_enrol(academy.alice, cohort["id"], lead["id"])["id"] for lead in leads]
    principal = authenticate(f"Bearer {academy.alice.token}")

    def confirm(enrolment_id):
        try:
            programmes.confirm(principal, enrolment_id)
            return "ok"
        except ConflictError as exc:
            return exc.code

    with concurrent.futures.ThreadPoolExecutor(max_workers=9) as pool:
        outcomes = list(pool.map(confirm, enrolments))
    assert outcomes.count("ok") == seats, outcomes
    assert outcomes.count("COHORT_FULL") == 5, outcomes
    seen = academy.alice.get(f"/cohorts/{cohort['id']}").json_body
    assert (seen["confirmed"], seen["pending"], seen["seats_left"]) == (seats, 5, 0)


def _outbox(session, prefix):
    return [e for e in session.get("/outbox?limit=100").json_body["items"] if e["reference"].startswith(prefix)]


@pytest.fixture
def los_angeles(client):
    """A school in Los Angeles, signed in (and working) on 2031-08-20."""
    with clock.frozen(datetime(2031, 8, 20, 17, 0, tzinfo=UTC)):
        school = School(client, timezone="America/Los_Angeles")
        school.manager = school.staff("manager")
        school.lead = school.manager.post("/leads", lead_body(name="陈小美", phone="13912345678")).json_body
        programme = school.manager.post("/programmes", {"name": "暑期书法工作坊", "kind": "workshop"}).json_body
        school.cohort = _cohort(
            school.manager,
            programme["id"],
            campus_id=school.campus["id"],
            starts_on="2031-09-06",
            starts_at="10:00",
        )
    return school


def test_the_reminder_goes_out_before_the_first_session_in_the_schools_time(los_angeles):
    school = los_angeles
    with clock.frozen(datetime(2031, 8, 21, 17, 0, tzinfo=UTC)):
        manager = school.sign_in(school.manager.user["username"], school.manager.password)
        enrolment = _enrol(manager, school.cohort["id"], school.lead["id"], notify_before_minutes=90)
        confirmed = manager.post(f"/enrolments/{enrolment['id']}/confirm").json_body
        manager.post(f"/enrolments/{enrolment['id']}/confirm")  # a retry schedules nothing twice
    # 10:00 in Los Angeles on 6 September (PDT, UTC-7) is 17:00 UTC; 90 minutes before is 15:30 UTC
    due = datetime(2031, 9, 6, 15, 30, tzinfo=UTC)
    assert datetime.fromisoformat(confirmed["reminder_at"].replace("Z", "+00:00")) == due
    prefix = confirmed["reminder_message_id"]
    jobs.run("scheduled_messages", at=due - timedelta(minutes=1), tenant=school.slug)
    assert _outbox(school.admin, prefix) == []
    with clock.frozen(due + timedelta(seconds=5)):
        jobs.run("scheduled_messages", at=due + timedelta(seconds=5), tenant=school.slug)
        jobs.run("scheduled_messages", at=due + timedelta(seconds=20), tenant=school.slug)
    sent = _outbox(school.admin, prefix)
    assert len(sent) == 1
    assert sent[0]["to"] == "+8613912345678"
    assert "陈小美" in sent[0]["body"] and "暑期书法工作坊" in sent[0]["body"] and "2031-09-06 10:00" in sent[0]["body"]


def test_declining_stops_the_reminder(los_angeles):
    school = los_angeles
    with clock.frozen(datetime(2031, 8, 21, 17, 0, tzinfo=UTC)):
        manager = school.sign_in(school.manager.user["username"], school.manager.password)
        enrolment = _enrol(manager, school.cohort["id"], school.lead["id"], notify_before_minutes=60)
        confirmed = manager.post(f"/enrolments/{enrolment['id']}/confirm").json_body
        manager.post(f"/enrolments/{enrolment['id']}/decline")
        message = manager.get(f"/messages/{confirmed['reminder_message_id']}").json_body
    assert (message["queued"], message["skipped"]) == (0, 1)
    due = datetime(2031, 9, 6, 16, 0, tzinfo=UTC)
    with clock.frozen(due):
        jobs.run("scheduled_messages", at=due, tenant=school.slug)
    assert _outbox(school.admin, confirmed["reminder_message_id"]) == []


def test_moving_the_start_moves_the_reminder_and_cancelling_stops_it(los_angeles):
    school = los_angeles
    with clock.frozen(datetime(2031, 8, 21, 17, 0, tzinfo=UTC)):
        manager = school.sign_in(school.manager.user["username"], school.manager.password)
        enrolment = _enrol(manager, school.cohort["id"], school.lead["id"], notify_before_minutes=60)
        first = manager.post(f"/enrolments/{enrolment['id']}/confirm").json_body
        manager.patch(f"/cohorts/{school.cohort['id']}", {"starts_at": "14:00"})
        moved = manager.get(f"/cohorts/{school.cohort['id']}/enrolments").json_body["items"][0]
        assert manager.get(f"/messages/{first['reminder_message_id']}").json_body["queued"] == 0
        assert moved["reminder_at"].startswith("2031-09-06T20:00")  # 14:00 PDT less an hour
        manager.patch(f"/cohorts/{school.cohort['id']}", {"status": "cancelled"})
        assert manager.get(f"/messages/{moved['reminder_message_id']}").json_body["queued"] == 0
        again = manager.patch(f"/cohorts/{school.cohort['id']}", {"status": "open"})
    assert again.status_code == 409 and again.json_body["error"]["code"] == "COHORT_CANCELLED"


def test_an_opted_out_guardian_gets_no_reminder(los_angeles):
    school = los_angeles
    with clock.frozen(datetime(2031, 8, 21, 17, 0, tzinfo=UTC)):
        manager = school.sign_in(school.manager.user["username"], school.manager.password)
        body = lead_body(name="不打扰", phone=_phone())
        body["guardians"][0]["sms_opt_out"] = True
        lead = manager.post("/leads", body).json_body
        enrolment = _enrol(manager, school.cohort["id"], lead["id"], notify_before_minutes=60)
        confirmed = manager.post(f"/enrolments/{enrolment['id']}/confirm").json_body
        message = manager.get(f"/messages/{confirmed['reminder_message_id']}").json_body
    assert message["skipped_by_reason"] == {"opted_out": 1} and message["queued"] == 0


def test_open_cohorts_leave_out_full_closed_and_past_ones_and_staff_data(academy):
    from chalicelib.domain.auth import authenticate
    from chalicelib.schemas.programmes import CohortRequest

    pid = academy.programme["id"]
    campus = academy.campus["id"]
    manager = authenticate(f"Bearer {academy.manager.token}")
    with clock.frozen(datetime.now(UTC) - timedelta(days=10)):  # made back then, started five days ago
        request = CohortRequest(campus_id=campus, name="已开班", starts_on=_day(-5), price="10.00", seats=5)
        past = programmes.create_cohort(manager, pid, request).model_dump(mode="json")
    open_ = _cohort(academy.manager, pid, campus_id=campus, name="招生中", teacher_id=academy.teacher.user["id"])
    full = _cohort(academy.manager, pid, campus_id=campus, name="已满", seats=1)
    closed = _cohort(academy.manager, pid, campus_id=campus, name="已关闭")
    academy.manager.patch(f"/cohorts/{closed['id']}", {"status": "closed"})
    taken = _enrol(academy.alice, full["id"], academy.lead["id"])
    academy.alice.post(f"/enrolments/{taken['id']}/confirm")
    other = academy.manager.post(
        "/programmes", {"name": "家长讲座", "kind": "seminar", "recurrence": "one_off"}
    ).json_body
    seminar = _cohort(academy.manager, other["id"], campus_id=campus, name="讲座", starts_on=_day(40))

    page = programmes.open_cohorts(academy.slug, None, 50, None)
    assert [c.id for c in page.items] == [open_["id"], seminar["id"]]
    assert past["id"] not in {c.id for c in page.items}
    shown = page.items[0].model_dump(mode="json")
    assert shown["teacher_name"] == "王老师" and shown["seats_left"] == 10 and shown["price"] == "3600.00"
    assert not {"teacher_id", "confirmed", "pending", "declined", "created_by", "enrolments"} & set(shown)
    only = programmes.open_cohorts(academy.slug, other["id"], 50, None)
    assert [c.programme_name for c in only.items] == ["家长讲座"]
    listed, cursor = [], ""
    for _ in range(10):  # a page holds at most one; a full cohort leaves its page empty
        page = academy.alice.get(f"/cohorts/open?limit=1&cursor={cursor}").json_body
        listed += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert listed == [open_["id"], seminar["id"]]

    found = programmes.cohort_for_application(academy.slug, full["id"])
    assert (found.programme_name, found.seats_left, found.status) == ("少儿编程启蒙", 0, "open")
    assert programmes.cohort_for_application(academy.slug, "nope") is None
    assert programmes.cohort_for_application("another-school", open_["id"]) is None


def test_a_cohort_takes_a_new_teacher_schedule_and_options(academy):
    cohort = _cohort(academy.manager, academy.programme["id"], campus_id=academy.campus["id"])
    changes = {
        "teacher_id": academy.teacher.user["id"],
        "schedule": "每周日 14:00-15:30",
        "instalment_options": [{"name": "分2期", "count": 2}],
        "ends_on": _day(120),
    }
    changed = academy.manager.patch(f"/cohorts/{cohort['id']}", changes).json_body
    assert (changed["teacher_name"], changed["schedule"], changed["ends_on"]) == (
        "王老师",
        "每周日 14:00-15:30",
        _day(120),
    )
    assert changed["instalment_options"] == [{"name": "分2期", "count": 2}]
    enrolment = _enrol(academy.alice, cohort["id"], academy.lead["id"])
    assert (enrolment["instalments"], enrolment["instalment_count"]) == ("分2期", 2)
    bad = academy.manager.patch(f"/cohorts/{cohort['id']}", {"teacher_id": academy.alice.user["id"]})
    assert bad.status_code == 400 and bad.json_body["error"]["details"][0]["field"] == "teacher_id"
    assert academy.manager.patch(f"/cohorts/{cohort['id']}", {"seats": None}).status_code == 400
    assert academy.alice.get(f"/cohorts/{cohort['id']}").json_body["teacher_name"] == "王老师"
