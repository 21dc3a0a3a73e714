"""Birthday and holiday greetings in each school's own calendar, once each."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from chalicelib import jobs
from chalicelib.domain import clock
from tests.conftest import School
from tests.test_leads import lead_body


def _lead(school, name, birthday, region_phone=None):
    phone = region_phone or f"136{uuid.uuid4().int % 10**8:08d}"
    body = {**lead_body(name=name, phone=phone), "birthday": birthday, "campus_id": school.campus["id"]}
    response = school.admin.post("/leads", body)
    assert response.status_code == 201, response.body
    return response.json_body


def _greetings(school):
    items = school.admin.get("/outbox?limit=100").json_body["items"]
    return sorted(i["body"] for i in items if i["reference"].startswith("birthday-"))


def _run(at, tenant=None):
    with clock.frozen(at):
        result = jobs.run("birthdays", at=at, tenant=tenant)
        jobs.run("scheduled_messages", at=at, tenant=tenant)
    return result


def test_a_birthday_is_greeted_once_in_the_schools_own_calendar(client):
    shanghai, la = School(client, timezone="Asia/Shanghai"), School(client, timezone="America/Los_Angeles")
    _lead(shanghai, "上海五号", "2020-03-05")
    _lead(shanghai, "上海四号", "2020-03-04")
    _lead(la, "Amy", "2019-03-04", region_phone="+1 415 555 0134")
    _lead(la, "Ben", "2019-03-05", region_phone="+1 415 555 0135")
    instant = datetime(2031, 3, 5, 1, 30, tzinfo=UTC)  # 09:30 on the 5th in Shanghai, 17:30 on the 4th in LA
    _run(instant)
    assert [g.split("小朋友")[0] for g in _greetings(shanghai)] == ["亲爱的上海五号"]
    assert [g.split("小朋友")[0] for g in _greetings(la)] == ["亲爱的Amy"]
    _run(instant.replace(minute=45))  # the next run (or a retried one) greets nobody again
    assert len(_greetings(shanghai)) == len(_greetings(la)) == 1


def test_greetings_wait_for_the_greeting_hour(school):
    _lead(school, "早起", "2018-06-01")
    early = datetime(2031, 6, 1, 0, 10, tzinfo=UTC)  # 08:10 in Shanghai; greetings go from 09:00
    assert _run(early, school.slug)["birthdays"] == 0
    assert _greetings(school) == []
    assert _run(early.replace(hour=1), school.slug)["birthdays"] == 1


def test_a_29_february_birthday_is_greeted_on_28_february_in_a_common_year(school):
    _lead(school, "闰年宝宝", "2020-02-29")
    _run(datetime(2031, 2, 28, 2, 0, tzinfo=UTC))  # 2031 has no 29 February
    assert len(_greetings(school)) == 1
    leap = School(school.client)
    _lead(leap, "闰年宝宝", "2020-02-29")
    _run(datetime(2032, 2, 28, 2, 0, tzinfo=UTC))  # 2032 has one: not yet on the 28th
    assert _greetings(leap) == []
    _run(datetime(2032, 2, 29, 2, 0, tzinfo=UTC))
    assert len(_greetings(leap)) == 1


def test_the_schools_birthday_template_is_used_and_a_changed_birthday_moves(school):
    template = school.admin.post(
        "/templates",
        {"name": "生日", "channel": "sms", "kind": "birthday", "body": "{{ learner.name }}{{ learner.age }}岁生日快乐"},
    ).json_body
    assert school.admin.patch("/settings/messaging", {"birthday_template_id": "nope"}).status_code == 404
    school.admin.patch("/settings/messaging", {"birthday_template_id": template["id"]})
    lead = _lead(school, "小雨", "2020-09-09")
    school.admin.patch(f"/leads/{lead['id']}", {"birthday": "2020-09-10"})
    _run(datetime(2031, 9, 9, 3, 0, tzinfo=UTC))
    assert _greetings(school) == []
    _run(datetime(2031, 9, 10, 3, 0, tzinfo=UTC))
    assert _greetings(school) == ["小雨11岁生日快乐"]


def test_holiday_greetings_go_to_members_once(school):
    member = _lead(school, "会员", "2020-01-01")
    _lead(school, "非会员", "2020-01-02")
    school.admin.post(
        "/contracts",
        {
            "lead_ids": [member["id"]],
            "credits": "10",
            "price": "100",
            "starts_on": "2031-01-01",
            "ends_on": "2031-12-31",
        },
    )
    school.admin.patch(
        "/settings/messaging",
        {
            "holidays": [
                {
                    "date": "10-01",
                    "name": "国庆节",
                    "template_id": school.admin.post(
                        "/templates",
                        {
                            "name": "国庆",
                            "channel": "sms",
                            "kind": "holiday",
                            "body": "{{ learner.name }}{{ holiday.name }}快乐",
                        },
                    ).json_body["id"],
                }
            ]
        },
    )
    at = datetime(2031, 10, 1, 2, 0, tzinfo=UTC)
    assert _run(at, school.slug)["holiday_greetings"] == 1
    assert _run(at, school.slug)["holiday_greetings"] == 0
    bodies = [i["body"] for i in school.admin.get("/outbox").json_body["items"] if i["reference"].startswith("holiday")]
    assert bodies == ["会员国庆节快乐"]


def _outbox_of(school, prefix):
    return [i for i in school.admin.get("/outbox?limit=100").json_body["items"] if i["reference"].startswith(prefix)]


def test_the_guardian_is_reminded_the_day_before_a_trial_once(school):
    from datetime import date, timedelta

    lead = _lead(school, "试听宝宝", "2021-01-01")
    course = school.admin.post("/courses", {"name": "乐高", "lesson_cost": "1"}).json_body
    day = date.today() + timedelta(days=10)
    cls = school.admin.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": school.campus["id"],
            "teacher": "周老师",
            "capacity": 5,
            "slots": [{"weekday": day.isoweekday(), "start": "15:30", "end": "16:30"}],
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
        },
    ).json_body
    session = school.admin.post(f"/classes/{cls['id']}/sessions", {"from": day.isoformat(), "to": day.isoformat()})
    booked = school.admin.post(
        f"/leads/{lead['id']}/appointments", {"kind": "trial", "session_id": session.json_body["sessions"][0]["id"]}
    )
    assert booked.status_code == 201, booked.body
    two_days_before = datetime.combine(day - timedelta(days=2), datetime.min.time(), tzinfo=UTC).replace(hour=3)
    _run_job("appointment_reminders", two_days_before)
    assert _outbox_of(school, "remind-") == []
    day_before = two_days_before + timedelta(days=1)  # 11:00 in Shanghai, the day before
    _run_job("appointment_reminders", day_before)
    _run_job("appointment_reminders", day_before + timedelta(hours=1))
    sent = _outbox_of(school, "remind-")
    assert len(sent) == 1
    assert "试听宝宝明天" in sent[0]["body"] and "15:30" in sent[0]["body"] and "乐高" in sent[0]["body"]


def _run_job(name, at, tenant=None):
    """Runs a job (for one school when counts are asserted: other tests' schools share the
    table) and then the sending."""
    with clock.frozen(at):
        result = jobs.run(name, at=at, tenant=tenant)
        jobs.run("scheduled_messages", at=at, tenant=tenant)
    return result


def test_the_owner_is_warned_before_the_protection_period_ends_then_told_it_went(school):
    from datetime import timedelta

    alice = school.staff("consultant", display_name="Alice")
    school.admin.patch("/settings/leads", {"protection_days": 5, "reclaim_warning_days": 2})
    start = datetime(2031, 4, 1, 2, 0, tzinfo=UTC)
    with clock.frozen(start):
        me = school.sign_in(alice.user["username"], alice.password)
        lead = me.post("/leads", lead_body(name="快到期", phone=f"135{uuid.uuid4().int % 10**8:08d}")).json_body
    assert lead["reclaim_on"] == "2031-04-06"
    assert _run_job("pool_reclaim", start + timedelta(days=2), school.slug)["warned"] == 0
    assert _run_job("pool_reclaim", start + timedelta(days=3), school.slug)["warned"] == 1  # 2 days before 04-06
    assert _run_job("pool_reclaim", start + timedelta(days=3, hours=1), school.slug)["warned"] == 0  # once
    reclaimed = _run_job("pool_reclaim", start + timedelta(days=5), school.slug)
    assert reclaimed["released"] == 1
    with clock.frozen(start + timedelta(days=5)):
        me = school.sign_in(alice.user["username"], alice.password)
        notes = [n["message"] for n in me.get("/notifications").json_body["items"]]
    assert notes[0] == "线索「快到期」保护期内未跟进，已退回公海。"
    assert notes[1] == "线索「快到期」2天后（2031-04-06）将退回公海，请及时跟进。"


def test_staff_get_todays_work_at_the_digest_hour_once(school):
    from datetime import timedelta

    alice = school.staff("consultant", display_name="Alice", phone="13600001111")
    school.admin.patch("/settings/messaging", {"digest_hour": 8, "digest_channel": "sms"})
    morning = datetime(2031, 5, 20, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    with clock.frozen(morning - timedelta(days=1)):
        me = school.sign_in(alice.user["username"], alice.password)
        lead = me.post("/leads", lead_body(name="今天联系", phone=f"135{uuid.uuid4().int % 10**8:08d}")).json_body
        me.post(
            f"/leads/{lead['id']}/follow-ups",
            {"method": "phone", "content": "约明天", "next_follow_up_at": "2031-05-20T15:00:00"},
        )
    assert _run_job("due_follow_ups", morning - timedelta(hours=1), school.slug)["digests"] == 0  # 07:30: not yet
    assert _run_job("due_follow_ups", morning, school.slug)["digests"] >= 1
    assert _run_job("due_follow_ups", morning, school.slug)["digests"] == 0  # once a day
    with clock.frozen(morning):
        me = school.sign_in(alice.user["username"], alice.password)
        notes = [n["message"] for n in me.get("/notifications").json_body["items"]]
    assert notes[0].startswith("今日工作（2031-05-20）：待联系1")
    sms = [e for e in _outbox_of(school, "digest-") if e["to"] == "+8613600001111"]
    assert len(sms) == 1 and sms[0]["body"].startswith("Alice早上好！今天待联系1位")


def _low_card(school):
    """Alice's lead 卡快用完 with a card of 3 credits (a contract ending in 40 days), 2 spent:
    1 left, below the alert's 2. Returns Alice."""
    alice = school.staff("consultant", display_name="Alice")
    lead = alice.post("/leads", lead_body(name="卡快用完", phone=f"135{uuid.uuid4().int % 10**8:08d}")).json_body
    today = date.today()
    contract = alice.post(
        "/contracts",
        {
            "lead_ids": [lead["id"]],
            "credits": "3",
            "price": "300",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=40)).isoformat(),
        },
    ).json_body
    card = school.admin.post("/cards", {"holder_lead_id": lead["id"], "contract_ids": [contract["id"]]}).json_body
    school.admin.post(f"/cards/{card['id']}/movements", {"kind": "deduction", "credits": "2"})  # 1 left: below 2
    return alice


