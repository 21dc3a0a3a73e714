"""Making a message: a user's send (recipients, content, a dry run) and a job's enqueue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from chalicelib.db import leads as leads_db
from chalicelib.db import messaging as messaging_db
from chalicelib.db.messaging_records import MessageRecord, NewMessage
from chalicelib.domain import clock, config, ids, leads, phones, templates
from chalicelib.domain.auth import Principal
from chalicelib.domain.clock import school_time
from chalicelib.domain.messaging.planning import Contexts, Plan, Target, plan, quiet_until
from chalicelib.domain.messaging.reading import _message_out, _recipient_out
from chalicelib.domain.messaging.sending import dispatch
from chalicelib.errors import ForbiddenError, ValidationFailedError
from chalicelib.schemas.leads import Lead, LeadListQuery
from chalicelib.schemas.messaging import (
    DryRun,
    Message,
    MessageRequest,
    MessagingSettings,
)
from chalicelib.schemas.users import Role

RAW_SENDERS = frozenset({Role.admin, Role.manager, Role.frontdesk})
MAX_RECIPIENTS = 1000
INLINE = 20  # recipients an immediate send delivers within the request; the job does the rest


def _typed(request: MessageRequest) -> bool:
    return request.recipients.phones is not None or request.recipients.emails is not None


def _targets(principal: Principal, request: MessageRequest, region: str) -> tuple[list[Target], Counter[str]]:
    recipients = request.recipients
    skipped: Counter[str] = Counter()
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
        # Recipients._one: exactly one of lead_ids, filter, phones, emails (not typed, no lead_ids: a filter)
        ids_ = _filtered(principal, cast(LeadListQuery, recipients.filter))
    found = []
    for lead in leads_db.batch_get(principal.tenant, ids_):
        if leads.can_see(principal, lead) and lead.deleted_at is None:
            found.append(Target(lead=lead))
    skipped["not_found"] += len(ids_) - len(found)
    order = {lead_id: i for i, lead_id in enumerate(ids_)}
    found.sort(key=lambda t: order[cast(Lead, t.lead).id])  # every target here was made from a lead
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
    text = cast(str, request.text)  # MessageRequest._content: a text when there is no template_id
    templates.check(text, "text", request.channel)
    if request.subject:
        templates.check(request.subject, "subject", request.channel)
    if request.channel == "email" and not request.subject:
        raise ValidationFailedError("subject: an e-mail needs a subject", details=[{"field": "subject"}])
    return text, request.subject


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
    header: MessageRecord | NewMessage  # as made, or as read back after the inline sends
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


def _header(tenant: str, *, planned: Plan, send_at: datetime, moved: bool, **fields: Any) -> NewMessage:
    # `fields`: the header's other keys (channel, purpose, template_id, subject, created_by,
    # created_by_name, source, campus_ids), as both callers pass them
    header: dict[str, Any] = {
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
    return cast(NewMessage, header)


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
