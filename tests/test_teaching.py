"""Teachers' classes (issue 19, part 2): a teacher's sessions, their rosters (no phones),
check-in from the roster by the cards' rules, and in-class records in the lead's history."""

from __future__ import annotations

import concurrent.futures
from datetime import timedelta

import pytest

from chalicelib.db import cards as cards_db
from chalicelib.db import telemetry
from tests.conftest import race_report, race_rounds, session_start, signed_in_at
from tests.test_busy import dynamodb_busy
from tests.test_cards import _card, _contract, school_today

MEMBER_PHONE = "13600136001"
TRIAL_PHONE = "13600136002"


def _lead(session, name, phone):
    response = session.post("/leads", {"name": name, "guardians": [{"name": name + "妈妈", "phones": [phone]}]})
    assert response.status_code == 201, response.body
    return response.json_body


@pytest.fixture
def classroom(school):
    """A teacher's class on next Monday 09:00, taught to a cohort with one confirmed member
    (a card of 10 credits, lesson cost 1), a trial learner booked, and a second teacher."""
    s = school
    s.manager, s.front = s.staff("manager"), s.staff("frontdesk")
    s.consultant = s.staff("consultant", display_name="顾问小王")
    s.teacher = s.staff("teacher", display_name="刘老师")
    s.other_teacher = s.staff("teacher", display_name="陈老师")
    s.member = _lead(s.consultant, "王小明", MEMBER_PHONE)
    s.trial = _lead(s.consultant, "李小红", TRIAL_PHONE)
    s.stranger = _lead(s.consultant, "赵路人", "13600136003")
    s.monday = school_today() + timedelta(days=7 - school_today().weekday())
    programme = s.admin.post("/programmes", {"name": "亲子音乐"}).json_body
    s.cohort = s.manager.post(
        f"/programmes/{programme['id']}/cohorts",
        {
            "campus_id": s.campus["id"],
            "name": "音乐 1 班",
            "starts_on": s.monday.isoformat(),
            "price": "100.00",
            "seats": 5,
            "teacher_id": s.teacher.user["id"],
        },
    ).json_body
    enrolment = s.consultant.post(f"/cohorts/{s.cohort['id']}/enrolments", {"lead_id": s.member["id"]}).json_body
    assert s.consultant.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 200
    course = s.manager.post("/courses", {"name": "音乐课", "lesson_cost": "1"}).json_body
    s.cls = s.manager.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": s.campus["id"],
            "teacher": "刘老师",
            "teacher_id": s.teacher.user["id"],
            "cohort_id": s.cohort["id"],
            "capacity": 6,
            "slots": [{"weekday": 1, "start": "09:00", "end": "10:00"}],
            "start_date": s.monday.isoformat(),
            "end_date": s.monday.isoformat(),
        },
    )
    assert s.cls.status_code == 201, s.cls.body
    s.cls = s.cls.json_body
    generated = s.manager.post(
        f"/classes/{s.cls['id']}/sessions", {"from": s.monday.isoformat(), "to": s.monday.isoformat()}
    )
    s.session = generated.json_body["sessions"][0]
    contract = _contract(s.consultant, [s.member["id"]], credits="10")
    s.card = _card(s.front, s.member["id"], [contract["id"]])
    s.appointment = s.consultant.post(
        f"/leads/{s.trial['id']}/appointments", {"kind": "trial", "session_id": s.session["id"]}
    ).json_body
    s.class_time = session_start(s.session) - timedelta(minutes=10)
    return s


def _roster(session, session_id):
    response = session.get(f"/sessions/{session_id}/roster")
    assert response.status_code == 200, response.body
    return {e["name"]: e for e in response.json_body["items"]}


