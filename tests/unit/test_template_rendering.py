"""Template rendering (chalicelib/domain/templates.py on the sandbox of domain/sandbox.py): a template
is checked against sample data when saved, and every mistake is a 400 naming it. The API's side of
this (free text, one school's template against another's) is tests/test_template_sandbox.py."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain import templates
from chalicelib.errors import ValidationFailedError


def _refused(text: str, channel: str = "sms") -> ValidationFailedError:
    with pytest.raises(ValidationFailedError) as refused:
        templates.check(text, field="body", channel=channel)
    assert refused.value.details[0]["field"] == "body"
    return refused.value


def test_a_sound_template_names_the_variables_it_uses_and_renders_the_data_given():
    assert templates.check("{{ learner.name }}，{{ consultant.name }}提醒您") == ["consultant", "learner"]
    context = templates.sample() | {"learner": {"name": "李雷"}}
    assert templates.render("{{ learner.name }}生日快乐", context) == "李雷生日快乐"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{{ lerner.name }}", "unknown variable lerner"),
        ("{{ learner.nick }}", "not a field of the data"),
        ("{{ learner.name ", "line 1:"),
        ("{{ learner.name|nosuch }}", "No filter named 'nosuch'"),
        ("{{ learner.clear() }}", "unsafe construct refused"),
    ],
)
def test_mistakes_are_a_400_that_says_what_is_wrong(text, said):
    refused = _refused(text)
    assert refused.code == "VALIDATION_FAILED" and said in refused.details[0]["message"]


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("{% for i in range(4000) %}{% for j in range(4000) %}{% endfor %}{% endfor %}hi", "1,000 steps"),
        ("{{ 'a' * 2001 }}", "2,000 characters"),
    ],
)
def test_work_and_output_past_the_budget_are_too_costly_naming_the_limit(text, limit):
    refused = _refused(text)
    assert refused.code == "TEMPLATE_TOO_COSTLY" and refused.details[0]["limit"] == limit


def test_an_email_may_be_longer_than_an_sms():
    assert len(templates.render("{{ 'a' * 3000 }}", templates.sample(), channel="email")) == 3000


def test_a_render_cannot_change_the_data_the_next_one_sees():
    context = templates.sample()
    with pytest.raises(ValidationFailedError):
        templates.render("{{ learner.pop('name') }}", context)
    assert context["learner"]["name"] == "王小明" and templates.sample()["learner"]["name"] == "王小明"


@pytest.mark.parametrize(
    ("birthday", "day", "age"),
    [("2021-05-03", date(2026, 5, 2), 4), ("2021-05-03", date(2026, 5, 3), 5), (None, date(2026, 5, 3), None)],
)
def test_the_age_turns_on_the_birthday(birthday, day, age):
    assert templates.age_on(birthday, day) == age
