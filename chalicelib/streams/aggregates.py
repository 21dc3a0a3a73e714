"""Report aggregates (查询统计): what each change adds to the school's daily and monthly figures.

Each function turns one stream record into effects: counters to add, per day and per
month (school time), for the whole school (`all#all`) and per campus, source and
consultant (`consultant#<campus>|<user>`, so a campus filter is a key prefix). Money is in
fen and credits in hundredths, as stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import keys
from chalicelib.streams.registry import Effect, StreamRecord, effects

CYCLE_BUCKETS = ((7, "0_7"), (30, "8_30"), (90, "31_90"))


@lru_cache(maxsize=1024)
def _zone(tenant: str) -> ZoneInfo:
    """The school's time zone, read once per container (its tenant item's `timezone` alone)."""
    from chalicelib.db import streams as streams_db

    return ZoneInfo(streams_db.timezone(tenant) or "UTC")


def local_day(tenant: str, at: str | date) -> date:
    if isinstance(at, date) and not isinstance(at, datetime):
        return at
    text = str(at)
    if len(text) == 10:  # already a school date
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(_zone(tenant)).date()


def bump(tenant: str, at: str, dims: list[tuple[str, Any]], *, whole: bool = True, **counts: int) -> list[Effect]:
    """Counters added on the day and the month of `at`, for each dimension given (and the
    whole school unless `whole` is False)."""
    return bump_counts(tenant, at, dims, counts, whole=whole)


def bump_counts(
    tenant: str, at: str, dims: list[tuple[str, Any]], counts: Mapping[str, int], *, whole: bool = True
) -> list[Effect]:
    """`bump` with counters whose names are computed (a map, not keyword arguments)."""
    day = local_day(tenant, at)
    values = tuple((name, int(value)) for name, value in counts.items() if value)
    if not values:
        return []
    targets = ([keys.ALL_DIMENSION] if whole else []) + [
        keys.dimension_sk(dim, str(value)) for dim, value in dims if value not in (None, "")
    ]
    periods = (day.isoformat(), day.isoformat()[:7])
    return [Effect(keys.aggregate_pk(tenant, p), sk, values) for p in periods for sk in dict.fromkeys(targets)]


def cycle_bucket(days: int) -> str:
    return next((name for limit, name in CYCLE_BUCKETS if days <= limit), "91_")


def _consultant(campus: str, user: str | None) -> str:
    return f"{campus}|{user or 'pool'}"


def _referrer(lead: Mapping[str, Any]) -> tuple[str, str]:
    """The referral's dimension: `referrer#<campus of the referred lead>|<referrer>`, so a
    campus's referral ranking is a key prefix, as the consultants' is."""
    return ("referrer", f"{lead['campus_id']}|{lead['referrer_lead_id']}")


@effects("Lead")
def lead_figures(record: StreamRecord) -> list[Effect]:
    new, old, tenant = record.new, record.old or {}, record.tenant
    if not new or not tenant:
        return []
    dims = [
        ("campus", new["campus_id"]),
        ("source", new.get("source")),
        ("consultant", _consultant(new["campus_id"], new.get("owner_id"))),
    ]
    out: list[Effect] = []
    if record.event_name == "INSERT":
        out += bump(tenant, new["created_at"], dims, new_leads=1)
        if new.get("referrer_lead_id"):
            out += bump(tenant, new["created_at"], [_referrer(new)], whole=False, referrals=1)
    if new.get("signed_on") and not old.get("signed_on"):
        days = int(new.get("conversion_days") or 0)
        counts = {"conversions": 1, "cycle_days": days, f"cycle_{cycle_bucket(days)}": 1}
        out += bump_counts(tenant, new["signed_on"], dims, counts)
        if new.get("referrer_lead_id"):
            out += bump(tenant, new["signed_on"], [_referrer(new)], whole=False, referrals_converted=1)
    return out


@effects("FollowUp")
def follow_up_figures(record: StreamRecord) -> list[Effect]:
    new = record.new
    if record.event_name != "INSERT" or not new or not record.tenant:
        return []
    dims = [("campus", new["campus_id"]), ("consultant", _consultant(new["campus_id"], new["by"]))]
    return bump_counts(record.tenant, new["followed_at"], dims, {"follow_ups": 1, f"follow_ups_{new['method']}": 1})


@effects("Appointment")
def appointment_figures(record: StreamRecord) -> list[Effect]:
    new, old = record.new, record.old or {}
    if not new or not record.tenant:
        return []
    kind = new["appointment_kind"]
    dims = [("campus", new["campus_id"]), ("consultant", _consultant(new["campus_id"], new.get("owner_id")))]
    out: list[Effect] = []
    if record.event_name == "INSERT" and new["status"] in ("booked", "waitlisted"):
        out += bump_counts(record.tenant, new["created_at"], dims, {f"{kind}s_booked": 1})
    if new.get("attendance") and new.get("attendance") != old.get("attendance"):
        at = new.get("arrived_at") or new["at"]
        out += bump_counts(record.tenant, at, dims, {f"{kind}s_{new['attendance']}": 1})
    return out


@effects("Contract")
def contract_figures(record: StreamRecord) -> list[Effect]:
    new = record.new
    if record.event_name != "INSERT" or not new or not record.tenant:
        return []
    dims = [("campus", new["campus_id"]), ("consultant", _consultant(new["campus_id"], new["signed_by"]))]
    value = int(new["price"]) - int(new.get("discount") or 0)
    return bump(record.tenant, new["signed_at"], dims, contracts=1, contract_value=value)


@effects("Payment")
def payment_figures(record: StreamRecord) -> list[Effect]:
    new = record.new
    if record.event_name != "INSERT" or not new or not record.tenant:
        return []
    what = "revenue" if new["payment_kind"] == "payment" else "refunds"
    counts = {what: int(new["amount"]), f"{what}_count": 1}
    if new["payment_kind"] == "refund":
        counts["credits_clawed_back"] = int(new.get("credits") or 0)
    return bump_counts(record.tenant, new["paid_on"], [("campus", new["campus_id"])], counts)


@effects("Ledger")
def ledger_figures(record: StreamRecord) -> list[Effect]:
    new = record.new
    if record.event_name != "INSERT" or not new or not record.tenant:
        return []
    if new["movement"] not in ("attendance", "deduction", "event_fee"):
        return []
    return bump(record.tenant, new["at"], [], credits_consumed=-int(new.get("credits") or 0))