def test_a_teacher_sees_their_sessions_and_each_roster_without_phone_numbers(classroom):
    s = classroom
    mine = s.teacher.get(f"/me/sessions?date={s.monday.isoformat()}").json_body["items"]
    assert [(x["id"], x["teacher"], x["teacher_id"], x["cohort_id"]) for x in mine] == [
        (s.session["id"], "刘老师", s.teacher.user["id"], s.cohort["id"])
    ]
    assert s.other_teacher.get(f"/me/sessions?date={s.monday.isoformat()}").json_body["items"] == []
    assert s.teacher.get(f"/me/sessions?date={(s.monday + timedelta(days=1)).isoformat()}").json_body["items"] == []
    assert s.teacher.get("/me/sessions?date=1800-01-01").status_code == 400
    with telemetry.record() as rec:
        response = s.teacher.get(f"/sessions/{s.session['id']}/roster")
    assert "Scan" not in rec.operations
    assert response.status_code == 200, response.body
    text = response.body.decode("utf-8")
    assert MEMBER_PHONE[-4:] not in text and TRIAL_PHONE[-4:] not in text and "phone" not in text
    roster = {e["name"]: e for e in response.json_body["items"]}
    assert set(roster) == {"王小明", "李小红"}  # not the lead who is neither enrolled nor booked
    member, trial = roster["王小明"], roster["李小红"]
    assert (member["kind"], member["status"], member["record"]) == ("member", "enrolled", None)
    assert [(c["number"], c["credits"]) for c in member["cards"]] == [(s.card["number"], "10.00")]
    assert (trial["kind"], trial["status"], trial["appointment_id"], trial["cards"]) == (
        "trial",
        "booked",
        s.appointment["id"],
        [],
    )
    assert response.json_body["session"]["id"] == s.session["id"]
    # another teacher's session does not exist for them; consultants are refused; the campus's manager and desk read it
    assert s.other_teacher.get(f"/sessions/{s.session['id']}/roster").status_code == 404
    assert s.consultant.get(f"/sessions/{s.session['id']}/roster").status_code == 403
    assert set(_roster(s.manager, s.session["id"])) == {"王小明", "李小红"}
    assert set(_roster(s.front, s.session["id"])) == {"王小明", "李小红"}
    # and teachers still read no lead directly
    assert s.teacher.get(f"/leads/{s.member['id']}").status_code in (403, 404)


def test_a_teacher_checks_a_member_in_from_the_roster_by_the_cards_rules(classroom):
    s = classroom
    path = f"/sessions/{s.session['id']}/check-ins"
    early = s.teacher.post(path, {"lead_id": s.member["id"]})
    assert early.status_code == 409 and early.json_body["error"]["code"] == "ATTENDANCE_NOT_OPEN"
    with (
        signed_in_at(s.teacher, s.class_time) as teacher,
        signed_in_at(s.other_teacher, s.class_time) as other,
    ):
        assert other.post(path, {"lead_id": s.member["id"]}).status_code == 404  # not their class
        assert teacher.post(path, {"lead_id": s.stranger["id"]}).status_code == 404  # not on the roster
        assert teacher.post(path, {"lead_id": s.trial["id"]}).status_code == 404  # a trial is marked, not charged
        checked = teacher.post(path, {"lead_id": s.member["id"]})
        assert checked.status_code == 201, checked.body
        twice = teacher.post(path, {"lead_id": s.member["id"]})
        assert twice.status_code == 409 and twice.json_body["error"]["code"] == "ALREADY_CHECKED_IN"
        # the trial learner's arrival: on the appointment, by the session's teacher only
        marked = teacher.patch(f"/appointments/{s.appointment['id']}", {"attendance": "arrived"})
        assert marked.status_code == 200, marked.body
        assert other.patch(f"/appointments/{s.appointment['id']}", {"attendance": "no_show"}).status_code == 404
        roster = _roster(teacher, s.session["id"])
    movement = checked.json_body["movement"]
    assert (movement["kind"], movement["credits"], movement["by"]) == ("attendance", "-1.00", s.teacher.user["id"])
    assert (roster["王小明"]["status"], roster["王小明"]["cards"][0]["credits"]) == ("checked_in", "9.00")
    assert roster["李小红"]["status"] == "arrived"
    assert s.front.get(f"/cards/{s.card['id']}").json_body["credits"] == "9.00"


