"""Reports (查询统计) from the aggregates the stream processor keeps, and usage metering.

A report reads one aggregate item per period (a day for ranges up to 62 days, else whole
months) and dimension: a bounded number of reads, whatever the size of the school.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from chalicelib.db import keys
from chalicelib.db import leads as leads_db
from chalicelib.db import reports as reports_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, leads, receivables, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError, ValidationFailedError
from chalicelib.schemas.reports import (
    Attendance,
    BreakdownQuery,
    BreakdownReport,
    BreakdownRow,
    ConsultantRow,
    ConsultantsReport,
    FinanceComparison,
    FinancePeriod,
    FinanceReport,
    Funnel,
    ReferralsQuery,
    ReferralsReport,
    ReferrerRow,
    ReportQuery,
    SourceRow,
    SourcesReport,
    Usage,
)
from chalicelib.schemas.users import Role

if TYPE_CHECKING:
    from chalicelib.domain.config import TenantConfig

READERS = frozenset({Role.admin, Role.manager, Role.supervisor, Role.finance})
MAX_DAYS = 62
CYCLES = ("0_7", "8_30", "31_90", "91_")


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def period(principal: Principal, query: ReportQuery) -> ReportQuery:
    """The range a report answers for, its missing ends filled in the school's calendar:
    neither -> the 1st of this month .. today; only `to` -> the 1st of its month .. `to`;
    only `from` -> `from` .. today, or, past 62 days (read as whole months), to the end of
    this month, at most a year of whole months."""
    if query.from_ is not None and query.to is not None:
        return query
    if query.to is not None:
        lo, hi = query.to.replace(day=1), query.to
    else:
        today = clock.now().astimezone(ZoneInfo(get_tenant(principal.tenant).timezone)).date()
        lo = query.from_ or today.replace(day=1)
        hi = max(lo, today)
        if (hi - lo).days >= MAX_DAYS:
            year = lo + timedelta(days=366)
            last = _month_end(year) if _month_end(year) == year else year.replace(day=1) - timedelta(days=1)
            hi = min(_month_end(hi), last)
    return query.model_copy(update={"from_": lo, "to": hi})


def _ends(query: ReportQuery) -> tuple[date, date]:
    """The ends of a range `period` answered: both are filled in by then (the casts say so)."""
    return cast(date, query.from_), cast(date, query.to)


def periods(lo: date, hi: date) -> list[str]:
    """Days for a short range; whole months for a long one."""
    if (hi - lo).days < MAX_DAYS:
        return [(lo + timedelta(days=n)).isoformat() for n in range((hi - lo).days + 1)]
    last_of_month = (hi.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if lo.day != 1 or hi != last_of_month:
        raise _invalid("from", f"a range over {MAX_DAYS} days must run from the 1st of a month to the end of one")
    months, cursor = [], lo
    while cursor <= hi:
        months.append(cursor.isoformat()[:7])
        cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


def _campus(principal: Principal, campus: str | None) -> str | None:
    if principal.role not in READERS:
        raise ForbiddenError("Reports are for managers, supervisors, finance and admins.", code="ROLE_FORBIDDEN")
    return leads.campus_choice(principal, campus)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def funnel(principal: Principal, query: ReportQuery) -> Funnel:
    query = period(principal, query)
    campus, spans, found = _read(principal, query)
    dim = keys.dimension_sk("campus", campus) if campus else keys.ALL_DIMENSION
    total: Counter[str] = Counter()
    daily = []
    for p in spans:
        counts = found.get((keys.aggregate_pk(principal.tenant, p), dim), {})
        total.update({k: v for k, v in counts.items() if isinstance(v, int)})
        daily.append(
            {"period": p, "new_leads": counts.get("new_leads", 0), "conversions": counts.get("conversions", 0)}
        )
    return Funnel(
        from_=query.from_,
        to=query.to,
        campus=campus,
        new_leads=total["new_leads"],
        follow_ups=total["follow_ups"],
        follow_ups_by_method={k[len("follow_ups_") :]: v for k, v in total.items() if k.startswith("follow_ups_")},
        visits=_attendance(total, "visits"),
        trials=_attendance(total, "trials"),
        events=_attendance(total, "events"),
        conversions=total["conversions"],
        conversion_rate=_rate(total["conversions"], total["new_leads"]),
        cycle_days_average=round(total["cycle_days"] / total["conversions"], 1) if total["conversions"] else None,
        cycle_days={c: total[f"cycle_{c}"] for c in CYCLES},
        contracts=total["contracts"],
        contract_value=str(wallets.decimal(total["contract_value"])),
        revenue=str(wallets.decimal(total["revenue"])),
        refunds=str(wallets.decimal(total["refunds"])),
        credits_consumed=str(wallets.decimal(total["credits_consumed"])),
        daily=daily,
    )


def _attendance(total: Counter[str], kind: str) -> Attendance:
    return Attendance(
        booked=total[f"{kind}_booked"], arrived=total[f"{kind}_arrived"], no_show=total[f"{kind}_no_show"]
    )


def consultants(principal: Principal, query: ReportQuery) -> ConsultantsReport:
    """顾问销售效率: per consultant (and campus), one Query per period."""
    campus = _campus(principal, query.campus)
    query = period(principal, query)
    prefix = keys.dimension_sk("consultant", f"{campus}|" if campus else "")
    rows: dict[str, Counter[str]] = {}
    for p in periods(*_ends(query)):
        for sk, counts in reports_db.query(keys.aggregate_pk(principal.tenant, p), prefix).items():
            rows.setdefault(sk, Counter()).update({k: v for k, v in counts.items() if isinstance(v, int)})
    names = {u.id: u.display_name for u in users_db.active_records(principal.tenant)}
    items = []
    for sk, total in rows.items():
        campus_id, user_id = sk.split("#", 1)[1].split("|", 1)
        items.append(
            ConsultantRow(
                user_id=user_id,
                name=names.get(user_id, "公海" if user_id == "pool" else None),
                campus_id=campus_id,
                new_leads=total["new_leads"],
                follow_ups=total["follow_ups"],
                visits_arrived=total["visits_arrived"],
                trials_arrived=total["trials_arrived"],
                conversions=total["conversions"],
                conversion_rate=_rate(total["conversions"], total["new_leads"]),
                cycle_days_average=round(total["cycle_days"] / total["conversions"], 1)
                if total["conversions"]
                else None,
                contracts=total["contracts"],
                contract_value=str(wallets.decimal(total["contract_value"])),
            )
        )
    items.sort(key=lambda r: (-r.conversions, -r.follow_ups, r.user_id))
    return ConsultantsReport(from_=query.from_, to=query.to, campus=campus, items=items)


REFERRAL_ORDERS: dict[str, tuple[str, ...]] = {
    "signed": ("referrals_converted", "referrals", "referrals_value"),
    "referred": ("referrals", "referrals_converted", "referrals_value"),
    "amount": ("referrals_value", "referrals_converted", "referrals"),
}


def referrals(principal: Principal, query: ReferralsQuery) -> ReferralsReport:
    """转介绍排行: per referrer (a lead, or a member of staff), the leads it referred that
    were made in the period, those that signed in it and the money they signed in it, from
    the `referrer#<campus>|<lead or user:<id>>` aggregates (the campus of the referred lead),
    one Query per period. The ranking's referrers are read for their names: one BatchGetItem
    of its leads and one of its staff (`limit` at most between them); a referrer of a campus
    the caller does not see keeps its figures but not its name."""
    campus = _campus(principal, query.campus)
    query = cast(ReferralsQuery, period(principal, query))
    prefix = keys.dimension_sk("referrer", f"{campus}|" if campus else "")
    rows: dict[str, Counter[str]] = {}
    for p in periods(*_ends(query)):
        for sk, counts in reports_db.query(keys.aggregate_pk(principal.tenant, p), prefix).items():
            referrer = sk.split("#", 1)[1].split("|", 1)[1]
            rows.setdefault(referrer, Counter()).update({k: v for k, v in counts.items() if isinstance(v, int)})
    order = REFERRAL_ORDERS[query.sort]
    ranked = sorted(rows.items(), key=lambda kv: (*(-kv[1][name] for name in order), kv[0]))
    top = ranked[: query.limit]
    staff_ids = [r[len(keys.STAFF_REFERRER) :] for r, _ in top if r.startswith(keys.STAFF_REFERRER)]
    lead_ids = [r for r, _ in top if not r.startswith(keys.STAFF_REFERRER)]
    found = {lead.id: lead for lead in leads_db.batch_get(principal.tenant, lead_ids)} if lead_ids else {}
    staff = {user.id: user for user in users_db.batch_get(principal.tenant, staff_ids)}
    whole_school = principal.role is Role.admin or (principal.role is Role.finance and not principal.campus_ids)

    def row(referrer: str, total: Counter[str]) -> ReferrerRow:
        figures = {
            "referrals": total["referrals"],
            "conversions": total["referrals_converted"],
            "amount": str(wallets.decimal(total["referrals_value"])),
        }
        if referrer.startswith(keys.STAFF_REFERRER):
            user_id = referrer[len(keys.STAFF_REFERRER) :]
            user = staff.get(user_id)
            seen = user is not None and (
                whole_school or not user.campus_ids or bool(set(user.campus_ids) & set(principal.campus_ids))
            )
            return ReferrerRow(
                kind="staff", user_id=user_id, name=user.display_name if user and seen else None, **figures
            )
        lead = found.get(referrer)
        if lead is None or lead.deleted_at:
            return ReferrerRow(kind="lead", lead_id=referrer, **figures)
        seen = whole_school or lead.campus_id in principal.campus_ids
        return ReferrerRow(
            kind="lead", lead_id=referrer, name=lead.name if seen else None, campus_id=lead.campus_id, **figures
        )

    return ReferralsReport(
        from_=query.from_,
        to=query.to,
        campus=campus,
        referrers=len(rows),
        referrals=sum(t["referrals"] for t in rows.values()),
        conversions=sum(t["referrals_converted"] for t in rows.values()),
        amount=str(wallets.decimal(sum(t["referrals_value"] for t in rows.values()))),
        items=[row(referrer, total) for referrer, total in top],
    )


def _read(
    principal: Principal, query: ReportQuery
) -> tuple[str | None, list[str], dict[tuple[str, str], dict[str, Any]]]:
    campus = _campus(principal, query.campus)
    dim = keys.dimension_sk("campus", campus) if campus else keys.ALL_DIMENSION
    spans = periods(*_ends(query))
    return campus, spans, reports_db.get_many([(keys.aggregate_pk(principal.tenant, p), dim) for p in spans])


def sources(principal: Principal, query: ReportQuery) -> SourcesReport:
    """渠道分析 from the `source#` aggregates (school-wide: a lead's source is not per campus
    in the figures, so a campus filter is refused rather than answered wrongly)."""
    if query.campus:
        raise _invalid("campus", "the channel analysis is school-wide")
    if principal.role not in (Role.admin, Role.manager, Role.finance):
        raise ForbiddenError("The channel analysis is for managers, finance and admins.", code="ROLE_FORBIDDEN")
    query = period(principal, query)
    rows: dict[str, Counter[str]] = {}
    for p in periods(*_ends(query)):
        for sk, counts in reports_db.query(keys.aggregate_pk(principal.tenant, p), "source#").items():
            rows.setdefault(sk.split("#", 1)[1], Counter()).update(
                {k: v for k, v in counts.items() if isinstance(v, int)}
            )
    from chalicelib.domain import config
    from chalicelib.schemas.settings import DictionaryKind

    labels = {e.key: e.label for e in config.load(principal.tenant).dictionaries[DictionaryKind.sources].entries}
    items = [
        SourceRow(
            source=source,
            label=labels.get(source),
            new_leads=total["new_leads"],
            conversions=total["conversions"],
            conversion_rate=_rate(total["conversions"], total["new_leads"]),
            cycle_days_average=round(total["cycle_days"] / total["conversions"], 1) if total["conversions"] else None,
        )
        for source, total in rows.items()
    ]
    items.sort(key=lambda r: (-r.new_leads, r.source))
    return SourcesReport(from_=query.from_, to=query.to, items=items)


# The built-in lead fields the breakdown counts: (their list, their name as shown)
BREAKDOWN_FIELDS = {
    "source": ("sources", "客户来源"),
    "status": ("statuses", "客户状态"),
    "importance": ("importance", "重要程度"),
    "stage": ("stages", "销售进程"),
}


def breakdown(principal: Principal, query: BreakdownQuery) -> BreakdownReport:
    """七要素统计: leads made and members signed in the period by their current value of a list
    field (built-in or the school's own), from the `field#<field>|<campus>` aggregates: one
    BatchGetItem of the periods' items for a campus, one Query per period for the school."""
    from chalicelib.domain import config as config_domain

    campus = _campus(principal, query.campus)
    config = config_domain.load(principal.tenant)
    kind, label = _breakdown_field(config, query.field)
    query = cast(BreakdownQuery, period(principal, query))
    spans = periods(*_ends(query))
    items: list[dict[str, Any]] = []
    if campus:
        sk = keys.breakdown_sk(query.field, campus)
        found = reports_db.get_many([(keys.aggregate_pk(principal.tenant, p), sk) for p in spans])
        items = list(found.values())
    else:
        prefix = keys.breakdown_prefix(query.field)
        for p in spans:
            items += reports_db.query(keys.aggregate_pk(principal.tenant, p), prefix).values()
    totals: dict[str, Counter[str]] = {"leads": Counter(), "members": Counter()}
    for counts in items:
        for name, value in counts.items():
            figure, key = keys.breakdown_value(name)
            if figure in totals and isinstance(value, int):
                totals[figure][key] += value
    entries = config.dictionaries[kind].entries if kind in config.dictionaries else []
    listed = {e.key for e in entries}
    rows = [
        BreakdownRow(
            key=e.key,
            label=e.label,
            retired=e.retired,
            leads=totals["leads"][e.key],
            members=totals["members"][e.key],
        )
        for e in entries
    ]
    rows = [r for r in rows if not r.retired or r.leads or r.members]
    gone = sorted((set(totals["leads"]) | set(totals["members"])) - listed)
    rows += [BreakdownRow(key=k, leads=totals["leads"][k], members=totals["members"][k]) for k in gone]
    rows = [r for r in rows if r.key in listed or r.leads or r.members]
    rows.sort(key=lambda r: (-r.leads, -r.members))  # stable: the list's own order among equals
    return BreakdownReport(
        from_=query.from_,
        to=query.to,
        campus=campus,
        field=query.field,
        label=label,
        leads=sum(r.leads for r in rows),
        members=sum(r.members for r in rows),
        items=rows,
    )


def _breakdown_field(config: TenantConfig, field: str) -> tuple[str, str]:
    """(the field's list, its name as shown), or 400 naming the fields a breakdown can count."""
    if field in BREAKDOWN_FIELDS:
        return BREAKDOWN_FIELDS[field]
    own = config.lead_field(field)
    if own is not None and own.type == "list" and own.list:
        return own.list, own.label
    choices = [*BREAKDOWN_FIELDS, *(f.key for f in config.lead_fields if f.type == "list")]
    message = "not a list field" if own is not None else "no such field"
    raise ValidationFailedError(
        f"field: {field!r} is {message}; one of: {', '.join(choices)}.",
        details=[{"field": "field", "message": message, "choices": choices}],
    )


def finance(principal: Principal, query: ReportQuery) -> FinanceReport:
    """Receipts and refunds per period of the range (as the other reports read them), and
    the totals of the previous period (环比) and of the same period a year earlier (同比),
    each read as few aggregate items as cover it (whole months as month items, the rest as
    days): with the range's own, one BatchGetItem (two past 100 items)."""
    if principal.role not in (Role.admin, Role.manager, Role.finance):
        raise ForbiddenError("Finance reports are for finance, managers and admins.", code="ROLE_FORBIDDEN")
    query = period(principal, query)
    campus = _campus(principal, query.campus)
    dim = keys.dimension_sk("campus", campus) if campus else keys.ALL_DIMENSION
    lo, hi = _ends(query)
    spans = periods(lo, hi)
    before, year_ago = previous_period(lo, hi), same_period_last_year(lo, hi)
    others = [cover(*before), cover(*year_ago)]
    wanted = [keys.aggregate_pk(principal.tenant, p) for p in [*spans, *others[0], *others[1]]]
    found = reports_db.get_many([(pk, dim) for pk in wanted])

    def counts(p: str) -> dict[str, Any]:
        return found.get((keys.aggregate_pk(principal.tenant, p), dim), {})

    rows = [
        FinancePeriod(
            period=p,
            revenue=str(wallets.decimal(counts(p).get("revenue", 0))),
            payments=counts(p).get("revenue_count", 0),
            refunds=str(wallets.decimal(counts(p).get("refunds", 0))),
            refund_count=counts(p).get("refunds_count", 0),
        )
        for p in spans
    ]
    this = _money(counts, spans)
    compared = [
        _comparison(ends, this, _money(counts, items)) for ends, items in zip((before, year_ago), others, strict=True)
    ]
    return FinanceReport(
        from_=lo,
        to=hi,
        campus=campus,
        revenue=str(wallets.decimal(this["revenue"])),
        payments=this["revenue_count"],
        refunds=str(wallets.decimal(this["refunds"])),
        refund_count=this["refunds_count"],
        net=str(wallets.decimal(this["revenue"] - this["refunds"])),
        periods=rows,
        previous=compared[0],
        last_year=compared[1],
        ageing=receivables.ageing(principal.tenant, campus),
    )


MONEY = ("revenue", "revenue_count", "refunds", "refunds_count")


def _money(counts: Callable[[str], dict[str, Any]], spans: list[str]) -> Counter[str]:
    """The money figures of these aggregate items added up."""
    total: Counter[str] = Counter()
    for p in spans:
        total.update({k: int(counts(p).get(k, 0)) for k in MONEY})
    return total


def _change(now: int, then: int) -> tuple[str, float | None]:
    return str(wallets.decimal(now - then)), (round((now - then) / abs(then), 4) if then else None)


def _comparison(ends: tuple[date, date], this: Counter[str], that: Counter[str]) -> FinanceComparison:
    revenue_change, revenue_rate = _change(this["revenue"], that["revenue"])
    net_change, net_rate = _change(this["revenue"] - this["refunds"], that["revenue"] - that["refunds"])
    return FinanceComparison(
        from_=ends[0],
        to=ends[1],
        revenue=str(wallets.decimal(that["revenue"])),
        payments=that["revenue_count"],
        refunds=str(wallets.decimal(that["refunds"])),
        refund_count=that["refunds_count"],
        net=str(wallets.decimal(that["revenue"] - that["refunds"])),
        revenue_change=revenue_change,
        revenue_change_rate=revenue_rate,
        net_change=net_change,
        net_change_rate=net_rate,
    )


def _months_back(day: date, months: int, *, month_end: bool = False) -> date:
    """`day` moved `months` back in the calendar; a day past the month's end is its last
    day, and with `month_end` the result is the end of its month."""
    index = day.year * 12 + day.month - 1 - months
    first = date(index // 12, index % 12 + 1, 1)
    last = _month_end(first)
    return last if month_end else first.replace(day=min(day.day, last.day))


def previous_period(lo: date, hi: date) -> tuple[date, date]:
    """环比: from the 1st of a month, the same stretch of the months just before (March 1-15:
    February 1-15; March: February; a quarter: the quarter before); otherwise as many days
    just before."""
    if lo.day == 1:
        months = (hi.year * 12 + hi.month) - (lo.year * 12 + lo.month) + 1
        return _months_back(lo, months), _months_back(hi, months, month_end=hi == _month_end(hi))
    days = (hi - lo).days + 1
    return lo - timedelta(days=days), lo - timedelta(days=1)


def same_period_last_year(lo: date, hi: date) -> tuple[date, date]:
    """同比: the same dates a year earlier; 29 February is the 28th, a month's end stays one."""
    return _months_back(lo, 12), _months_back(hi, 12, month_end=hi == _month_end(hi))


def cover(lo: date, hi: date) -> list[str]:
    """The fewest aggregate items whose figures add up to lo..hi: its whole months as month
    items ("2026-03"), the days outside them as day items."""
    found, day = [], lo
    while day <= hi:
        end = _month_end(day)
        if day.day == 1 and end <= hi:
            found.append(day.isoformat()[:7])
            day = end + timedelta(days=1)
        else:
            found.append(day.isoformat())
            day += timedelta(days=1)
    return found


def usage(tenant: str, month: str) -> Usage:
    """One school's month: one Query of its usage partition (a row per month)."""
    months = reports_db.query(keys.usage_pk(tenant))
    this = months.get(month, {})
    alive = sum(int(row.get("leads_change", 0)) for m, row in months.items() if m <= month)
    return Usage(
        tenant=tenant,
        month=month,
        api_requests=int(this.get("api_requests", 0)),
        sms=int(this.get("sms", 0)),
        sms_segments=int(this.get("sms_segments", 0)),
        emails=int(this.get("emails", 0)),
        active_leads=alive,
    )


CHECKED = ("follow_ups", "contracts", "contract_value", "revenue", "refunds")


def self_check(at: datetime, only: str | None = None, hour: int = 3) -> dict[str, int]:
    """Nightly, at 03:00 school time: recount yesterday's figures from the source items and
    record any difference from the stream's aggregates (a drift is logged and kept beside
    the day's figures as `check#all`)."""
    from chalicelib.db import tenants as tenants_db
    from chalicelib.observability import count, logger

    checked = drifted = 0
    cursor = None
    while True:
        page, cursor = tenants_db.list_all(100, cursor)
        for tenant in page:
            local = at.astimezone(ZoneInfo(tenant.timezone))
            if (only is not None and tenant.slug != only) or (only is None and local.hour != hour):
                continue
            day = local.date() - timedelta(days=1)
            start = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(tenant.timezone))
            lo, hi = clock.iso(start), clock.iso(start + timedelta(days=1) - timedelta(milliseconds=1))
            campuses = [c.id for c in tenants_db.list_campuses(tenant.slug, 100, None)[0]]
            recount = reports_db.recount_day(tenant.slug, campuses, lo, hi, day.isoformat())
            pk = keys.aggregate_pk(tenant.slug, day.isoformat())
            kept = reports_db.get_many([(pk, keys.ALL_DIMENSION), (pk, reports_db.CHECK_SK)])  # one BatchGetItem
            figures = kept.get((pk, keys.ALL_DIMENSION), {})
            names = set(CHECKED) | {k for k in recount if k.startswith("follow_ups_")}
            drift = {n: int(figures.get(n, 0)) - int(recount.get(n, 0)) for n in names}
            drift = {n: d for n, d in drift.items() if d}
            reports_db.record_check(
                tenant.slug, day.isoformat(), drift, clock.iso(at), kept=kept.get((pk, reports_db.CHECK_SK))
            )
            checked += 1
            if drift:
                drifted += 1
                logger.warning("report drift", extra={"tenant": tenant.slug, "day": day.isoformat(), "drift": drift})
                count("ReportDrift", 1)
        if not cursor:
            return {"checked": checked, "drifted": drifted}
