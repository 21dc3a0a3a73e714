"""Caring without anyone remembering to (客户关怀): birthday and holiday greetings,
appointment reminders, morning digests, protection-period warnings.

Every job here finds its work on the sparse DUE index (or, for what concerns a whole
school, the platform's tenant directory), in each school's own calendar, and makes each
message under a deterministic id, so a retried or doubled run makes nothing twice. The
messages go out through the scheduled_messages job, like any other.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import cards as cards_db
from chalicelib.db import due as due_db
from chalicelib.db import keys
from chalicelib.db import leads as leads_db
from chalicelib.db import messaging as messaging_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, config, ids, phones
from chalicelib.domain.messaging import Contexts, Target, enqueue
from chalicelib.errors import ValidationFailedError
from chalicelib.schemas.leads import Lead
from chalicelib.schemas.messaging import MessagingSettings

DEFAULTS = {
    "birthday": "亲爱的{{ learner.name }}小朋友，{{ school.name }}全体老师祝你生日快乐，健康成长！",
    "digest": (
        "{{ consultant.name }}早上好！今天待联系{{ work.contacts }}位（逾期{{ work.overdue }}位），"
        "计划{{ work.plans }}项，到访{{ work.visits }}，试听{{ work.trials }}，活动{{ work.events }}。"
    ),
    "card_alert": (
        "{{ guardian.name }}您好，{{ learner.name }}的会员卡{{ card.number }}剩余{{ card.credits }}课时"
        "{% if card.expires_on %}，其中部分课时将于{{ card.expires_on }}到期{% endif %}"
        "，请联系{{ consultant.name }}老师。"
    ),
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


def _notice(
    tenant: str,
    template: tuple[str, str | None, str],
    lead: Lead,
    extra: dict[str, Any] | None,
    *,
    at: datetime,
    source: str,
    message_id: str,
    contexts: Contexts,
    settings: MessagingSettings,
) -> str | None:
    """A notice to one learner's guardians in the template's channel (`_body`), made once under
    `message_id`: a second run finds it and makes nothing (None)."""
    body, subject, channel = template
    return enqueue(
        tenant,
        channel=channel,
        purpose="notice",
        body=body,
        subject=subject,
        targets=[Target(lead=lead, extra=extra)],
        send_at=at,
        source=source,
        message_id=message_id,
        contexts=contexts,
        settings=settings,
    )


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
        greeted_before = messaging_db.existing_messages(tenant, [f"birthday-{i}-{today.year}" for i in lead_ids])
        lead_ids = [i for i in lead_ids if f"birthday-{i}-{today.year}" not in greeted_before]
        if not lead_ids:
            continue
        template = _body(tenant, settings.birthday_template_id, "birthday")
        for lead in leads_db.batch_get(tenant, lead_ids):
            if lead.deleted_at or not lead.birthday or lead.birthday.strftime("%m-%d") not in _month_days(today):
                continue
            made = _notice(
                tenant,
                template,
                lead,
                None,
                at=at,
                source="birthday",
                message_id=f"birthday-{lead.id}-{today.year}",
                contexts=contexts,
                settings=settings,
            )
            greeted += made is not None
    from chalicelib.domain import holiday_greetings  # the holiday step (docs/messaging.md)

    return {"birthdays": greeted, "not_yet": waiting, **holiday_greetings.run(at, _tenants(only))}


def _tenants(only: str | None = None) -> list[Any]:
    """The schools a run covers: every school in the platform directory, or just `only`."""
    found, cursor = [], None
    while True:
        page, cursor = tenants_db.list_all(100, cursor)
        found += [t for t in page if only is None or t.slug == only]
        if not cursor:
            return found


WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def reminders(at: datetime, only: str | None = None) -> dict[str, int]:
    """The day before a visit, trial class or event, reminds the guardian (once), from the
    school's greeting hour on. Reads the booked appointments of the next UTC days."""
    utc = at.astimezone(UTC).date()
    by_tenant: dict[str, list[Any]] = defaultdict(list)
    for day in (utc, utc + timedelta(days=1), utc + timedelta(days=2)):
        for tenant, appointment in schedule_db.reminder_candidates(day.isoformat()):
            if only is None or tenant == only:
                by_tenant[tenant].append(appointment)
    made = 0
    for tenant, appointments in by_tenant.items():
        contexts = Contexts(tenant)
        settings = config.load(tenant).messaging
        local = at.astimezone(contexts.zone)
        if local.hour < settings.greeting_hour:
            continue
        tomorrow = local.date() + timedelta(days=1)
        wanted = [a for a in appointments if a.at.astimezone(contexts.zone).date() == tomorrow]
        reminded_before = messaging_db.existing_messages(tenant, [f"remind-{a.id}" for a in wanted])
        wanted = [a for a in wanted if f"remind-{a.id}" not in reminded_before]
        if not wanted:
            continue
        found = {lead.id: lead for lead in leads_db.batch_get(tenant, [a.lead_id for a in wanted])}
        template = _body(tenant, settings.reminder_template_id, "reminder")
        for appointment in wanted:
            lead = found.get(appointment.lead_id)
            if lead is None or lead.deleted_at:
                continue
            when = appointment.at.astimezone(contexts.zone)
            about = {
                "kind": appointment.kind,
                "title": appointment.title,
                "date": when.date().isoformat(),
                "time": when.strftime("%H:%M"),
                "weekday": WEEKDAYS[when.weekday()],
            }
            made += (
                _notice(
                    tenant,
                    template,
                    lead,
                    {"appointment": about},
                    at=at,
                    source="reminder",
                    message_id=f"remind-{appointment.id}",
                    contexts=contexts,
                    settings=settings,
                )
                is not None
            )
    return {"reminders": made}


