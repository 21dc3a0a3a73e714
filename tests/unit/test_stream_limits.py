"""The stream's freeze check holds a school to the read limits the API refuses at
(SecuritySettings: what the school stored over the defaults), without loading pydantic."""

from __future__ import annotations

import pytest

from chalicelib.domain.access_windows import LIMITS
from chalicelib.schemas.settings import SecuritySettings
from chalicelib.streams.access import _limits


@pytest.mark.parametrize(
    "stored",
    [
        None,  # a school that never changed its security settings
        {},
        {"reads_per_minute": 7},
        {"reads_per_hour": 50, "reads_per_day": 80, "audit_retention_days": 30},
        {"reads_per_minute": 1, "reads_per_hour": 1, "reads_per_day": 1},
    ],
)
def test_the_freeze_check_uses_the_limits_the_api_refuses_at(stored):
    # GIVEN a school's stored security settings (as PATCH /settings/security saved them)
    settings = SecuritySettings(**(stored or {}))
    # THEN the stream compares each window with the limit the API's own check uses
    assert _limits(stored) == {name: getattr(settings, name) for name in LIMITS.values()}