@race_rounds
def test_the_teacher_and_the_front_desk_checking_one_member_in_at_once_charge_once(classroom, race_round):
    from chalicelib.domain import cards, clock
    from chalicelib.domain.auth import authenticate
    from chalicelib.errors import CrmError
    from chalicelib.schemas.cards import CheckInRequest

    s = classroom
    with signed_in_at(s.teacher, s.class_time) as teacher, signed_in_at(s.front, s.class_time) as front:
        callers = [authenticate(f"Bearer {who.token}") for who in (teacher, front)] * 4
        request = CheckInRequest(lead_id=s.member["id"])

        def check_in(principal):
            with clock.frozen(s.class_time):
                try:
                    cards.check_in(principal, s.session["id"], request, None)
                    return "ok"
                except CrmError as exc:
                    return exc.code

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(check_in, callers))
    race_report("teacher_check_in", len(outcomes), max(0, outcomes.count("ok") - 1))
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"ALREADY_CHECKED_IN", "CARD_BUSY"}, outcomes
    ledger = cards_db.ledger_all(s.slug, s.card["id"])
    assert [e["movement"] for e in ledger].count("attendance") == 1
    assert s.admin.get(f"/cards/{s.card['id']}").json_body["credits"] == "9.00"


def test_an_in_class_record_is_kept_per_learner_and_session_and_shows_in_the_leads_history(classroom):
    s = classroom
    path = f"/sessions/{s.session['id']}/records/{s.member['id']}"
    early = s.teacher.put(path, {"notes": "太早"})
    assert early.status_code == 409 and early.json_body["error"]["code"] == "ATTENDANCE_NOT_OPEN"
    with signed_in_at(s.teacher, s.class_time) as teacher, signed_in_at(s.other_teacher, s.class_time) as other:
        for bad in ({}, {"rating": 6}, {"rating": 0}, {"notes": "a\x00b"}, {"notes": "长" * 2001}, {"mood": "好"}):
            refused = teacher.put(path, bad)
            assert refused.status_code == 400 and refused.json_body["error"]["code"] == "VALIDATION_FAILED", bad
        assert other.put(path, {"notes": "不是我的课"}).status_code == 404
        assert teacher.put(f"/sessions/{s.session['id']}/records/{s.stranger['id']}", {"rating": 3}).status_code == 404
        first = teacher.put(path, {"notes": "能完整唱完儿歌", "homework": "每天练习 10 分钟", "rating": 4})
        assert first.status_code == 200, first.body
        edited = teacher.put(path, {"notes": "能完整唱完儿歌, 节奏感好", "rating": 5})
        assert edited.status_code == 200, edited.body
        trial = teacher.put(f"/sessions/{s.session['id']}/records/{s.trial['id']}", {"notes": "第一次来, 有点害羞"})
        assert trial.status_code == 200, trial.body
        roster = _roster(teacher, s.session["id"])
    assert s.consultant.put(path, {"notes": "x"}).status_code == 403
    record = roster["王小明"]["record"]
    assert (record["notes"], record["homework"], record["rating"], record["by_name"]) == (
        "能完整唱完儿歌, 节奏感好",
        None,
        5,
        "刘老师",
    )
    assert roster["李小红"]["record"]["notes"] == "第一次来, 有点害羞"
    # the lead's history: one entry for the session, as last written, under the class's time
    history = s.consultant.get(f"/leads/{s.member['id']}/history").json_body["items"]
    entries = [h for h in history if h["action"] == "class_record"]
    assert len(entries) == 1, history
    assert entries[0]["details"] == {
        "session_id": s.session["id"],
        "course_name": "音乐课",
        "date": s.monday.isoformat(),
        "start": "09:00",
        "teacher": "刘老师",
        "notes": "能完整唱完儿歌, 节奏感好",
        "rating": 5,
    }
    assert entries[0]["by"] == s.teacher.user["id"]


def test_a_record_that_meets_a_busy_table_is_retried_or_409_busy_and_never_half_written(classroom):
    s = classroom
    path = f"/sessions/{s.session['id']}/records/{s.member['id']}"
    with signed_in_at(s.teacher, s.class_time) as teacher:
        with dynamodb_busy(times=2) as refused:
            retried = teacher.put(path, {"rating": 3})
        assert len(refused) == 2 and retried.status_code == 200, retried.body
        with dynamodb_busy(times=1000):
            busy = teacher.put(path, {"rating": 1, "notes": "不会写进去"})
        assert busy.status_code == 409 and busy.json_body["error"]["code"] == "BUSY"
        record = _roster(teacher, s.session["id"])["王小明"]["record"]
    assert (record["rating"], record["notes"]) == (3, None)
    history = s.consultant.get(f"/leads/{s.member['id']}/history").json_body["items"]
    assert [h["details"].get("rating") for h in history if h["action"] == "class_record"] == [3]


