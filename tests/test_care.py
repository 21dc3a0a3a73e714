"""Birthday and holiday greetings in each school's own calendar, once each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

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


def _run(at):
    with clock.frozen(at):
        result = jobs.run("birthdays", at=at)
        jobs.run("scheduled_messages", at=at)
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
    assert _run(early)["birthdays"] == 0
    assert _greetings(school) == []
    assert _run(early.replace(hour=1))["birthdays"] == 1


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
    assert _run(at)["holiday_greetings"] == 1
    assert _run(at)["holiday_greetings"] == 0
    bodies = [i["body"] for i in school.admin.get("/outbox").json_body["items"] if i["reference"].startswith("holiday")]
    assert bodies == ["会员国庆节快乐"]
