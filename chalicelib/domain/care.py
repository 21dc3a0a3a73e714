"""Caring without anyone remembering to (客户关怀): birthday and holiday greetings,
appointment reminders, morning digests, protection-period warnings.

Every job here finds its work on the sparse DUE index (or, for what concerns a whole
school, the platform's tenant directory), in each school's own calendar, and makes each
message under a deterministic id, so a retried or doubled run makes nothing twice. The
messages go out through the scheduled_messages job, like any other.
"""

from __future__ import annotations

import calendar
import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.db import cards as cards_db
from chalicelib.db import due as due_db
from chalicelib.db import leads as leads_db
from chalicelib.db import messaging as messaging_db
from chalicelib.db import tenants as tenants_db
from chalicelib.domain import config
from chalicelib.domain.messaging import Contexts, Target, enqueue
from chalicelib.schemas.messaging import MessagingSettings

DEFAULTS = {
    "birthday": "亲爱的{{ learner.name }}小朋友，{{ school.name }}全体老师祝你生日快乐，健康成长！",
    "holiday": "{{ guardian.name }}您好，{{ school.name }}祝您和{{ learner.name }}{{ holiday.name }}快乐！",
    "reminder": (
        "{{ guardian.name }}您好，提醒您：{{ learner.name }}明天（{{ appointment.date }}）{{ appointment.time }}"
        "在{{ campus.name }}有{{ appointment.title }}。{{ campus.address }}"
    ),
}


def _body(tenant: str, template_id: str | None, kind: str) -> tuple[str, str | None, str]:
    """(body, subject, channel) of the tenant's chosen template, or the built-in SMS text."""
    if template_id:
        found = messaging_db.get_template(tenant, template_id)
        if found is not None:
            return found["body"], found.get("subject"), found["channel"]
    return DEFAULTS[kind], None, "sms"


def _month_days(day: date) -> set[str]:
    """The birthdays celebrated on `day`: its MM-DD, and 02-29 on 28 February of a common year."""
    wanted = {day.strftime("%m-%d")}
    if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
        wanted.add("02-29")
    return wanted


def _utc_days(at: datetime) -> list[date]:
    """The UTC dates around `at`: every school's today is one of them."""
    utc = at.astimezone(UTC).date()
    return [utc - timedelta(days=1), utc, utc + timedelta(days=1)]


def birthdays(at: datetime, only: str | None = None) -> dict[str, int]:
    """Greets every learner whose birthday is today in their school's calendar, once a year,
    from the school's greeting hour on. Reads the MM-DD buckets of the days around `at`."""
    buckets = set().union(*(_month_days(d) for d in _utc_days(at)))
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for bucket in sorted(buckets):
        for tenant, pk in due_db.keyed_candidates("BIRTHDAY", bucket):
            if only is None or tenant == only:
                by_tenant[tenant].append(pk.rsplit("#", 1)[-1])
    greeted = waiting = 0
    for tenant, lead_ids in by_tenant.items():
        contexts = Contexts(tenant)
        settings = config.load(tenant).messaging
        local = at.astimezone(contexts.zone)
        if local.hour < settings.greeting_hour:
            waiting += len(lead_ids)
            continue
        today = local.date()
        body, subject, channel = _body(tenant, settings.birthday_template_id, "birthday")
        for lead in leads_db.batch_get(tenant, lead_ids):
            if lead.deleted_at or not lead.birthday or lead.birthday.strftime("%m-%d") not in _month_days(today):
                continue
            made = enqueue(
                tenant,
                channel=channel,
                purpose="notice",
                body=body,
                subject=subject,
                targets=[Target(lead=lead)],
                send_at=at,
                source="birthday",
                message_id=f"birthday-{lead.id}-{today.year}",
                contexts=contexts,
                settings=settings,
            )
            greeted += made is not None
    greeted_holidays = holidays(at, only)
    return {"birthdays": greeted, "not_yet": waiting, "holiday_greetings": greeted_holidays}


def _tenants() -> list[Any]:
    found, cursor = [], None
    while True:
        page, cursor = tenants_db.list_all(100, cursor)
        found += page
        if not cursor:
            return found


def _holiday_today(settings: MessagingSettings, today: date) -> list[Any]:
    return [h for h in settings.holidays if h.date in (today.strftime("%m-%d"), today.isoformat())]


def holidays(at: datetime, only: str | None = None) -> int:
    """Greets every member (a learner with a contract) on the school's holidays, once each.
    Reads the tenant directory, and members through the sparse members index."""
    made = 0
    for tenant in _tenants():
        if only is not None and tenant.slug != only:
            continue
        settings = config.load(tenant.slug).messaging
        if not settings.holidays:
            continue
        contexts = Contexts(tenant.slug)
        local = at.astimezone(contexts.zone)
        due = _holiday_today(settings, local.date())
        if not due or local.hour < settings.greeting_hour:
            continue
        members = leads_db.batch_get(tenant.slug, cards_db.members(tenant.slug))
        for holiday in due:
            body, subject, channel = _body(tenant.slug, holiday.template_id, "holiday")
            digest = hashlib.sha1(holiday.name.encode(), usedforsecurity=False).hexdigest()[:8]
            made += (
                enqueue(
                    tenant.slug,
                    channel=channel,
                    purpose="notice",
                    body=body,
                    subject=subject,
                    targets=[Target(lead=m, extra={"holiday": {"name": holiday.name}}) for m in members],
                    send_at=at,
                    source="holiday",
                    message_id=f"holiday-{local.date().isoformat()}-{digest}",
                    contexts=contexts,
                    settings=settings,
                )
                is not None
            )
    return made
