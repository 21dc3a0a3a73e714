"""The scheduled functions' handlers: `chalicelib.entry.jobs.<job>` (infra/table.yml sets each
job function's Handler, e.g. DueFollowUps -> chalicelib.entry.jobs.due_follow_ups). Each runs
its job from the registry (chalicelib/jobs) on the EventBridge event; a job loads the domain
modules it uses on its first run, so one job's cold start does not pay for another's."""

from __future__ import annotations

from typing import Any

from chalicelib import jobs
from chalicelib.entry import published


def _run(name: str, event: dict[str, Any]) -> dict[str, Any]:
    return published(lambda: jobs.run(name, event))


def due_follow_ups(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("due_follow_ups", event)


def birthdays(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("birthdays", event)


def scheduled_messages(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("scheduled_messages", event)


def appointment_reminders(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("appointment_reminders", event)


def pool_reclaim(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("pool_reclaim", event)


def card_alerts(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("card_alerts", event)


def report_check(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("report_check", event)


def lead_imports(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("lead_imports", event)


def staff_offboarding(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run("staff_offboarding", event)