def test_a_card_running_low_or_about_to_expire_tells_the_member_and_the_consultant(school):
    alice = _low_card(school)
    now = datetime.now(UTC).replace(hour=3)  # 11:00 in Shanghai
    assert _run_job("card_alerts", now, school.slug)["card_alerts"] == 1
    assert _run_job("card_alerts", now, school.slug)["card_alerts"] == 0
    low = _outbox_of(school, "card-low-")
    assert len(low) == 1 and "剩余1.00课时" in low[0]["body"]
    notes = [n["message"] for n in alice.get("/notifications").json_body["items"]]
    assert any("卡快用完的会员卡" in n and "课时不足" in n for n in notes)
    # 14 days before the contract ends, the card comes up again: its credits are about to expire
    later = now + timedelta(days=27)
    assert _run_job("card_alerts", later, school.slug)["card_alerts"] >= 1
    expiring = _outbox_of(school, "card-expiring-")
    assert len(expiring) == 1 and "到期" in expiring[0]["body"]


def _trial_tomorrow_of(school, lead_ids, day):
    """Books each lead into one trial session on `day` at 15:30."""
    course = school.admin.post("/courses", {"name": "美术", "lesson_cost": "1"}).json_body
    cls = school.admin.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": school.campus["id"],
            "teacher": "吴老师",
            "capacity": 5,
            "slots": [{"weekday": day.isoweekday(), "start": "15:30", "end": "16:30"}],
            "start_date": day.isoformat(),
            "end_date": day.isoformat(),
        },
    ).json_body
    session = school.admin.post(f"/classes/{cls['id']}/sessions", {"from": day.isoformat(), "to": day.isoformat()})
    for lead_id in lead_ids:
        booked = school.admin.post(
            f"/leads/{lead_id}/appointments", {"kind": "trial", "session_id": session.json_body["sessions"][0]["id"]}
        )
        assert booked.status_code == 201, booked.body