def test_a_cancelled_session_takes_no_record(classroom):
    s = classroom
    assert s.manager.patch(f"/sessions/{s.session['id']}", {"cancelled": True}).status_code == 200
    with signed_in_at(s.teacher, s.class_time) as teacher:
        refused = teacher.put(f"/sessions/{s.session['id']}/records/{s.member['id']}", {"rating": 3})
    assert refused.status_code == 409 and refused.json_body["error"]["code"] == "SESSION_CANCELLED"


def test_a_substitute_teacher_takes_the_session_and_only_a_teacher_of_the_campus_can(classroom):
    s = classroom
    day = s.monday.isoformat()
    elsewhere = s.admin.post("/campuses", {"name": "北山校区"}).json_body
    far_teacher = s.staff("teacher", campus_ids=[elsewhere["id"]])
    for who in (far_teacher, s.consultant):
        refused = s.manager.patch(f"/sessions/{s.session['id']}", {"teacher_id": who.user["id"]})
        assert refused.status_code == 400 and refused.json_body["error"]["details"][0]["field"] == "teacher_id"
    moved = s.manager.patch(f"/sessions/{s.session['id']}", {"teacher_id": s.other_teacher.user["id"]})
    assert moved.status_code == 200, moved.body
    assert (moved.json_body["teacher"], moved.json_body["teacher_id"]) == ("陈老师", s.other_teacher.user["id"])
    assert [x["id"] for x in s.other_teacher.get(f"/me/sessions?date={day}").json_body["items"]] == [s.session["id"]]
    assert s.teacher.get(f"/me/sessions?date={day}").json_body["items"] == []
    assert s.teacher.get(f"/sessions/{s.session['id']}/roster").status_code == 404
    assert set(_roster(s.other_teacher, s.session["id"])) == {"王小明", "李小红"}
    # a class names an active teacher of its campus, and a cohort of its campus
    body = {**{k: s.cls[k] for k in ("course_id", "campus_id", "teacher", "capacity", "slots")}}
    body |= {"start_date": day, "end_date": day}
    for bad in ({"teacher_id": far_teacher.user["id"]}, {"cohort_id": "NOPE"}, {"teacher_id": s.manager.user["id"]}):
        refused = s.manager.post("/classes", {**body, **bad})
        assert refused.status_code == 400 and refused.json_body["error"]["details"][0]["field"] in bad, bad


def test_pre_class_talks_and_drop_outs_are_follow_up_kinds_a_school_names(classroom):
    s = classroom
    url = f"/leads/{s.member['id']}/follow-ups"
    talked = s.consultant.post(url, {"method": "pre_class", "content": "课前沟通: 提醒带水杯"})
    assert talked.status_code == 201, talked.body
    left = s.consultant.post(url, {"method": "drop_out", "content": "搬家, 退课"})
    assert left.status_code == 201, left.body
    methods = s.admin.get("/settings/dictionaries/follow_up_methods").json_body["entries"]
    labels = {m["key"]: m["label"] for m in methods}
    assert (labels["pre_class"], labels["drop_out"]) == ("课前沟通", "退课")
    renamed = [{**m, "label": "流失"} if m["key"] == "drop_out" else m for m in methods]
    assert s.admin.put("/settings/dictionaries/follow_up_methods", {"entries": renamed}).status_code == 200
    again = s.admin.get("/settings/dictionaries/follow_up_methods").json_body["entries"]
    assert {m["key"]: m["label"] for m in again}["drop_out"] == "流失"
    kinds = [f["method"] for f in s.consultant.get(f"/follow-ups?lead={s.member['id']}").json_body["items"]]
    assert sorted(kinds) == ["drop_out", "pre_class"]
