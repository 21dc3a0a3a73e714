"""Templates and free text run in a bounded, immutable sandbox (issue 13, item 1): nothing a
template does is seen by another render or another school, and a render's work and output
are bounded, with a 400 TEMPLATE_TOO_COSTLY naming the limit."""

from __future__ import annotations

import pytest


def _dry_run(session, text, channel="sms", **extra):
    body = {"channel": channel, "text": text, "recipients": {"lead_ids": ["no-such-lead"]}, **extra}
    return session.post("/messages?dry_run=true", body)


def _template(session, body, channel="sms"):
    data = {"name": "模板", "channel": channel, "body": body}
    if channel == "email":
        data["subject"] = "{{ school.name }}通知"
    return session.post("/templates", data)


def _too_costly(response, field, limit):
    assert response.status_code == 400, response.body
    error = response.json_body["error"]
    assert error["code"] == "TEMPLATE_TOO_COSTLY", error
    assert limit in error["message"], error["message"]
    assert error["details"][0]["field"] == field
    assert error["details"][0]["limit"] == limit


def test_free_text_cannot_plant_data_that_another_schools_template_shows(school, other_school):
    consultant = school.staff("consultant")
    planted = _dry_run(consultant, "{{ holiday.update({'x': 'planted'}) }}hi")
    assert planted.status_code == 400
    assert "unsafe" in planted.json_body["error"]["message"]

    shown = _template(other_school.admin, "{{ holiday.x }}")
    assert shown.status_code == 400, shown.body  # no such field: nothing was planted
    assert "planted" not in str(shown.json_body)
    assert _template(other_school.admin, "{{ holiday.name }}快乐").json_body["sample"] == "春节快乐"


def test_clearing_the_sample_learner_breaks_no_other_template(school, other_school):
    assert _dry_run(school.staff("consultant"), "{{ learner.clear() }}").status_code == 400
    assert _template(school.admin, "{{ learner.pop('name') }}").status_code == 400
    created = _template(other_school.admin, "{{ learner.name }}生日快乐")
    assert created.status_code == 201, created.body
    assert created.json_body["sample"] == "王小明生日快乐"


@pytest.mark.parametrize(
    "text",
    [
        "{% for i in range(4000) %}{% for j in range(4000) %}{% endfor %}{% endfor %}hi",
        "{% for i in range(900) %}{% for j in range(900) %}{% endfor %}{% endfor %}hi",
        "{% for c in 'a' * 1500 %}{% for d in learner %}{% endfor %}{% endfor %}hi",
        "{% macro f() %}{% endmacro %}{% for i in range(600) %}{{ f() }}{{ f() }}{% endfor %}",
    ],
)
def test_loops_past_a_thousand_steps_in_all_are_refused_naming_the_limit(school, text):
    _too_costly(_dry_run(school.staff("consultant"), text), "text", "1,000 steps")
    _too_costly(_template(school.admin, text), "body", "1,000 steps")


@pytest.mark.parametrize(
    "text",
    [
        "{{ 'a' * 10**7 }}",
        "{{ 'a' * 2001 }}",
        "{% set a = '一二三四五六七八九十' %}{% set a = a~a~a~a~a~a~a~a~a~a %}{% set a = a~a~a~a~a~a~a~a~a~a %}"
        "{% set a = a~a~a~a~a~a~a~a~a~a %}{{ a|length }}",
        "{{ learner.name|center(1000000000) }}",
        "{{ learner.name.ljust(10**9) }}",
        "{{ ('a' * 1000).replace('a', 'a' * 1000) }}",
        "{{ '%999999999d' % 1 }}",
        "{% set s %}{% for i in range(500) %}{{ learner.name * 10 }}{% endfor %}{% endset %}{{ s|length }}",
        "{{ [learner.name] * 5000 }}",
    ],
)
def test_text_longer_than_an_sms_is_refused_before_it_is_built(school, text):
    _too_costly(_dry_run(school.staff("consultant"), text), "text", "2,000 characters")


def test_huge_numbers_are_refused(school):
    _too_costly(_template(school.admin, "{{ 2 ** 100000 }}"), "body", "4096 bits")


def test_format_and_recursive_loops_are_not_available(school):
    for body in ("{{ '%s好'|format(learner.name) }}", "{{ learner.name|wordwrap(5) }}"):
        refused = _template(school.admin, body)
        assert refused.status_code == 400 and "No filter named" in refused.json_body["error"]["message"]
    refused = _template(school.admin, "{{ '{:>99999999}'.format(1) }}")
    assert refused.status_code == 400 and "unsafe" in refused.json_body["error"]["message"]
    recursive = _template(school.admin, "{% for x in [1, [2]] recursive %}{{ x }}{% endfor %}")
    assert recursive.status_code == 400 and "recursive" in recursive.json_body["error"]["message"]


def test_an_email_may_run_to_200_kb_but_not_past_it(school):
    hundred_kb = "{% for i in range(100) %}{{ 'a' * 1000 }}{% endfor %}"
    assert _template(school.admin, hundred_kb, channel="email").status_code == 201
    _too_costly(_template(school.admin, hundred_kb), "body", "2,000 characters")
    # 100,000 Chinese characters are 300 KB of UTF-8
    chinese = "{% for i in range(100) %}{{ '好' * 1000 }}{% endfor %}"
    _too_costly(_template(school.admin, chinese, channel="email"), "body", "204,800 bytes")


def test_ordinary_templates_keep_working(school):
    body = (
        "{{ guardian.name }}您好，{{ learner.name|replace('小', '大') }}"
        "{% for i in range(3) %}{{ i }}{% endfor %}"
        "{{ [learner.nickname, campus.name]|join('、') }}"
        "{{ '共%s项' % (work.contacts + work.overdue) }}{{ (learner.age % 2 == 1) ~ '!' }}"
        "{{ learner.get('grade') or '无' }}{{ learner.name|length }}"
    )
    created = _template(school.admin, body)
    assert created.status_code == 201, created.body
    assert created.json_body["sample"] == "王妈妈您好，王大明012明明、南山校区共7项True!无3"


def test_a_template_saved_under_older_rules_is_still_listed_and_says_why_it_cannot_render(school):
    from chalicelib.db import messaging as messaging_db

    old = {"id": "old-template", "name": "旧模板", "channel": "sms", "template_kind": "general", "subject": None}
    old |= {"body": "{{ '%s好'|format(learner.name) }}", "created_at": "2026-01-01T00:00:00Z"}
    assert messaging_db.put_template(school.slug, old | {"updated_at": old["created_at"]}, new=True)
    listed = school.admin.get("/templates")
    assert listed.status_code == 200, listed.body
    (shown,) = listed.json_body["items"]
    assert shown["sample"].startswith("cannot render") and "format" in shown["sample"]
    message = {"channel": "sms", "template_id": "old-template", "recipients": {"phones": ["13800138000"]}}
    preview = school.staff("manager").post("/messages?dry_run=true", message)
    assert preview.status_code == 200, preview.body
    assert preview.json_body["would_send"] == 0
