"""Planning a message: quiet hours, each recipient's destination and rendering, or why it
is skipped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import messaging as messaging_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.db.messaging_records import PlannedRecipient
from chalicelib.domain import clock, config, contact, phones, templates
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ValidationFailedError
from chalicelib.messaging.segments import segments
from chalicelib.schemas.leads import Lead
from chalicelib.schemas.messaging import (
    MessagingSettings,
)

# --- time ----------------------------------------------------------------------------


def _hhmm(text: str) -> time:
    hour, minute = map(int, text.split(":"))
    return time(hour, minute)


def quiet_until(at: datetime, zone: ZoneInfo, settings: MessagingSettings) -> datetime | None:
    """The end of the quiet hours `at` falls in (school time), or None if it is not quiet."""
    start, end = _hhmm(settings.quiet_from), _hhmm(settings.quiet_to)
    if start == end:
        return None
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    overnight = start > end
    quiet = (now >= start or now < end) if overnight else (start <= now < end)
    if not quiet:
        return None
    day = local.date() + timedelta(days=1) if overnight and now >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone)


def _minute(at: datetime) -> str:
    return at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")


# --- who receives what ---------------------------------------------------------------


@dataclass
class Target:
    """One intended recipient: a lead (its guardian's phone or e-mail) or a typed destination."""

    lead: Lead | None = None
    to: str | None = None
    name: str | None = None
    extra: dict[str, Any] | None = None  # appointment, card, holiday, work: what the message is about


def destination(lead: Lead, channel: str) -> tuple[str | None, str | None, str | None]:
    """(address, guardian name, skip reason) of a lead for a channel."""
    usable, opted_out = [], False
    for guardian in lead.guardians:
        if channel == "sms":
            if not guardian.phones:
                continue
            if guardian.sms_opt_out:
                opted_out = True
                continue
            usable.append((guardian.phones[0].e164, guardian.name))
        else:
            if not guardian.email:
                continue
            if guardian.email_opt_out:
                opted_out = True
                continue
            usable.append((guardian.email, guardian.name))
    if usable:
        return usable[0][0], usable[0][1], None
    if opted_out:
        return None, None, "opted_out"
    return None, None, "no_phone" if channel == "sms" else "no_email"


class Contexts:
    """Template data for the recipients of one tenant, with campuses and consultants looked
    up once each."""

    def __init__(self, tenant: str):
        self.tenant = tenant
        record = get_tenant(tenant)
        self.region = record.phone_region
        self.school = {"name": record.name}
        self.zone = ZoneInfo(record.timezone)
        self.today = clock.now().astimezone(self.zone).date()
        self._campuses: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._config: config.TenantConfig | None = None

    @property
    def config(self) -> config.TenantConfig:
        """The school's configuration (its statuses say whom to contact), read on first use."""
        if self._config is None:
            self._config = config.load(self.tenant)
        return self._config

    def prime(self, found: Iterable[Lead]) -> None:
        wanted = {lead.campus_id for lead in found} - set(self._campuses)
        for campus_id, campus in tenants_db.campuses_by_id(self.tenant, sorted(wanted)).items():
            self._campuses[campus_id] = {"name": campus.name, "address": campus.address, "phone": campus.phone}

    def consultant(self, user_id: str | None) -> dict[str, Any]:
        if not user_id:
            return {"name": None, "phone": None}
        if user_id not in self._users:
            user = users_db.get(self.tenant, user_id)
            self._users[user_id] = {"name": user.display_name, "phone": user.phone} if user else {"name": None}
        return self._users[user_id]

    def of(self, target: Target, guardian: str | None) -> dict[str, Any]:
        lead = target.lead
        context: dict[str, Any] = {k: None for k in templates.VARIABLES}
        context |= {"school": self.school, "today": self.today.isoformat()}
        if lead is not None:
            birthday = lead.birthday.isoformat() if lead.birthday else None
            context["learner"] = {
                "name": lead.name,
                "nickname": lead.nickname,
                "birthday": birthday,
                "age": templates.age_on(birthday, self.today),
                "school": lead.school,
                "grade": lead.grade,
            }
            context["guardian"] = {"name": guardian, "relation": None}
            context["consultant"] = self.consultant(lead.owner_id)
            context["campus"] = self._campuses.get(lead.campus_id) or {"name": None, "address": None, "phone": None}
        else:
            context["guardian"] = {"name": target.name, "relation": None}
        return context | (target.extra or {})


def _mask(to: str | None) -> str | None:
    if not to:
        return None
    return phones.mask(to) if to.startswith("+") else to[:2] + "***" + to[to.find("@") :] if "@" in to else to


@dataclass
class Plan:
    recipients: list[PlannedRecipient]
    skipped: Counter[str]
    segments: int

    @property
    def queued(self) -> int:
        return sum(1 for r in self.recipients if r["status"] == "queued")


def plan(
    tenant: str,
    *,
    channel: str,
    purpose: str,
    body: str,
    subject: str | None,
    targets: list[Target],
    settings: MessagingSettings,
    contexts: Contexts,
    skipped_before: Counter[str] | None = None,
    source: str | None = None,
) -> Plan:
    """Each target's destination, rendering and segments, or why it is skipped."""
    contexts.prime([t.lead for t in targets if t.lead])
    kind = contact.kind_of(purpose, source)
    seen: set[str] = set()
    recipients: list[PlannedRecipient] = []
    skipped, total = Counter(skipped_before or {}), 0
    already: dict[str, int] = {}
    if purpose == "marketing":
        wanted = [t.to for t in targets if t.to] + [destination(t.lead, channel)[0] for t in targets if t.lead]
        already = messaging_db.capped_today(tenant, [d for d in wanted if d], contexts.today.isoformat())
    for n, target in enumerate(targets, 1):
        guardian = target.name
        to, reason = target.to, None
        if target.lead is not None:
            to, guardian, reason = destination(target.lead, channel)
            reason = contact.skip_reason(contexts.config, target.lead, kind) or reason
        key = (to or "").casefold()
        if reason is None and key in seen:
            reason = "duplicate"
        # already holds only non-empty destinations: no destination ("") finds 0, as None did
        if reason is None and purpose == "marketing" and already.get(to or "", 0) >= settings.marketing_daily_cap:
            reason = "frequency_cap"
        text = rendered_subject = None
        if reason is None:
            context = contexts.of(target, guardian)
            try:
                text = templates.render(body, context, channel=channel)
                rendered_subject = templates.render(subject, context, "subject", channel) if subject else None
            except ValidationFailedError as exc:
                reason = f"cannot render: {exc.message}"
        record: PlannedRecipient = {
            "n": n,
            "lead_id": target.lead.id if target.lead else None,
            "name": target.lead.name if target.lead else target.name,
            "to": to,
            "status": "skipped" if reason else "queued",
            "reason": reason,
            "text": text,
            "subject": rendered_subject,
            "segments": segments(text) if text and channel == "sms" else 0,
            "attempts": 0,
        }
        if reason:
            skipped[reason.split(":")[0]] += 1
        else:
            seen.add(key)
            total += record["segments"]
        recipients.append(record)
    return Plan(recipients, skipped, total)
