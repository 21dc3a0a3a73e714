"""Reminders of a cohort's first session, through the messaging machinery."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from chalicelib.db import leads as leads_db
from chalicelib.db import programmes as programmes_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db.programmes import CohortRecord, EnrolmentRecord
from chalicelib.domain import clock, messaging
from chalicelib.domain.programmes.common import _zone

REMINDER = (
    "{{ guardian.name }}您好，提醒您：{{ learner.name }}报名的{{ appointment.title }}"
    "将于{{ appointment.date }} {{ appointment.time }}开课，地点：{{ campus.name }}{{ campus.address }}。"
)


WEEKDAYS = "一二三四五六日"


def _first_session(cohort: CohortRecord, zone: ZoneInfo) -> datetime:
    hour, minute = map(int, cohort["starts_at"].split(":"))
    return datetime.combine(date.fromisoformat(cohort["starts_on"]), time(hour, minute), tzinfo=zone)


def _reminder_plan(cohort: CohortRecord, enrolment: EnrolmentRecord, zone: ZoneInfo) -> tuple[str | None, str | None]:
    """(message id, when) of a confirmed enrolment's reminder, or (None, None). The id is
    the enrolment's and its version's, so a retried confirmation never makes two."""
    minutes = enrolment.get("notify_before_minutes")
    start, now = _first_session(cohort, zone), clock.now()
    if not minutes or start <= now:
        return None, None
    at = max(start - timedelta(minutes=int(minutes)), now)
    return f"cohort-{enrolment['id']}-{enrolment['version']}", clock.iso(at)


def _send_reminder(tenant: str, cohort: CohortRecord, enrolment: EnrolmentRecord) -> None:
    lead = leads_db.get(tenant, enrolment["lead_id"])
    if lead is None:
        return
    zone = _zone(tenant)
    campus = tenants_db.campuses_by_id(tenant, [cohort["campus_id"]]).get(cohort["campus_id"])
    start = _first_session(cohort, zone)
    extra = {
        "appointment": {
            "kind": "cohort",
            "title": f"{cohort['programme_name']}（{cohort['name']}）",
            "date": cohort["starts_on"],
            "time": cohort["starts_at"],
            "weekday": "周" + WEEKDAYS[start.weekday()],
        },
        "campus": {
            "name": cohort["campus_name"],
            "address": campus.address if campus else None,
            "phone": campus.phone if campus else None,
        },
    }
    messaging.enqueue(
        tenant,
        channel="sms",
        purpose="notice",
        body=REMINDER,
        subject=None,
        targets=[messaging.Target(lead=lead, extra=extra)],
        # a reminder's time is set with its message id (_reminder_plan), and only those are sent
        send_at=datetime.fromisoformat(cast(str, enrolment["reminder_at"]).replace("Z", "+00:00")),
        source="cohort_reminder",
        message_id=enrolment["reminder_message_id"],
    )


def _cancel_reminder(tenant: str, enrolment: EnrolmentRecord, reason: str) -> None:
    message_id = enrolment.get("reminder_message_id")
    if message_id:
        messaging.cancel(tenant, message_id, reason)


def _reschedule(tenant: str, cohort: CohortRecord) -> None:
    """The cohort's start moved: each confirmed reminder is stopped and made anew."""
    zone = _zone(tenant)
    for enrolment in programmes_db.confirmed_enrolments(tenant, cohort["id"]):
        if not enrolment.get("notify_before_minutes"):
            continue
        _cancel_reminder(tenant, enrolment, "cohort rescheduled")
        moved: EnrolmentRecord = {**enrolment, "version": int(enrolment.get("version") or 0) + 1}
        message_id, at = _reminder_plan(cohort, moved, zone)
        if programmes_db.set_reminder(tenant, enrolment, message_id, at) and message_id:
            _send_reminder(tenant, cohort, {**moved, "reminder_message_id": message_id, "reminder_at": at})