def reclaim_warnings(at: datetime, only: str | None = None) -> dict[str, int]:
    """Warns each owner the set number of days (a tenant setting) before a lead's protection
    period ends, once. The RECLAIM buckets are keyed by the school-local date the period
    ends; one read per distinct warning period among the schools, for the days around."""
    periods: dict[str, tuple[int, ZoneInfo]] = {}
    for tenant in _tenants(only):
        days = config.load(tenant.slug).lead_settings.reclaim_warning_days
        if days:
            periods[tenant.slug] = (days, ZoneInfo(tenant.timezone))
    candidates: list[tuple[str, str, int, date]] = []  # (tenant, lead id, days, the day the period ends)
    for days in sorted({d for d, _ in periods.values()}):
        for utc_day in _utc_days(at):
            for tenant, lead_id in due_db.reclaim_candidates((utc_day + timedelta(days=days)).isoformat()):
                if periods.get(tenant, (None,))[0] == days:
                    candidates.append(
                        (tenant, lead_id, days, at.astimezone(periods[tenant][1]).date() + timedelta(days=days))
                    )

    def marker(tenant: str, lead_id: str, ends: date) -> tuple[str, str]:
        return keys.lead_pk(tenant, lead_id), keys.told_sk("reclaim", ends.isoformat())

    warned_before = schedule_db.told([marker(t, lead_id, ends) for t, lead_id, _, ends in candidates])
    warned = 0
    for tenant, lead_id, days, ends in candidates:
        if marker(tenant, lead_id, ends) in warned_before:
            continue
        lead = leads_db.get(tenant, lead_id)
        if lead is None or not lead.owner_id or lead.reclaim_on != ends or lead.signed_on or lead.deleted_at:
            continue
        message = f"线索「{lead.name}」{days}天后（{ends.isoformat()}）将退回公海，请及时跟进。"
        warned += schedule_db.notify_once(
            tenant, lead.owner_id, ids.new_id(), message, lead.id, clock.iso(at), once=marker(tenant, lead.id, ends)
        )
    return {"warned": warned}


DIGEST_ROLES = ("consultant", "supervisor", "manager", "frontdesk")


def digests(at: datetime, only: str | None = None) -> dict[str, int]:
    """每日提醒: at each school's digest hour, every member of staff who follows leads gets
    today's work as an in-app notification (and, if the school wants, an SMS or e-mail),
    once a day. Each count is the dashboard's bounded Queries for that person; the cost
    follows the staff, never the number of leads."""
    from chalicelib.domain import followups
    from chalicelib.domain.auth import Principal

    told = sent = 0
    for tenant in _tenants(only):
        settings = config.load(tenant.slug).messaging
        local = at.astimezone(ZoneInfo(tenant.timezone))
        if local.hour != settings.digest_hour:
            continue
        day = local.date().isoformat()
        contexts = Contexts(tenant.slug)
        followers = [r for r in users_db.active_records(tenant.slug) if r.role.value in DIGEST_ROLES]
        markers = {r.id: (keys.users_pk(tenant.slug), keys.told_sk(f"digest#{r.id}", day)) for r in followers}
        told_before = schedule_db.told(list(markers.values()))
        for record in followers:
            if markers[record.id] in told_before:
                continue
            with clock.frozen(at):
                work = followups.today(Principal.of(tenant.slug, record))
            counts = {
                "contacts": work.contacts_due.count,
                "overdue": work.contacts_overdue.count,
                "plans": work.plans_due.count,
                "visits": work.visits.count,
                "trials": work.trials.count,
                "events": work.events.count,
            }
            message = (
                f"今日工作（{day}）：待联系{counts['contacts']}，逾期{counts['overdue']}，计划{counts['plans']}，"
                f"到访{counts['visits']}，试听{counts['trials']}，活动{counts['events']}"
            )
            if not schedule_db.notify_once(
                tenant.slug, record.id, ids.new_id(), message, None, clock.iso(at), once=markers[record.id]
            ):
                continue
            told += 1
            channel = settings.digest_channel
            to = record.email if channel == "email" else None
            if channel == "sms" and record.phone:
                try:
                    to = phones.normalise(record.phone, tenant.phone_region)
                except ValidationFailedError:
                    to = None  # a staff phone that is no phone number: the notification is enough
            if to:
                staff = {"consultant": {"name": record.display_name, "phone": record.phone}, "work": counts}
                made = enqueue(
                    tenant.slug,
                    channel=channel,
                    purpose="notice",
                    body=DEFAULTS["digest"],
                    subject=f"今日工作 {day}" if channel == "email" else None,
                    targets=[Target(to=to, name=record.display_name, extra=staff)],
                    send_at=at,
                    source="digest",
                    message_id=f"digest-{record.id}-{day}",
                    contexts=contexts,
                    settings=settings,
                )
                sent += made is not None
    return {"digests": told, "digest_messages": sent}


