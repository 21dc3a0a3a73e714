"""The time-driven jobs. At this stage they read their due buckets; the actions on what
they find (digests, greetings, sending) arrive with the messaging issue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain import due
from chalicelib.jobs import job


@job("due_follow_ups")
def due_follow_ups(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    return {"due": len(due.items(due.FOLLOW_UP, due.day_bucket(at)))}


@job("birthdays")
def birthdays(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Hourly: birthday greetings (from each school's greeting hour) and holiday greetings."""
    from chalicelib.domain import care

    return care.birthdays(at, tenant)


@job("scheduled_messages")
def scheduled_messages(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Every minute: sends what is due, in every tenant (DUE `SMS#<minute>` buckets)."""
    from chalicelib.domain import messaging

    return messaging.run_due(at, tenant)


@job("pool_reclaim")
def pool_reclaim(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Leads whose protection period ended (in their school's calendar) go back to the public
    pool (公海). Runnable from the console now; its hourly schedule and the owner's warnings
    come with messaging."""
    from chalicelib.domain import leads

    return leads.reclaim_expired(at, tenant)