def test_greetings_skip_do_not_contact_statuses_and_reminders_skip_only_none(school):
    from datetime import date, timedelta

    entries = school.admin.get("/settings/dictionaries/statuses").json_body["entries"]
    entries.append({"key": "notices_only", "label": "只发通知", "contact": "transactional"})
    assert school.admin.put("/settings/dictionaries/statuses", {"entries": entries}).status_code == 200
    leads = {name: _lead(school, name, "2020-04-06") for name in ("普通", "只通知", "拉黑")}
    for name, status in (("只通知", "notices_only"), ("拉黑", "blacklist")):
        assert school.admin.patch(f"/leads/{leads[name]['id']}", {"status": status}).status_code == 200
    _run(datetime(2031, 4, 6, 2, 0, tzinfo=UTC), school.slug)
    assert [g.split("小朋友")[0] for g in _greetings(school)] == ["亲爱的普通"]  # a greeting is marketing
    day = date.today() + timedelta(days=10)
    _trial_tomorrow_of(school, [lead["id"] for lead in leads.values()], day)
    day_before = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC).replace(hour=3)
    _run_job("appointment_reminders", day_before, school.slug)
    reminded = sorted(i["body"].split("明天")[0].split("提醒您：")[1] for i in _outbox_of(school, "remind-"))
    assert reminded == ["只通知", "普通"]  # a reminder is transactional: only 黑名单 (none) gets none