def card_alerts(at: datetime, only: str | None = None) -> dict[str, int]:
    """Tells the member (an SMS to the guardian) and the consultant (a notification) when a
    card's credits fall below the school's threshold, or credits of one of its contracts
    end within the warning days. Cards are filed on the DUE index by the day to look.

    The alerts a run before made are read first (one BatchGetItem a school), and a card is
    refiled only when its day moves: a run with nothing new writes nothing."""
    from chalicelib.domain import cards, wallets

    found: dict[str, dict[str, str]] = defaultdict(dict)  # tenant -> card id -> the day it is filed under
    for day in _utc_days(at):
        for tenant, card_id in cards_db.alert_candidates(day.isoformat()):
            if (only is None or tenant == only) and card_id not in found[tenant]:
                found[tenant][card_id] = day.isoformat()
    told = 0
    for tenant, filed in found.items():
        contexts = Contexts(tenant)
        settings = config.load(tenant).messaging
        local = at.astimezone(contexts.zone)
        today = local.date()
        if local.hour < settings.greeting_hour:
            continue
        threshold = wallets.units(settings.low_credit_threshold)
        plans = []  # (card, lots, usable, ending, [(reason, message id)])
        for card_id in filed:
            card = cards_db.get_card(tenant, card_id)
            if card is None or card["status"] == "replaced":
                continue
            lots = card.get("lots") or {}
            usable = wallets.available(lots, today.isoformat())
            horizon = (today + timedelta(days=settings.expiry_warning_days)).isoformat()
            ending = sorted(
                (lot["ends_on"], contract_id)
                for contract_id, lot in lots.items()
                if lot.get("ends_on") and today.isoformat() <= lot["ends_on"] <= horizon and int(lot.get("units") or 0)
            )
            reasons = []
            if usable < threshold:
                reasons.append(("low", today.isoformat()))
            reasons += [("expiring", f"{contract_id}-{ends_on}") for ends_on, contract_id in ending]
            plans.append((card, lots, usable, ending, [(r, f"card-{r}-{card_id}-{key}") for r, key in reasons]))
        made_before = messaging_db.existing_messages(tenant, [m for *_, alerts in plans for _, m in alerts])
        template = None
        for card, lots, usable, ending, alerts in plans:
            card_id = card["id"]
            alerts = [(reason, message_id) for reason, message_id in alerts if message_id not in made_before]
            lead = leads_db.get(tenant, card["holder_lead_id"]) if alerts else None
            for reason, message_id in alerts:
                facts = {
                    "number": card["number"],
                    "credits": str(wallets.decimal(usable)),
                    "cash": str(wallets.decimal(card.get("cash"))),
                    "expires_on": ending[0][0] if reason == "expiring" else None,
                }
                made = None
                if lead is not None and not lead.deleted_at:
                    template = template or _body(tenant, settings.card_alert_template_id, "card_alert")
                    made = _notice(
                        tenant,
                        template,
                        lead,
                        {"card": facts},
                        at=at,
                        source="card_alert",
                        message_id=message_id,
                        contexts=contexts,
                        settings=settings,
                    )
                if made is None or lead is None:  # a notice is only made for a lead: mypy's narrowing
                    continue
                told += 1
                if lead.owner_id:
                    what = "课时不足" if reason == "low" else f"部分课时将于{facts['expires_on']}到期"
                    message = f"{lead.name}的会员卡{card['number']}{what}（剩余{facts['credits']}课时）"
                    schedule_db.notify(tenant, lead.owner_id, ids.new_id(), message, lead.id, clock.iso(at))
            following = cards.alert_on(lots, settings.expiry_warning_days, today + timedelta(days=1))
            if following != filed[card_id]:
                cards_db.file_alert(tenant, card_id, following)
    return {"card_alerts": told}
