"""Anti-scraping counters (智能预警) and usage metering, fed by the stream.

Each audit entry with a weight adds it to its user's counters for the minute, the hour
and the day (UTC windows; the items expire after their window). After a batch is
written, the counters of the users it touched are read back and an account over a
threshold is frozen. Every audit entry also counts as an API request of its school's
month, and every message sent as SMS segments or an e-mail (pay per use).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, cast

from chalicelib.db import keys
from chalicelib.domain.audit import LIMITS, WINDOW_NAMES, windows
from chalicelib.streams.registry import Effect, StreamRecord, after, effects


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@effects("Audit")
def audit_counters(record: StreamRecord) -> list[Effect]:
    new = record.new
    if record.event_name != "INSERT" or not new or not record.tenant:
        return []
    at = _at(new["at"])
    out = [Effect(keys.usage_pk(record.tenant), at.strftime("%Y-%m"), (("api_requests", 1),))]
    weight = int(new.get("weight") or 0)
    if weight and new.get("user_id"):
        pk = keys.access_pk(record.tenant, new["user_id"])
        epoch = int(new.get("epoch") or 0)
        out += [Effect(pk, sk, (("weight", weight), ("requests", 1)), ttl) for _, sk, ttl in windows(at, epoch)]
    return out


@effects("Recipient")
def messages_sent(record: StreamRecord) -> list[Effect]:
    new, old = record.new, record.old or {}
    if not new or not record.tenant or new.get("status") != "sent" or old.get("status") == "sent":
        return []
    month = _at(new.get("sent_at") or "1970-01-01T00:00:00Z").strftime("%Y-%m")
    segments = int(new.get("segments") or 0)
    counts = (("sms", 1), ("sms_segments", segments)) if segments else (("emails", 1),)
    return [Effect(keys.usage_pk(record.tenant), month, counts)]


@effects("Lead")
def active_leads(record: StreamRecord) -> list[Effect]:
    """Leads alive at the end of each month (new minus deleted, plus restored)."""
    new, old = record.new or {}, record.old or {}
    if not record.tenant:
        return []
    was = bool(old) and not old.get("deleted_at")
    now = bool(new) and not new.get("deleted_at")
    if was == now:
        return []
    at = new.get("updated_at") or old.get("updated_at") or "1970-01-01T00:00:00Z"
    return [Effect(keys.usage_pk(record.tenant), _at(at).strftime("%Y-%m"), (("leads_change", 1 if now else -1),))]


@after
def freeze_over_threshold(records: list[StreamRecord]) -> None:
    """Reads back the counters of the users this batch touched; freezes whoever is over."""
    from chalicelib.db import reports as reports_db
    from chalicelib.domain import audit, config

    touched: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for record in records:
        new = record.new or {}
        counted = record.kind == "Audit" and record.event_name == "INSERT" and int(new.get("weight") or 0)
        if counted and new.get("role") != "admin" and new.get("user_id"):  # admins are never frozen
            epoch = int(new.get("epoch") or 0)
            tenant = cast(str, record.tenant)  # an Audit item's key is always T#<tenant>#… (keys.audit_pk)
            touched[(tenant, new["user_id"], epoch)] |= {sk for _, sk, _ in windows(_at(new["at"]), epoch)}
    if not touched:
        return
    wanted = [(keys.access_pk(t, u), sk) for (t, u, _), sks in touched.items() for sk in sorted(sks)]
    counters = reports_db.get_many(wanted)
    limits: dict[str, Any] = {}
    for (tenant, user_id, epoch), sks in touched.items():
        if tenant not in limits:
            limits[tenant] = config.load_security(tenant)
        over = []
        for sk in sorted(sks):
            used = int(counters.get((keys.access_pk(tenant, user_id), sk), {}).get("weight", 0))
            limit = getattr(limits[tenant], LIMITS[sk[0]])
            if used > limit:
                window = WINDOW_NAMES[sk[0]]
                over.append(f"{used} reads in the {window} {sk.rsplit('#', 1)[1]} (limit {limit})")
        if over:
            audit.freeze(tenant, user_id, "; ".join(over), epoch)