# --- a run with nothing new writes nothing (issue 17) -------------------------------------

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _job_writes(name, at, tenant):
    """Runs one job alone (not the sending) and returns (its result, the write calls it made,
    every call counted by the telemetry the bench prices)."""
    from chalicelib.db import telemetry

    with clock.frozen(at), telemetry.record() as rec:
        result = jobs.run(name, at=at, tenant=tenant)
    return result, [c.operation for c in rec.calls if c.operation in WRITES]


def _twice(name, at, tenant, key):
    """The first run makes one; the next run (an hour later or a retry) writes nothing."""
    first, first_writes = _job_writes(name, at, tenant)
    assert first[key] == 1 and first_writes
    again, writes = _job_writes(name, at, tenant)
    assert again[key] == 0
    assert writes == []
    return first_writes


def test_a_second_birthday_run_with_nothing_new_writes_nothing(school):
    _lead(school, "寿星", "2020-07-07")
    _twice("birthdays", datetime(2031, 7, 7, 2, 0, tzinfo=UTC), school.slug, "birthdays")
    _run(datetime(2031, 7, 7, 2, 0, tzinfo=UTC), school.slug)
    assert len(_greetings(school)) == 1


def test_a_second_holiday_run_with_nothing_new_writes_nothing(school):
    member = _lead(school, "会员", "2020-01-01")
    school.admin.post(
        "/contracts",
        {
            "lead_ids": [member["id"]],
            "credits": "10",
            "price": "100",
            "starts_on": "2031-01-01",
            "ends_on": "2031-12-31",
        },
    )
    template = school.admin.post(
        "/templates", {"name": "中秋", "channel": "sms", "kind": "holiday", "body": "{{ holiday.name }}快乐"}
    ).json_body
    school.admin.patch(
        "/settings/messaging", {"holidays": [{"date": "09-20", "name": "中秋节", "template_id": template["id"]}]}
    )
    _twice("birthdays", datetime(2031, 9, 20, 2, 0, tzinfo=UTC), school.slug, "holiday_greetings")
    assert len(_outbox_of(school, "holiday-")) == 0  # made, not yet sent
    _run_job("birthdays", datetime(2031, 9, 20, 2, 0, tzinfo=UTC), school.slug)
    assert [i["body"] for i in _outbox_of(school, "holiday-")] == ["中秋节快乐"]


def test_a_second_reminder_run_with_nothing_new_writes_nothing(school):
    from datetime import date, timedelta

    lead = _lead(school, "明天试听", "2021-02-02")
    day = date.today() + timedelta(days=10)
    _trial_tomorrow_of(school, [lead["id"]], day)
    day_before = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC).replace(hour=3)
    _twice("appointment_reminders", day_before, school.slug, "reminders")
    _run_job("appointment_reminders", day_before, school.slug)
    assert len(_outbox_of(school, "remind-")) == 1


