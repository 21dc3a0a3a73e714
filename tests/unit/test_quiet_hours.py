"""Quiet hours (chalicelib/domain/messaging.py `quiet_until`): when a send "now" must wait, in school time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import messaging
from chalicelib.schemas.messaging import MessagingSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(text: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("local", "until"),
    [
        ("2026-12-01T20:59", None),
        ("2026-12-01T21:00", "2026-12-02T08:00"),  # the evening waits for the next morning
        ("2026-12-01T23:30", "2026-12-02T08:00"),
        ("2026-12-02T00:00", "2026-12-02T08:00"),  # after midnight, the same morning
        ("2026-12-02T07:59", "2026-12-02T08:00"),
        ("2026-12-02T08:00", None),
    ],
)
def test_the_default_overnight_quiet_hours_end_at_eight_school_time(local, until):
    found = messaging.quiet_until(_at(local), SHANGHAI, MessagingSettings())
    assert found == (_at(until) if until else None)


def test_a_daytime_window_and_an_empty_one():
    lunch = MessagingSettings(quiet_from="12:00", quiet_to="14:00")
    assert messaging.quiet_until(_at("2026-12-01T13:00"), SHANGHAI, lunch) == _at("2026-12-01T14:00")
    assert messaging.quiet_until(_at("2026-12-01T14:00"), SHANGHAI, lunch) is None
    assert messaging.quiet_until(_at("2026-12-01T11:59"), SHANGHAI, lunch) is None
    never = MessagingSettings(quiet_from="00:00", quiet_to="00:00")
    assert messaging.quiet_until(_at("2026-12-01T03:00"), SHANGHAI, never) is None


def test_the_same_instant_is_quiet_in_one_school_and_not_in_another():
    instant = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, 06:00 in Los Angeles
    angeles = ZoneInfo("America/Los_Angeles")
    assert messaging.quiet_until(instant, SHANGHAI, MessagingSettings()) == _at("2026-12-02T08:00")
    assert messaging.quiet_until(instant, angeles, MessagingSettings()) == _at("2026-12-01T08:00", angeles)
    assert messaging.quiet_until(datetime(2026, 12, 1, 16, 0, tzinfo=UTC), angeles, MessagingSettings()) is None
