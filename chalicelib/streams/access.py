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
from chalicelib.domain.access_windows import LIMITS, WINDOW_NAMES, windows
from chalicelib.schemas.read_limits import READ_LIMIT_DEFAULTS
from chalicelib.streams.registry import Effect, StreamRecord, after, effects


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def audit_entry(record: StreamRecord) -> dict[str, Any] | None:
    """The audit entry this record writes (a new `Audit` item's image), else None. The one place
    the stream recognises an audit entry, by its `type` and not by its keys: the counters and
    the freeze check both ask here. Its school is the record's (keys.tenant_of_key of its PK)."""
    if record.kind != "Audit" or record.event_name != "INSERT" or not record.new or not record.tenant:
        return None
    return record.new


@effects("Audit")
def audit_counters(record: StreamRecord) -> list[Effect]:
    new = audit_entry(record)
    if new is None or not record.tenant:
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
    """Reads back the counters of the users this batch touched, with their schools' limits (one
    BatchGetItem); freezes whoever is over."""
    from chalicelib.db import streams as streams_db

    touched: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for record in records:
        new = audit_entry(record) or {}
        if int(new.get("weight") or 0) and new.get("role") != "admin" and new.get("user_id"):  # admins: never frozen
            epoch = int(new.get("epoch") or 0)
            tenant = cast(str, record.tenant)  # audit_entry: an entry always has its school
            touched[(tenant, new["user_id"], epoch)] |= {sk for _, sk, _ in windows(_at(new["at"]), epoch)}
    if not touched:
        return
    wanted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for (tenant, user_id, _), sks in touched.items():
        wanted[tenant] |= {(keys.access_pk(tenant, user_id), sk) for sk in sks}
    counters, stored = streams_db.access_counts(wanted)
    limits = {tenant: _limits(stored[tenant]) for tenant in wanted}
    for (tenant, user_id, epoch), sks in touched.items():
        over = []
        for sk in sorted(sks):
            used = counters[(keys.access_pk(tenant, user_id), sk)]
            limit = limits[tenant][LIMITS[sk[0]]]
            if used > limit:
                window = WINDOW_NAMES[sk[0]]
                over.append(f"{used} reads in the {window} {sk.rsplit('#', 1)[1]} (limit {limit})")
        if over:
            from chalicelib.domain import audit  # freezing: the users table, the alert (rare)

            audit.freeze(tenant, user_id, "; ".join(over), epoch)


def _limits(stored: dict[str, Any] | None) -> dict[str, int]:
    """A school's read limits by name (reads_per_minute, ...): its stored security settings
    (validated when they were saved) over SecuritySettings' defaults, without loading pydantic."""
    return {name: int((stored or {}).get(name) or READ_LIMIT_DEFAULTS[name]) for name in LIMITS.values()}