def test_a_second_protection_warning_run_with_nothing_new_writes_nothing(school):
    from datetime import timedelta

    alice = school.staff("consultant", display_name="Alice")
    school.admin.patch("/settings/leads", {"protection_days": 5, "reclaim_warning_days": 2})
    start = datetime(2031, 4, 1, 2, 0, tzinfo=UTC)
    with clock.frozen(start):
        me = school.sign_in(alice.user["username"], alice.password)
        me.post("/leads", lead_body(name="快到期", phone=f"135{uuid.uuid4().int % 10**8:08d}"))
    _twice("pool_reclaim", start + timedelta(days=3), school.slug, "warned")
    with clock.frozen(start + timedelta(days=3)):
        me = school.sign_in(alice.user["username"], alice.password)
        notes = [n["message"] for n in me.get("/notifications").json_body["items"]]
    assert notes == ["线索「快到期」2天后（2031-04-06）将退回公海，请及时跟进。"]
    released, writes = _job_writes("pool_reclaim", start + timedelta(days=5), school.slug)
    assert released["released"] == 1 and writes
    again, writes = _job_writes("pool_reclaim", start + timedelta(days=5, hours=1), school.slug)
    assert (again["released"], again["warned"], writes) == (0, 0, [])


def test_a_second_digest_run_with_nothing_new_writes_nothing(school):
    alice = school.staff("consultant", display_name="Alice", phone="13600002222")
    school.admin.patch("/settings/messaging", {"digest_hour": 8, "digest_channel": "sms"})
    morning = datetime(2031, 5, 21, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    first, first_writes = _job_writes("due_follow_ups", morning, school.slug)
    assert first["digests"] >= 1 and first_writes  # Alice and the school's admin
    again, writes = _job_writes("due_follow_ups", morning, school.slug)
    assert again == {"job": "due_follow_ups", "digests": 0, "digest_messages": 0}
    assert writes == []
    _run_job("due_follow_ups", morning, school.slug)
    assert len([e for e in _outbox_of(school, "digest-") if e["to"] == "+8613600002222"]) == 1
    with clock.frozen(morning):
        me = school.sign_in(alice.user["username"], alice.password)
        assert len(me.get("/notifications").json_body["items"]) == 1


def test_a_second_card_alert_run_with_nothing_new_writes_nothing(school):
    alice = _low_card(school)
    now = datetime.now(UTC).replace(hour=3)  # 11:00 in Shanghai
    _twice("card_alerts", now, school.slug, "card_alerts")
    _run_job("card_alerts", now, school.slug)
    assert len(_outbox_of(school, "card-low-")) == 1
    assert sum("课时不足" in n["message"] for n in alice.get("/notifications").json_body["items"]) == 1
    # 14 days before the contract ends the card is looked at every day until then (filed for
    # the next day, which every run reads): the hourly runs after the alert write nothing
    later = now + timedelta(days=27)
    first, first_writes = _job_writes("card_alerts", later, school.slug)
    assert first["card_alerts"] == 2 and first_writes  # still low, and expiring
    for hours in (0, 1, 5):
        again, writes = _job_writes("card_alerts", later + timedelta(hours=hours), school.slug)
        assert again["card_alerts"] == 0 and writes == []
    _run_job("card_alerts", later, school.slug)
    assert len(_outbox_of(school, "card-expiring-")) == 1


def test_a_run_that_read_before_the_other_wrote_still_makes_nothing_twice(school, monkeypatch):
    # Two overlapping runs both read "not made yet": the read only skips the attempt, the
    # conditional write is still what makes each greeting and each digest once.
    from chalicelib.db import messaging as messaging_db
    from chalicelib.db import schedule as schedule_db

    _lead(school, "并发寿星", "2020-08-08")
    bob = school.staff("consultant", display_name="Bob")
    school.admin.patch("/settings/messaging", {"digest_hour": 10})
    at = datetime(2031, 8, 8, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert _job_writes("birthdays", at, school.slug)[0]["birthdays"] == 1
    assert _job_writes("due_follow_ups", at, school.slug)[0]["digests"] == 1
    monkeypatch.setattr(messaging_db, "existing_messages", lambda tenant, ids: set())  # read before the write
    monkeypatch.setattr(schedule_db, "told", lambda markers: set())
    assert _job_writes("birthdays", at, school.slug)[0]["birthdays"] == 0
    assert _job_writes("due_follow_ups", at, school.slug)[0]["digests"] == 0
    _run(at, school.slug)
    assert len(_greetings(school)) == 1
    with clock.frozen(at):
        me = school.sign_in(bob.user["username"], bob.password)
        assert len(me.get("/notifications").json_body["items"]) == 1
