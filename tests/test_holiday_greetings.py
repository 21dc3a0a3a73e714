"""Holiday greetings (节日问候): the school's holidays, each to its members or to every
contactable lead, on the day in the school's own calendar, once per lead and year, walked
page by page and resumable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import jobs
from chalicelib.db import holidays as holidays_db
from chalicelib.db import tenants as tenants_db
from chalicelib.domain import clock, holiday_greetings
from tests.conftest import School, without_quiet_hours
from tests.test_leads import lead_body
from tests.test_messaging import _statuses_with

NEW_YEAR = datetime(2031, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January 2032 in Shanghai
EVE = datetime(2031, 12, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 December in Shanghai


def _phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


def _lead(school, name, **extra):
    body = {**lead_body(name=name, phone=_phone()), "campus_id": school.campus["id"], **extra}
    response = school.admin.post("/leads", body)
    assert response.status_code == 201, response.body
    return response.json_body


def _member(school, name):
    lead = _lead(school, name)
    contract = school.admin.post(
        "/contracts",
        {"lead_ids": [lead["id"]], "credits": "10", "price": "100", "starts_on": "2031-01-01", "ends_on": "2032-12-31"},
    )
    assert contract.status_code == 201, contract.body
    return lead


def _template(school, channel="sms", body="{{ learner.name }}{{ holiday.name }}快乐", kind="holiday"):
    subject = {"subject": "{{ holiday.name }}快乐"} if channel == "email" else {}
    response = school.admin.post(
        "/templates", {"name": f"节日{uuid.uuid4().hex[:6]}", "channel": channel, "kind": kind, "body": body, **subject}
    )
    assert response.status_code == 201, response.body
    return response.json_body["id"]


def _holidays(school, *holidays, greeting_hour=0):
    response = school.admin.patch("/settings/messaging", {"holidays": list(holidays), "greeting_hour": greeting_hour})
    assert response.status_code == 200, response.body
    return response.json_body


def _run(at, school):
    with clock.frozen(at):
        return jobs.run("birthdays", at=at, tenant=school.slug)


def _send(at, school):
    with clock.frozen(at):
        jobs.run("scheduled_messages", at=at, tenant=school.slug)


def _greetings(school):
    items = school.admin.get("/outbox?limit=100").json_body["items"]
    return sorted(i["body"] for i in items if i["reference"].startswith("holiday-"))


@pytest.fixture
def greeting_school(school):
    without_quiet_hours(school)
    return school


# --- the setting ---------------------------------------------------------------------


def test_holidays_are_checked_when_saved_and_nothing_half_written(school):
    holiday = _template(school)
    general = _template(school, kind="general")
    email = _template(school, channel="email")
    saved = _holidays(
        school,
        {"name": "元旦", "date": "01-01", "template_id": holiday},
        {"name": "春节", "date": "2032-02-11", "template_id": email, "audience": "contactable"},
    )
    assert [(h["name"], h["audience"], h["channel"]) for h in saved["holidays"]] == [
        ("元旦", "members", "sms"),  # the template's channel, filled in
        ("春节", "contactable", "email"),
    ]
    bad = [
        ({"name": "x", "date": "02-30", "template_id": holiday}, "holidays.0.date"),
        ({"name": "x", "date": "13-01", "template_id": holiday}, "holidays.0.date"),
        ({"name": "x", "date": "2031-02-29", "template_id": holiday}, "holidays.0.date"),
        ({"name": "x", "date": "2101-01-01", "template_id": holiday}, "holidays.0.date"),
        ({"name": "x", "date": "01-01", "template_id": "nope"}, "holidays.0.template_id"),
        ({"name": "x", "date": "01-01", "template_id": general}, "holidays.0.template_id"),
        ({"name": "x", "date": "01-01", "template_id": holiday, "channel": "email"}, "holidays.0.channel"),
        ({"name": "x", "date": "01-01", "template_id": holiday, "audience": "everyone"}, "holidays.0.audience"),
        ({"name": "x\x07", "date": "01-01", "template_id": holiday}, "holidays.0.name"),
    ]
    for entry, field in bad:
        response = school.admin.patch("/settings/messaging", {"holidays": [entry]})
        assert response.status_code == 400, (entry, response.body)
        assert field in str(response.json_body["error"]), (entry, response.body)
    twice = {"name": "元旦", "date": "01-01", "template_id": holiday}
    assert school.admin.patch("/settings/messaging", {"holidays": [twice, twice]}).status_code == 400
    many = [{"name": f"节日{i}", "date": f"01-{i + 1:02d}", "template_id": holiday} for i in range(21)]
    assert school.admin.patch("/settings/messaging", {"holidays": many}).status_code == 400
    # 02-29 every year is a day (greeted on 28 February in common years)
    leap = school.admin.patch("/settings/messaging", {"holidays": [{**twice, "date": "02-29"}]})
    assert leap.status_code == 200
    leap_again = school.admin.patch("/settings/messaging", {"holidays": saved["holidays"]})
    assert leap_again.status_code == 200
    assert school.admin.get("/settings/messaging").json_body["holidays"] == saved["holidays"]
    consultant = school.staff("consultant")
    assert consultant.patch("/settings/messaging", {"holidays": []}).status_code == 403


# --- the day ---------------------------------------------------------------------------


def test_members_are_greeted_once_on_the_day_in_the_schools_zone(greeting_school):
    school = greeting_school
    _member(school, "会员甲")
    _member(school, "会员乙")
    _lead(school, "非会员")
    _holidays(school, {"name": "元旦", "date": "01-01", "template_id": _template(school)})
    assert _run(EVE, school)["holiday_greetings"] == 0  # still 31 December in Shanghai
    _send(EVE, school)
    assert _greetings(school) == []
    assert _run(NEW_YEAR, school)["holiday_greetings"] == 2
    again = _run(NEW_YEAR + timedelta(hours=1), school)  # the next hour's run, or a retried one
    assert (again["holiday_greetings"], again["holidays_unfinished"]) == (0, 0)
    _send(NEW_YEAR, school)
    assert _greetings(school) == ["会员乙元旦快乐", "会员甲元旦快乐"]
    assert _run(NEW_YEAR + timedelta(days=1), school)["holiday_greetings"] == 0  # 2 January: not a holiday
    next_year = _run(NEW_YEAR.replace(year=2032), school)  # 1 January 2033: once a year, again
    assert next_year["holiday_greetings"] == 2


def test_a_rerun_after_the_walk_ended_reads_one_item_and_writes_nothing(greeting_school):
    from chalicelib.db import telemetry

    school = greeting_school
    _member(school, "会员")
    _holidays(school, {"name": "元旦", "date": "01-01", "template_id": _template(school)})
    assert _run(NEW_YEAR, school)["holiday_greetings"] == 1
    with clock.frozen(NEW_YEAR), telemetry.record() as rec:
        assert jobs.run("birthdays", at=NEW_YEAR, tenant=school.slug)["holiday_greetings"] == 0
    writes = [
        c.operation
        for c in rec.calls
        if c.operation in {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
    ]
    assert writes == []
    assert "Scan" not in {c.operation for c in rec.calls}


def test_on_a_day_that_is_no_holiday_a_run_reads_only_the_settings(greeting_school):
    from chalicelib.db import telemetry

    school = greeting_school
    _member(school, "会员")
    _holidays(school, {"name": "元旦", "date": "01-01", "template_id": _template(school)})
    tenant = tenants_db.get(school.slug)
    day = datetime(2031, 6, 1, 3, 0, tzinfo=UTC)
    with clock.frozen(day), telemetry.record() as rec:
        assert holiday_greetings.run(day, [tenant]) == {"holiday_greetings": 0, "holidays_unfinished": 0}
    assert {c.operation for c in rec.calls} <= {"Query"}  # the settings (cached: maybe not even that)
    assert len(rec.calls) <= 1


def test_contactable_reaches_every_lead_marketing_may_reach_and_members_only_members(greeting_school):
    school = greeting_school
    _statuses_with(school, notices_only="transactional")
    _member(school, "会员")
    _lead(school, "新客户")
    black = _lead(school, "黑名单")
    assert school.admin.patch(f"/leads/{black['id']}", {"status": "blacklist"}).status_code == 200
    notices = _lead(school, "只收通知")
    assert school.admin.patch(f"/leads/{notices['id']}", {"status": "notices_only"}).status_code == 200
    quiet = lead_body(name="退订家长", phone=_phone())
    quiet["guardians"][0]["sms_opt_out"] = True
    assert school.admin.post("/leads", {**quiet, "campus_id": school.campus["id"]}).status_code == 201
    black_member = _member(school, "黑名单会员")
    assert school.admin.patch(f"/leads/{black_member['id']}", {"status": "blacklist"}).status_code == 200
    _holidays(
        school,
        {"name": "元旦", "date": "01-01", "template_id": _template(school), "audience": "contactable"},
        {"name": "新年", "date": "2032-01-01", "template_id": _template(school), "audience": "members"},
    )
    assert _run(NEW_YEAR, school)["holiday_greetings"] == 3
    _send(NEW_YEAR, school)
    assert _greetings(school) == ["会员元旦快乐", "会员新年快乐", "新客户元旦快乐"]


def test_an_email_holiday_greeting_goes_as_html_with_the_signature(greeting_school):
    school = greeting_school
    lead = lead_body(name="<b>x</b>", phone=_phone())
    lead["guardians"][0]["email"] = "parent@example.com"
    assert school.admin.post("/leads", {**lead, "campus_id": school.campus["id"]}).status_code == 201
    assert (
        school.admin.patch("/settings/messaging", {"email_signature": "小星星早教\n电话 0755-1234"}).status_code == 200
    )
    _holidays(
        school,
        {"name": "元旦", "date": "01-01", "template_id": _template(school, channel="email"), "audience": "contactable"},
    )
    assert _run(NEW_YEAR, school)["holiday_greetings"] == 1
    _send(NEW_YEAR, school)
    [entry] = [i for i in school.admin.get("/outbox").json_body["items"] if i["reference"].startswith("holiday-")]
    assert entry["subject"] == "元旦快乐"
    assert entry["body"] == "<b>x</b>元旦快乐\n\n-- \n小星星早教\n电话 0755-1234"
    assert "&lt;b&gt;x&lt;/b&gt;元旦快乐" in entry["html"] and "<b>x</b>" not in entry["html"]
    assert "小星星早教<br>\n电话 0755-1234" in entry["html"]


# --- bounded, resumable ------------------------------------------------------------------


def _walk_state(school, holiday):
    run_id = f"2032-01-01#{holiday_greetings.holiday_key(holiday)}"
    return holidays_db.get(school.slug, run_id)


def test_a_run_is_bounded_and_the_next_goes_on_where_it_stopped(greeting_school):
    school = greeting_school
    for i in range(5):
        _member(school, f"会员{i}")
    saved = _holidays(school, {"name": "元旦", "date": "01-01", "template_id": _template(school)})
    tenant = tenants_db.get(school.slug)
    made = []
    for minute in range(4):
        at = NEW_YEAR + timedelta(minutes=minute)
        with clock.frozen(at):
            made.append(holiday_greetings.run(at, [tenant], page=2, per_run=2))
        _send(at, school)
    assert [m["holiday_greetings"] for m in made] == [2, 2, 1, 0]
    assert [m["holidays_unfinished"] for m in made] == [1, 1, 0, 0]
    from chalicelib.schemas.messaging import HolidayGreeting

    state = _walk_state(school, HolidayGreeting.model_validate(saved["holidays"][0]))
    assert state.done and state.counts["made"] == 5
    assert len(_greetings(school)) == 5


def test_a_run_that_dies_mid_walk_is_resumed_without_greeting_anyone_twice(greeting_school, monkeypatch):
    school = greeting_school
    members = [_member(school, f"会员{i}")["id"] for i in range(5)]
    _holidays(school, {"name": "元旦", "date": "01-01", "template_id": _template(school)})
    tenant = tenants_db.get(school.slug)
    real_advance, calls = holidays_db.advance, []

    def dies_on_the_second_page(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second page's greetings are made; the run dies before keeping its cursor
            raise RuntimeError("Lambda timed out")
        return real_advance(*args, **kwargs)

    monkeypatch.setattr(holidays_db, "advance", dies_on_the_second_page)
    with clock.frozen(NEW_YEAR), pytest.raises(RuntimeError):
        holiday_greetings.run(NEW_YEAR, [tenant], page=2)
    monkeypatch.setattr(holidays_db, "advance", real_advance)
    _send(NEW_YEAR, school)
    soon = NEW_YEAR + timedelta(minutes=2)
    with clock.frozen(soon):  # the dead run's lease has not passed: nobody goes on yet
        assert holiday_greetings.run(soon, [tenant], page=2)["holidays_unfinished"] == 1
    later = NEW_YEAR + timedelta(minutes=11)
    with clock.frozen(later):  # its lease passed: the walk goes on from the first page kept
        resumed = holiday_greetings.run(later, [tenant], page=2)
    assert resumed == {"holiday_greetings": 1, "holidays_unfinished": 0}  # 2 + 2 made before; page 2 read again
    _send(later, school)
    assert _greetings(school) == sorted(f"会员{i}元旦快乐" for i in range(len(members)))  # each member once


def test_a_school_greets_only_its_own_and_a_run_for_one_school_leaves_the_other(greeting_school, client):
    school = greeting_school
    other = School(client)
    without_quiet_hours(other)
    _member(school, "本校会员")
    _member(other, "他校会员")
    _lead(other, "他校客户")
    _holidays(school, {"name": "元旦", "date": "01-01", "template_id": _template(school), "audience": "contactable"})
    _holidays(other, {"name": "元旦", "date": "01-01", "template_id": _template(other), "audience": "contactable"})
    assert _run(NEW_YEAR, school)["holiday_greetings"] == 1
    _send(NEW_YEAR, school)
    _send(NEW_YEAR, other)
    assert _greetings(school) == ["本校会员元旦快乐"]
    assert _greetings(other) == []
    assert _run(NEW_YEAR, other)["holiday_greetings"] == 2
    _send(NEW_YEAR, other)
    assert _greetings(other) == ["他校会员元旦快乐", "他校客户元旦快乐"]
    assert _greetings(school) == ["本校会员元旦快乐"]
