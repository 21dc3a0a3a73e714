"""Sending SMS and e-mail: who receives what, when, and exactly how often.

A message is planned in full when it is created: each recipient's destination, its own
rendering, its SMS segments, or the reason it is skipped (no phone or e-mail, opted out, a
duplicate, today's marketing cap). Quiet hours move the send to the next allowed time.
Sending (`dispatch`) claims each recipient with a conditional write before calling the
provider, so a recipient is sent at most once however often a job is retried or however
many runs overlap. A provider failure that may pass is retried with back-off, up to three
attempts, and then recorded as failed with its reason; nothing is dropped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import leads as leads_db
from chalicelib.db import messaging as messaging_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, config, contact, ids, leads, phones, templates
from chalicelib.domain.auth import Principal
from chalicelib.domain.followups import school_time
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.messaging import Outgoing, ProviderError, provider_for
from chalicelib.messaging.segments import segments
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import Lead, LeadListQuery
from chalicelib.schemas.messaging import (
    DryRun,
    Message,
    MessageDetail,
    MessageDetailQuery,
    MessageRequest,
    MessagingSettings,
    OutboxEntry,
    RecipientOut,
)
from chalicelib.schemas.users import Role

RAW_SENDERS = frozenset({Role.admin, Role.manager, Role.frontdesk})
READ_ALL = frozenset({Role.admin, Role.manager, Role.frontdesk})
MAX_RECIPIENTS = 1000
MAX_ATTEMPTS = 3
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5))
LEASE = timedelta(seconds=90)
INLINE = 20  # recipients an immediate send delivers within the request; the job does the rest
INTERRUPTED = "interrupted while sending; not retried, so it is never sent twice"


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
    recipients: list[dict[str, Any]]
    skipped: Counter
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
    skipped_before: Counter | None = None,
    source: str | None = None,
) -> Plan:
    """Each target's destination, rendering and segments, or why it is skipped."""
    contexts.prime([t.lead for t in targets if t.lead])
    kind = contact.kind_of(purpose, source)
    seen: set[str] = set()
    recipients, skipped, total = [], Counter(skipped_before or {}), 0
    already = {}
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
        if reason is None and purpose == "marketing" and already.get(to, 0) >= settings.marketing_daily_cap:
            reason = "frequency_cap"
        text = rendered_subject = None
        if reason is None:
            context = contexts.of(target, guardian)
            try:
                text = templates.render(body, context, channel=channel)
                rendered_subject = templates.render(subject, context, "subject", channel) if subject else None
            except ValidationFailedError as exc:
                reason = f"cannot render: {exc.message}"
        record = {
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


def _typed(request: MessageRequest) -> bool:
    return request.recipients.phones is not None or request.recipients.emails is not None


def _targets(principal: Principal, request: MessageRequest, region: str) -> tuple[list[Target], Counter]:
    recipients = request.recipients
    skipped: Counter = Counter()
    if _typed(request):
        if principal.role not in RAW_SENDERS:
            raise ForbiddenError("Typed numbers are for the front desk, managers and admins.", code="ROLE_FORBIDDEN")
        found = []
        for i, raw in enumerate(recipients.phones or []):
            try:
                found.append(Target(to=phones.normalise(raw, region, field=f"recipients.phones.{i}")))
            except ValidationFailedError:
                skipped["invalid_phone"] += 1
        for address in recipients.emails or []:
            if "@" in address and "." in address.rsplit("@", 1)[-1]:
                found.append(Target(to=address.strip()))
            else:
                skipped["invalid_email"] += 1
        return found, skipped
    if recipients.lead_ids is not None:
        ids_ = list(dict.fromkeys(recipients.lead_ids))
    else:
        ids_ = _filtered(principal, recipients.filter)
    found = []
    for lead in leads_db.batch_get(principal.tenant, ids_):
        if leads.can_see(principal, lead) and lead.deleted_at is None:
            found.append(Target(lead=lead))
    skipped["not_found"] += len(ids_) - len(found)
    order = {lead_id: i for i, lead_id in enumerate(ids_)}
    found.sort(key=lambda t: order[t.lead.id])
    return found, +skipped


def _filtered(principal: Principal, query: LeadListQuery) -> list[str]:
    """The ids the lead list gives for a filter, page after page, up to MAX_RECIPIENTS."""
    found: list[str] = []
    page_query = query.model_copy(update={"limit": 100, "cursor": None})
    while True:
        page = leads.list_leads(principal, page_query)
        found += [lead.id for lead in page.items]
        if len(found) >= MAX_RECIPIENTS:
            raise ValidationFailedError(
                f"The filter matches more than {MAX_RECIPIENTS} leads; narrow it or send in parts.",
                details=[{"field": "recipients.filter", "message": "too many recipients"}],
            )
        if not page.next_cursor:
            return found
        page_query = page_query.model_copy(update={"cursor": page.next_cursor})


def _content(tenant: str, request: MessageRequest) -> tuple[str, str | None]:
    if request.template_id:
        template = templates.get_data(tenant, request.template_id)
        if template["channel"] != request.channel:
            raise ValidationFailedError(
                f"template_id: an {template['channel']} template cannot send {request.channel}",
                details=[{"field": "template_id", "message": "wrong channel"}],
            )
        return template["body"], request.subject or template.get("subject")
    templates.check(request.text, "text", request.channel)
    if request.subject:
        templates.check(request.subject, "subject", request.channel)
    if request.channel == "email" and not request.subject:
        raise ValidationFailedError("subject: an e-mail needs a subject", details=[{"field": "subject"}])
    return request.text, request.subject


def send(principal: Principal, request: MessageRequest, dry_run: bool) -> Message | DryRun:
    if principal.role is Role.teacher:
        raise ForbiddenError("Teachers do not send messages to families.", code="ROLE_FORBIDDEN")
    tenant = principal.tenant
    settings = config.load(tenant).messaging
    body, subject = _content(tenant, request)
    contexts = Contexts(tenant)
    now = clock.now()
    when = school_time(request.send_at, contexts.zone.key) if request.send_at else now
    if when < now - timedelta(minutes=1):
        raise ValidationFailedError("send_at: in the past", details=[{"field": "send_at", "message": "in the past"}])
    moved = quiet_until(when, contexts.zone, settings)
    when = moved or max(when, now)
    targets, skipped = _targets(principal, request, contexts.region)
    if not targets and not skipped:
        raise ValidationFailedError("recipients: nobody to send to", details=[{"field": "recipients"}])
    planned = plan(
        tenant,
        channel=request.channel,
        purpose=request.purpose,
        body=body,
        subject=subject,
        targets=targets,
        settings=settings,
        contexts=contexts,
        skipped_before=skipped,
    )
    if dry_run:
        samples = [r for r in planned.recipients if r["status"] == "queued"][:5]
        return DryRun(
            send_at=when,
            moved_by_quiet_hours=moved is not None,
            recipients=len(planned.recipients) + sum(skipped.values()),
            would_send=planned.queued,
            skipped=sum(planned.skipped.values()),
            skipped_by_reason=dict(planned.skipped),
            segments=planned.segments,
            samples=[_recipient_out(r, reveal=True) for r in samples],
        )
    header = _header(
        tenant,
        channel=request.channel,
        purpose=request.purpose,
        template_id=request.template_id,
        subject=subject,
        created_by=principal.user_id,
        created_by_name=principal.display_name,
        send_at=when,
        moved=moved is not None,
        planned=planned,
        source="user",
        campus_ids=_campuses(targets, principal.campus_ids if _typed(request) else ()),
    )
    messaging_db.create_message(tenant, header, planned.recipients)
    if request.send_at is None and moved is None and planned.queued:
        dispatch(tenant, header["id"], clock.now(), limit=INLINE)
        header = messaging_db.get_message(tenant, header["id"]) or header
    return _message_out(header, clock.now())


def _campuses(targets: list[Target], typed_by: Iterable[str] = ()) -> set[str] | None:
    """The campuses a message is of: its leads', or for typed numbers its sender's. Managers
    and the front desk see the messages of their campuses (None: admins only)."""
    return {t.lead.campus_id for t in targets if t.lead} | set(typed_by) or None


def _header(tenant: str, *, planned: Plan, send_at: datetime, moved: bool, **fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("message_id", None) or ids.new_id(),
        **fields,
        "created_at": clock.iso(clock.now()),
        "send_at": clock.iso(send_at),
        "moved_by_quiet_hours": moved,
        "recipients": len(planned.recipients)
        + sum(planned.skipped.values())
        - sum(1 for r in planned.recipients if r["status"] == "skipped"),
        "queued": planned.queued,
        "sent": 0,
        "failed": 0,
        "skipped": sum(planned.skipped.values()),
        "skipped_by_reason": dict(planned.skipped),
        "segments": planned.segments,
    }


def enqueue(
    tenant: str,
    *,
    channel: str,
    purpose: str,
    body: str,
    subject: str | None,
    targets: list[Target],
    send_at: datetime,
    source: str,
    message_id: str | None = None,
    contexts: Contexts | None = None,
    settings: MessagingSettings | None = None,
) -> str | None:
    """A message made by a job (a greeting, a reminder, a digest). With a `message_id` it is
    made once: a second run finds it and makes nothing (returns None)."""
    settings = settings or config.load(tenant).messaging
    contexts = contexts or Contexts(tenant)
    moved = quiet_until(send_at, contexts.zone, settings)
    when = moved or send_at
    planned = plan(
        tenant,
        channel=channel,
        purpose=purpose,
        body=body,
        subject=subject,
        targets=targets,
        settings=settings,
        contexts=contexts,
        source=source,
    )
    header = _header(
        tenant,
        message_id=message_id,
        channel=channel,
        purpose=purpose,
        template_id=None,
        subject=subject,
        created_by="system",
        created_by_name="系统",
        send_at=when,
        moved=moved is not None,
        planned=planned,
        source=source,
        campus_ids=_campuses(targets),
    )
    if len(planned.recipients) <= 90:
        made = messaging_db.create_message_once(tenant, header, planned.recipients)
    else:
        made = messaging_db.create_message(tenant, header, planned.recipients, exclusive=True)
    return header["id"] if made else None


# --- sending -------------------------------------------------------------------------


def dispatch(tenant: str, message_id: str, now: datetime, *, limit: int | None = None) -> Counter:
    """Sends what is due of one message. Safe to run twice at once: every recipient is
    claimed (a conditional write) before its provider call."""
    outcome: Counter = Counter()
    header = messaging_db.get_message(tenant, message_id)
    if header is None:
        return outcome
    zone = ZoneInfo(get_tenant(tenant).timezone)
    school = config.load(tenant)
    settings = school.messaging
    quiet = quiet_until(now, zone, settings) if header.get("source") != "digest" else None
    if quiet is not None:
        messaging_db.set_due(tenant, message_id, _minute(quiet))
        outcome["deferred"] += 1
        return outcome
    provider = provider_for(header["channel"])
    stamp = clock.iso(now)
    next_due: datetime | None = None
    handled = 0
    waiting = sorted(messaging_db.waiting(tenant, message_id), key=lambda r: r["n"])
    due = [r for r in waiting if r["status"] == "queued" and not (r.get("next_try_at") or "") > stamp]
    current = contact.current_leads(tenant, due[:limit] if limit is not None else due)
    kind = contact.kind_of(header["purpose"], header.get("source"))
    for recipient in waiting:
        n = int(recipient["n"])
        if recipient["status"] == "sending":
            lease = recipient.get("lease_until")
            if lease and lease < stamp:
                fields = {"reason": INTERRUPTED, "lease_until": None}
                messaging_db.settle(
                    tenant, message_id, n, status="failed", lease_until=lease, fields=fields, count="failed"
                )
                outcome["failed"] += 1
            else:
                next_due = _earliest(next_due, now + LEASE)
            continue
        if recipient.get("next_try_at") and recipient["next_try_at"] > stamp:
            next_due = _earliest(next_due, datetime.fromisoformat(recipient["next_try_at"].replace("Z", "+00:00")))
            continue
        if limit is not None and handled >= limit:
            next_due = _earliest(next_due, now)
            continue
        handled += 1
        stop = contact.withdrawn(school, current.get(recipient.get("lead_id")), recipient, header["channel"], kind)
        if stop is not None:  # the lead's status or the guardian's opt-out changed since it was planned
            _skip(tenant, message_id, n, stop)
            outcome["skipped"] += 1
            continue
        lease = clock.iso(now + LEASE)
        cap = None
        if header["purpose"] == "marketing":
            cap = (recipient["to"], now.astimezone(zone).date().isoformat(), settings.marketing_daily_cap)
        claimed = messaging_db.claim(tenant, message_id, n, now=stamp, lease_until=lease, cap=cap)
        if claimed == "gone":
            continue
        if claimed == "capped":
            _skip(tenant, message_id, n, "frequency_cap")
            outcome["skipped"] += 1
            continue
        outcome[_send_one(tenant, header, recipient, provider, now, lease)] += 1
        if outcome.get("retry"):
            next_due = _earliest(next_due, now + BACKOFF[min(int(recipient.get("attempts") or 0), len(BACKOFF) - 1)])
    messaging_db.set_due(tenant, message_id, _minute(next_due) if next_due else None)
    return outcome


def _skip(tenant: str, message_id: str, n: int, reason: str) -> bool:
    """A queued recipient skipped at send time, counted under its reason."""
    fields = {"reason": reason}
    if messaging_db.settle(tenant, message_id, n, status="skipped", lease_until=None, fields=fields, count="skipped"):
        messaging_db.add_skip_reason(tenant, message_id, reason)
        return True
    return False


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _send_one(tenant: str, header: dict[str, Any], recipient: dict[str, Any], provider, now, lease: str) -> str:
    n, attempts = int(recipient["n"]), int(recipient.get("attempts") or 0) + 1
    outgoing = Outgoing(
        tenant=tenant,
        channel=header["channel"],
        to=recipient["to"],
        body=recipient["text"],
        subject=recipient.get("subject"),
        purpose=header["purpose"],
        reference=f"{header['id']}#{n}",
        lead_id=recipient.get("lead_id"),
    )
    try:
        provider_id = provider.send(outgoing)
    except ProviderError as exc:
        retry = exc.retryable and attempts < MAX_ATTEMPTS
        reason = f"{provider.name}: {exc}"
    except Exception as exc:  # noqa: BLE001 - unforeseen: it may have gone out, so it is not tried again
        retry, reason = False, f"{provider.name}: {type(exc).__name__}: {exc}"
    else:
        fields = {"sent_at": clock.iso(clock.now()), "provider_id": provider_id, "lease_until": None, "reason": None}
        messaging_db.settle(tenant, header["id"], n, status="sent", lease_until=lease, fields=fields, count="sent")
        return "sent"
    if retry:
        later = clock.iso(now + BACKOFF[min(attempts - 1, len(BACKOFF) - 1)])
        fields = {"next_try_at": later, "reason": reason, "lease_until": None}
        messaging_db.settle(tenant, header["id"], n, status="queued", lease_until=lease, fields=fields, count=None)
        return "retry"
    fields = {"reason": reason, "lease_until": None}
    messaging_db.settle(tenant, header["id"], n, status="failed", lease_until=lease, fields=fields, count="failed")
    return "failed"


def run_due(at: datetime, only: str | None = None) -> dict[str, int]:
    """The `scheduled_messages` job: every message due up to this minute, every tenant.

    It reads the minute buckets from where its last run stopped (at most an hour back) and
    always the last three minutes, so a message filed just after a run read its minute is
    still found. Overlapping runs are harmless: recipients are claimed one by one."""
    now_minute = at.replace(second=0, microsecond=0)
    last = messaging_db.job_cursor("scheduled_messages")
    start = now_minute - timedelta(minutes=2)
    if last:
        resume = datetime.fromisoformat(last + ":00+00:00") + timedelta(minutes=1)
        start = max(min(start, resume), now_minute - timedelta(hours=1))
    totals: Counter = Counter()
    minute = start
    seen: set[tuple[str, str]] = set()
    while minute <= now_minute:
        for found in messaging_db.due_messages(_minute(minute)):
            if found not in seen and (only is None or found[0] == only):
                seen.add(found)
                totals.update(dispatch(*found, at))
        minute += timedelta(minutes=1)
    if only is None:  # a run for one tenant leaves the others' minutes to the regular runs
        messaging_db.advance_job_cursor("scheduled_messages", _minute(now_minute))
    return {"messages": len(seen), **dict(totals)}


# --- reading -------------------------------------------------------------------------


def _status(header: dict[str, Any], now: datetime) -> str:
    if not header["queued"]:
        return "done"
    return "scheduled" if header["send_at"] > clock.iso(now) else "sending"


def _message_out(header: dict[str, Any], now: datetime) -> Message:
    return Message(**{k: v for k, v in header.items() if k != "source"}, status=_status(header, now))


def _recipient_out(data: dict[str, Any], *, reveal: bool = False) -> RecipientOut:
    return RecipientOut(
        **{k: v for k, v in data.items() if k not in ("to", "subject", "next_try_at", "lease_until", "provider_id")},
        to=data.get("to") if reveal and not (data.get("to") or "").startswith("+") else _mask(data.get("to")),
    )


def _visible(principal: Principal, header: dict[str, Any]) -> bool:
    """Its sender; an admin; a manager or the front desk of one of its campuses."""
    if principal.role is Role.admin or header["created_by"] == principal.user_id:
        return True
    return principal.role in READ_ALL and bool(set(header.get("campus_ids") or ()) & set(principal.campus_ids))


def list_messages(principal: Principal, limit: int, cursor: str | None) -> Page[Message]:
    campuses = list(principal.campus_ids) if principal.role in READ_ALL - {Role.admin} else None
    mine = None if principal.role is Role.admin else principal.user_id
    items, next_cursor = messaging_db.list_messages(
        principal.tenant,
        created_by=mine,
        campuses=campuses,
        limit=limit,
        cursor=cursor,
        scope=f"{principal.tenant}:msgs:{mine}",
    )
    now = clock.now()
    return Page[Message](items=[_message_out(h, now) for h in items], next_cursor=next_cursor)


def get_message(principal: Principal, message_id: str, query: MessageDetailQuery) -> MessageDetail:
    header = messaging_db.get_message(principal.tenant, message_id)
    if header is None or not _visible(principal, header):
        raise NotFoundError("No such message.", code="MESSAGE_NOT_FOUND")
    items, cursor = messaging_db.recipients_page(
        principal.tenant,
        message_id,
        status=query.status,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:rcpt:{message_id}:{query.status}",
    )
    if principal.role is not Role.admin and header["created_by"] != principal.user_id:
        items = _of_visible_leads(principal, items)  # a manager of one campus: that campus's recipients
    return MessageDetail(
        **_message_out(header, clock.now()).model_dump(),
        items=[_recipient_out(r) for r in items],
        next_cursor=cursor,
    )


def _of_visible_leads(principal: Principal, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records (recipients, outbox entries) of leads the caller may see, by the lead
    list's rule (one BatchGetItem); records of no lead (a typed number) are kept."""
    found = {
        lead.id: lead
        for lead in leads_db.batch_get(principal.tenant, [r["lead_id"] for r in records if r.get("lead_id")])
    }
    return [
        r
        for r in records
        if not r.get("lead_id") or (r["lead_id"] in found and leads.can_see(principal, found[r["lead_id"]]))
    ]


def outbox(principal: Principal, limit: int, cursor: str | None) -> Page[OutboxEntry]:
    from chalicelib.settings import get_settings

    if get_settings().stage == "prod":
        raise NotFoundError("There is no outbox in production.", code="NOT_FOUND")
    items, next_cursor = messaging_db.outbox_page(
        principal.tenant, limit=limit, cursor=cursor, scope=f"{principal.tenant}:outbox"
    )
    if principal.role is not Role.admin:
        # a lead's: in full to whoever may see the lead, else not listed; a typed number's (or an
        # entry written before entries named their lead): in full to whoever may see its message
        headers: dict[str, dict[str, Any] | None] = {}
        shown = []
        for entry in _of_visible_leads(principal, items):
            if not entry.get("lead_id"):
                message_id = entry["reference"].split("#")[0]
                if message_id not in headers:
                    headers[message_id] = messaging_db.get_message(principal.tenant, message_id)
                header = headers[message_id]
                if header is None or not _visible(principal, header):
                    entry = {**entry, "to": _mask(entry["to"])}
            shown.append(entry)
        items = shown
    return Page[OutboxEntry](items=[OutboxEntry.model_validate(i) for i in items], next_cursor=next_cursor)


def cancel(tenant: str, message_id: str, reason: str = "cancelled") -> int:
    """Stops a message's recipients still waiting (one being sent this instant goes out):
    for a reminder whose reason went away. Safe to run twice; returns how many it stopped."""
    stopped = 0
    for recipient in messaging_db.waiting(tenant, message_id):
        if recipient["status"] != "queued":
            continue
        n, fields = int(recipient["n"]), {"reason": reason}
        if messaging_db.settle(
            tenant, message_id, n, status="skipped", lease_until=None, fields=fields, count="skipped"
        ):
            messaging_db.add_skip_reason(tenant, message_id, reason)
            stopped += 1
    if not messaging_db.waiting(tenant, message_id):
        messaging_db.set_due(tenant, message_id, None)
    return stopped
