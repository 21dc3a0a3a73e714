"""The time-driven jobs. Each finds its work on the sparse DUE index (or, for what concerns
a whole school, the tenant directory) and leaves the sending to `scheduled_messages`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.jobs.registry import job


@job("due_follow_ups")
def due_follow_ups(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Hourly: at each school's digest hour, today's work for every member of staff."""
    from chalicelib.domain import care

    return care.digests(at, tenant)


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
    """Hourly: warn owners a set number of days before a lead's protection period ends; then
    return the leads whose period ended (in their school's calendar) to the public pool
    (公海), telling the owner. And the lead retention: in schools that set
    `erase_untouched_after_years`, erase the leads untouched that long (docs/privacy.md)."""
    from chalicelib.domain import care, leads, privacy

    return {
        **care.reclaim_warnings(at, tenant),
        **leads.reclaim_expired(at, tenant),
        **privacy.retention(at, tenant),
    }


@job("appointment_reminders")
def appointment_reminders(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Hourly: the day before a visit, trial or event, remind the guardian; before an
    instalment is due, remind whoever pays it, and once it is overdue, its consultant."""
    from chalicelib.domain import care, receivables

    return {**care.reminders(at, tenant), **receivables.reminders(at, tenant)}


@job("card_alerts")
def card_alerts(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Hourly: low credits and credits about to expire, to the member and the consultant."""
    from chalicelib.domain import care

    return care.card_alerts(at, tenant)


@job("report_check")
def report_check(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Hourly, acting at 03:00 in each school: yesterday's figures against a recount."""
    from chalicelib.domain import reports

    return reports.self_check(at, tenant)


@job("lead_imports")
def lead_imports(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Every minute: lead imports too large for their upload request (批量导入)."""
    from chalicelib.domain import imports

    return imports.run_waiting(at, tenant)


@job("staff_offboarding")
def staff_offboarding(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """Every minute: the handovers of staff leaving (离职交接) that the request did not finish."""
    from chalicelib.domain import offboarding

    return offboarding.run_waiting(at, tenant)
