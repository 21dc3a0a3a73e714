"""Report aggregates (查询统计): what each change adds to the school's daily and monthly figures.

Each function turns one stream record into effects: counters to add, per day and per
month (school time), for the whole school (`all#all`) and per campus, source and
consultant (`consultant#<campus>|<user>`, so a campus filter is a key prefix). Money is in
fen and credits in hundredths, as stored.
"""

from __future__ import annotations

import time
from collections import Counter
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


def _referrer(lead: Mapping[str, Any]) -> tuple[str, str | None]:
    """The referral's dimension: `referrer#<campus of the referred lead>|<referrer>` (a lead's
    id, or `user:<id>` for a member of staff), so a campus's referral ranking is a key
    prefix, as the consultants' is. Its value is None when nobody referred the lead."""
    return (
        "referrer",
        keys.referrer_dimension(lead["campus_id"], lead.get("referrer_lead_id"), lead.get("referrer_user_id")),
    )


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
        out += bump(tenant, new["created_at"], [_referrer(new)], whole=False, referrals=1)
    if new.get("signed_on") and not old.get("signed_on"):
        days = int(new.get("conversion_days") or 0)
        counts = {"conversions": 1, "cycle_days": days, f"cycle_{cycle_bucket(days)}": 1}
        out += bump_counts(tenant, new["signed_on"], dims, counts)
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


def referred_shares(contract: Mapping[str, Any]) -> dict[str, int]:
    """The contract's net price (price less discount, fen) per referrer dimension value: the
    price split evenly between its learners (the first take the odd fen), each referred
    learner's share to its referrer as the contract recorded it (`referrers`: lead id ->
    `<campus>|<referrer>`, copied from the learners when signed)."""
    learners, referrers = list(contract.get("lead_ids") or []), contract.get("referrers") or {}
    if not learners or not referrers:
        return {}
    value = int(contract["price"]) - int(contract.get("discount") or 0)
    each, odd = divmod(value, len(learners))
    shares: dict[str, int] = {}
    for n, lead_id in enumerate(learners):
        if referrers.get(lead_id):
            shares[referrers[lead_id]] = shares.get(referrers[lead_id], 0) + each + (1 if n < odd else 0)
    return shares


@effects("Contract")
def referral_money(record: StreamRecord) -> list[Effect]:
    """Money signed per referrer (`referrals_value`, fen), on the day and month the contract
    was signed: added by its INSERT, taken back by the change that voids it (the period of
    signing loses it, as if never signed). Each happens once per contract: the stream's
    markers drop a replayed record, and a void is seen once (voided_at appears once)."""
    new, old = record.new, record.old or {}
    if not new or not record.tenant:
        return []
    if record.event_name == "INSERT" and not new.get("voided_at"):
        sign = 1
    elif record.event_name == "MODIFY" and new.get("voided_at") and not old.get("voided_at"):
        sign = -1
    else:
        return []
    out: list[Effect] = []
    for dim, amount in referred_shares(new).items():
        out += bump(record.tenant, new["signed_at"], [("referrer", dim)], whole=False, referrals_value=sign * amount)
    return out


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


@effects("EnrolmentPayment")
def enrolment_payment_figures(record: StreamRecord) -> list[Effect]:
    """A payment towards an enrolment's agreed price is revenue of the cohort's campus on the
    day it was paid, as a contract's payment is (enrolments take no refunds)."""
    new = record.new
    if record.event_name != "INSERT" or not new or not record.tenant:
        return []
    counts = {"revenue": int(new["amount"]), "revenue_count": 1}
    return bump_counts(record.tenant, new["paid_on"], [("campus", new["campus_id"])], counts)


@effects("Ledger")
def ledger_figures(record: StreamRecord) -> list[Effect]:
    new = record.new
    if record.event_name != "INSERT" or not new or not record.tenant:
        return []
    if new["movement"] not in ("attendance", "deduction", "event_fee"):
        return []
    return bump(record.tenant, new["at"], [], credits_consumed=-int(new.get("credits") or 0))


# The lead fields the breakdown report counts (GET /reports/breakdown), besides the school's
# own list fields (a lead's `custom`, the fields whose type is `list`).
BREAKDOWN_FIELDS = ("source", "status", "importance", "stage")


def _list_values(tenant: str, lead: Mapping[str, Any]) -> dict[str, str]:
    """The lead's value of each list field it has one for."""
    found = {name: lead[name] for name in BREAKDOWN_FIELDS if isinstance(lead.get(name), str) and lead[name]}
    custom = {k: v for k, v in (lead.get("custom") or {}).items() if isinstance(v, str) and v}
    if custom:  # the school's field definitions are read only for a lead that has values of its own
        from chalicelib.db import streams as streams_db

        types = streams_db.lead_field_types(tenant, time.time())
        if set(custom) - set(types):  # a field defined since this container read them
            types = streams_db.lead_field_types(tenant, time.time(), fresh=True)
        found |= {k: v for k, v in custom.items() if types.get(k) == "list"}  # never a built-in name
    return found


def breakdown_share(tenant: str, lead: Mapping[str, Any] | None) -> Counter[tuple[str, str, str]]:
    """What one lead, as it is in this image, adds to the breakdown figures: (pk, sk, counter)
    -> 1 for each list field it has a value of, `leads|<value>` on the day (and month) it was
    made and, once signed, `members|<value>` on the day (and month) it signed. A deleted lead
    adds nothing (it comes back when restored, as the active leads do)."""
    share: Counter[tuple[str, str, str]] = Counter()
    if not lead or lead.get("deleted_at") or not lead.get("campus_id"):
        return share
    values = _list_values(tenant, lead)
    figures = [("leads", lead["created_at"])] + ([("members", lead["signed_on"])] if lead.get("signed_on") else [])
    for figure, at in figures:
        day = local_day(tenant, at).isoformat()
        for field, value in values.items():
            sk = keys.breakdown_sk(field, lead["campus_id"])
            for period in (day, day[:7]):
                share[(keys.aggregate_pk(tenant, period), sk, keys.breakdown_counter(figure, value))] += 1
    return share


@effects("Lead")
def breakdown_figures(record: StreamRecord) -> list[Effect]:
    """The lead's share of the breakdown as it is now less its share as it was: a new lead adds
    its values, a changed value moves its counts from the old value to the new one in the same
    items (one update per field changed and period), signing adds it as a member, a deletion
    takes it away and a restore brings it back. Exact under replays as every aggregate is (the
    processor's markers): the difference of the two images of one record, applied once."""
    if not record.tenant:
        return []
    change = breakdown_share(record.tenant, record.new)
    change.subtract(breakdown_share(record.tenant, record.old))
    items: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for (pk, sk, counter), delta in sorted(change.items()):
        if delta:
            items.setdefault((pk, sk), []).append((counter, delta))
    return [Effect(pk, sk, tuple(add)) for (pk, sk), add in items.items()]
