"""Reading messages: the list, one message with its recipients, the outbox (not in
production); who may see what."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar, cast

from chalicelib.db import leads as leads_db
from chalicelib.db import messaging as messaging_db
from chalicelib.db.messaging_records import MessageRecord, NewMessage, OutboxRecord, PlannedRecipient, RecipientRecord
from chalicelib.domain import clock, leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.messaging.planning import _mask
from chalicelib.errors import NotFoundError
from chalicelib.schemas.common import Page
from chalicelib.schemas.messaging import (
    Message,
    MessageDetail,
    MessageDetailQuery,
    OutboxEntry,
    RecipientOut,
)
from chalicelib.schemas.users import Role

READ_ALL = frozenset({Role.admin, Role.manager, Role.frontdesk})

_Record = TypeVar("_Record", RecipientRecord, OutboxRecord)  # a record that may name its lead


# --- reading -------------------------------------------------------------------------


def _status(header: MessageRecord | NewMessage, now: datetime) -> str:
    if not header["queued"]:
        return "done"
    return "scheduled" if header["send_at"] > clock.iso(now) else "sending"


def _message_out(header: MessageRecord | NewMessage, now: datetime) -> Message:
    return Message(**{k: v for k, v in header.items() if k != "source"}, status=_status(header, now))


def _recipient_out(data: RecipientRecord | PlannedRecipient, *, reveal: bool = False) -> RecipientOut:
    return RecipientOut(
        **{k: v for k, v in data.items() if k not in ("to", "subject", "next_try_at", "lease_until", "provider_id")},
        to=data.get("to") if reveal and not (data.get("to") or "").startswith("+") else _mask(data.get("to")),
    )


def _visible(principal: Principal, header: MessageRecord) -> bool:
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


def _of_visible_leads(principal: Principal, records: list[_Record]) -> list[_Record]:
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
        headers: dict[str, MessageRecord | None] = {}
        shown = []
        for entry in _of_visible_leads(principal, items):
            if not entry.get("lead_id"):
                message_id = entry["reference"].split("#")[0]
                if message_id not in headers:
                    headers[message_id] = messaging_db.get_message(principal.tenant, message_id)
                header = headers[message_id]
                if header is None or not _visible(principal, header):
                    # an entry's `to` is never empty (a provider was handed it), so its mask is a str
                    entry = {**entry, "to": cast(str, _mask(entry["to"]))}
            shown.append(entry)
        items = shown
    return Page[OutboxEntry](items=[OutboxEntry.model_validate(i) for i in items], next_cursor=next_cursor)
