"""The local scheduler's reading of EventBridge schedule expressions (infra/local/pump.py
`parse_schedule`): cron and rate, when each next fires, and what AWS would refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra.local.pump import parse_schedule


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 * * * ? *)", "2031-03-04T10:15:30", "2031-03-04T11:00:00"),
        ("cron(0 * * * ? *)", "2031-03-04T11:00:00", "2031-03-04T12:00:00"),
        ("cron(0 * * * ? *)", "2031-12-31T23:59:00", "2032-01-01T00:00:00"),
        ("cron(5 8 * * ? *)", "2031-03-04T07:00:00", "2031-03-04T08:05:00"),
        ("cron(5 8 * * ? *)", "2031-03-04T08:05:00", "2031-03-05T08:05:00"),
        ("cron(0/15 * * * ? *)", "2031-03-04T10:14:59", "2031-03-04T10:15:00"),
        ("cron(0/15 * * * ? *)", "2031-03-04T10:45:00", "2031-03-04T11:00:00"),
        ("cron(*/20 * * * ? *)", "2031-03-04T10:41:00", "2031-03-04T11:00:00"),
        ("cron(0 9 ? * MON-FRI *)", "2031-03-04T10:00:00", "2031-03-05T09:00:00"),  # Tue -> Wed
        ("cron(0 9 ? * MON-FRI *)", "2031-03-07T10:00:00", "2031-03-10T09:00:00"),  # Fri -> Mon
        ("cron(0 9 ? * 2-6 *)", "2031-03-07T10:00:00", "2031-03-10T09:00:00"),  # 2-6 = MON-FRI
        ("cron(30 12 ? * 1 *)", "2031-03-04T00:00:00", "2031-03-09T12:30:00"),  # 1 = SUN
        ("cron(0 0 1,15 * ? *)", "2031-03-02T00:00:00", "2031-03-15T00:00:00"),
        ("cron(0 0 29 2 ? *)", "2031-03-01T00:00:00", "2032-02-29T00:00:00"),  # next leap day
        ("cron(10-12 6 ? JAN-MAR SAT 2032)", "2031-03-04T00:00:00", "2032-01-03T06:10:00"),
        ("rate(1 minute)", "2031-03-04T10:15:30", "2031-03-04T10:16:00"),
        ("rate(1 minute)", "2031-03-04T10:16:00", "2031-03-04T10:17:00"),
        ("rate(5 minutes)", "2031-03-04T10:16:00", "2031-03-04T10:20:00"),
        ("rate(2 hours)", "2031-03-04T10:16:00", "2031-03-04T12:00:00"),
        ("rate(1 day)", "2031-03-04T10:16:00", "2031-03-05T00:00:00"),
    ],
)
def test_next_fire_times(expression, after, expected):
    # GIVEN a schedule expression and a moment (UTC)
    schedule = parse_schedule(expression)
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    # WHEN asking for the next fire time
    fire = schedule.next_after(moment)
    # THEN it is the first matching minute strictly after the moment
    assert fire == datetime.fromisoformat(expected).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 * * * * *)",  # day-of-month and day-of-week both given
        "cron(0 * ? * ? *)",  # neither given
        "cron(0 * * *)",  # too few fields
        "cron(60 * * * ? *)",  # minute out of range
        "cron(0 L * * ? *)",  # L is not supported locally
        "cron(0 9 ? * FUNDAY *)",
        "cron(0 0 31 2 ? *)",  # never fires: parses, but next_after says so
        "rate(1 minutes)",
        "rate(2 minute)",
        "rate(0 minutes)",
        "every 5 minutes",
    ],
)
def test_bad_schedule_expressions_are_refused(expression):
    # GIVEN an expression AWS would refuse (or that never fires) / WHEN parsed and asked / THEN ValueError
    with pytest.raises(ValueError):
        parse_schedule(expression).next_after(datetime(2031, 1, 1, tzinfo=UTC))
