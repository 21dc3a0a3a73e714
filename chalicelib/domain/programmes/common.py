"""What the programme parts share: who manages and who enrols, retries, the school's day."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from chalicelib.domain import clock, roles
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ValidationFailedError

MANAGERS = roles.MANAGE_PROGRAMMES


ENROLLERS = roles.ENROL


TRIES = 25  # confirmations of one cohort all touch its counter; DynamoDB refuses overlapping ones


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _zone(tenant: str) -> ZoneInfo:
    return ZoneInfo(get_tenant(tenant).timezone)


def _today(zone: ZoneInfo) -> date:
    return clock.now().astimezone(zone).date()
