"""Sending what is due: each recipient claimed before its provider call, retried with
back-off, at most once; the scheduled_messages job; cancelling what still waits."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.db import messaging as messaging_db
from chalicelib.db.messaging_records import MessageRecord, RecipientRecord
from chalicelib.domain import clock, config, contact
from chalicelib.domain.messaging import email_body
from chalicelib.domain.messaging.planning import _minute, quiet_until
from chalicelib.domain.tenants import get_tenant
from chalicelib.messaging import Outgoing, Provider, ProviderError, provider_for

MAX_ATTEMPTS = 3
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5))
LEASE = timedelta(seconds=90)
INTERRUPTED = "interrupted while sending; not retried, so it is never sent twice"


# --- sending -------------------------------------------------------------------------


def dispatch(tenant: str, message_id: str, now: datetime, *, limit: int | None = None) -> Counter[str]:
    """Sends what is due of one message. Safe to run twice at once: every recipient is
    claimed (a conditional write) before its provider call."""
    outcome: Counter[str] = Counter()
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
        lead_id = recipient.get("lead_id")
        lead = current.get(lead_id) if lead_id is not None else None  # leads are keyed by id: None finds none
        stop = contact.withdrawn(school, lead, recipient, header["channel"], kind)
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
        outcome[_send_one(tenant, header, recipient, provider, now, lease, settings.email_signature)] += 1
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


def _send_one(
    tenant: str,
    header: MessageRecord,
    recipient: RecipientRecord,
    provider: Provider,
    now: datetime,
    lease: str,
    signature: str = "",
) -> str:
    n, attempts = int(recipient["n"]), int(recipient.get("attempts") or 0) + 1
    body, html = recipient["text"], None
    if header["channel"] == "email":  # HTML with the school's signature, and the same as plain text
        body, html = email_body.parts(body, signature, recipient.get("subject"))
    outgoing = Outgoing(
        tenant=tenant,
        channel=header["channel"],
        to=recipient["to"],
        body=body,
        html=html,
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
    totals: Counter[str] = Counter()
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
