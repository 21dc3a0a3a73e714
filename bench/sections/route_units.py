"""Request units of the calls a school pays for most, by AWS's rules, against their goals.

Each route is called twice to warm the container (connections, per-container caches, the
once-per-school marking of a list value as used), then once more under
`telemetry.record()`; every DynamoDB call of that third request is priced by
`bench.capacity` with the table's own index projections (DescribeTable), the audit entry
and the index copies included. The figures:

* GET /leads/{id}: read and write units of one lead page, as an admin (no read window) and
  as a consultant (whose customer reads also fetch the anti-scraping window counters).
* GET /leads/{id} with 300 follow-ups against the same page of a lead with none: the page
  must not read the history (ratio of read units).
* POST /leads, a trial booking (POST /leads/{id}/appointments, kind trial) and a 1-credit
  card deduction (POST /cards/{id}/movements): write units.
* Reads before the work: round trips of a warm request that read only the caller's user
  item, the tenant item or the school's settings (CONFIG#...) items, over a consultant's
  routes. A round trip that also reads what the route works on (a lead, the read-window
  counters) is part of the work and not counted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench import capacity
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section
from bench.seeding import as_user, consultant

HISTORY = 300


def _phone() -> str:
    return f"139{secrets.randbelow(10**8):08d}"


def _identity_key(key: dict[str, Any], tenant: str) -> bool:
    from chalicelib.db import keys

    pk, sk = key.get("PK", {}).get("S", ""), key.get("SK", {}).get("S", "")
    if pk == keys.users_pk(tenant) and sk.startswith(keys.USER_PREFIX):
        return True
    return pk.startswith(f"T#{tenant}") and (sk == keys.TENANT_SK or sk.startswith(keys.CONFIG_PREFIX))


def _identity_only(call: Any, tenant: str) -> bool:
    """A round trip that reads nothing but the caller, the tenant or the school's settings."""
    params = call.params
    if call.operation == "GetItem":
        return _identity_key(params.get("Key") or {}, tenant)
    if call.operation == "BatchGetItem":
        wanted = [k for request in (params.get("RequestItems") or {}).values() for k in request.get("Keys") or []]
        return bool(wanted) and all(_identity_key(k, tenant) for k in wanted)
    if call.operation == "Query":  # the tenant partition's CONFIG# items, read with one Query
        from chalicelib.db import keys

        strings = [v.get("S", "") for v in (params.get("ExpressionAttributeValues") or {}).values()]
        return any(s.startswith(f"T#{tenant}") for s in strings) and keys.CONFIG_PREFIX in strings
    return False


def _record(run: Callable[[], object]) -> list[Any]:
    from chalicelib.db import telemetry

    run()  # warm: the container's caches and connections as in steady state; the first use of
    run()  # a list value (a follow-up method) marks it used once and re-reads the settings once
    with telemetry.record() as rec:
        run()
    return [c for c in rec.calls if c.operation in capacity.READ_OPERATIONS | capacity.WRITE_OPERATIONS]


def _goal_row(figure: str, value: float, unit: str, goal: float | None, baseline: str, base: float | None = None):
    limit = goal if base is None else base
    return {
        "figure": figure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_value": limit,
        "ratio": (value / limit) if limit else None,
        "goal": goal,
    }


@section("route_units", "Request units of the lead page and the main writes, against the goals", order=35)
def route_units(ctx: Context) -> Result:
    stack = ctx.stack()
    indexes = capacity.indexes_from_table(stack.table)
    tenant = stack.tenant
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    calls_of: dict[str, list[Any]] = {}

    def price(label: str, run: Callable[[], object]) -> capacity.Cost:
        with stack.quiet(notes):
            calls = _record(run)
        calls_of[label] = calls
        return capacity.cost_calls(calls, indexes=indexes)

    with stack.quiet(notes):
        user_id, token = consultant(stack, "units" + secrets.token_hex(3))
        mine = as_user(stack, token)
        quiet_lead = mine(
            "POST",
            "/leads",
            {"name": "单元测算", "campus_id": stack.campus_id, "guardians": [{"name": "家长", "phones": [_phone()]}]},
            expect=201,
        ).json_body["id"]
        busy_lead = mine(
            "POST",
            "/leads",
            {"name": "长历史", "campus_id": stack.campus_id, "guardians": [{"name": "家长", "phones": [_phone()]}]},
            expect=201,
        ).json_body["id"]
        for n in range(HISTORY):
            mine(
                "POST",
                f"/leads/{busy_lead}/follow-ups",
                {"method": "phone", "content": f"第 {n + 1} 次跟进：家长想了解课程"},
                expect=201,
            )

    def admin_get(lead: str) -> Callable[[], object]:
        return lambda: stack.call("GET", f"/leads/{lead}")

    page = price("GET /leads/{id}, admin", admin_get(quiet_lead))
    rows.append(_goal_row("GET /leads/{id}, admin: read units", page.rru, "RRU", 0.5, "goal"))
    rows.append(_goal_row("GET /leads/{id}, admin: write units", page.wru + page.gsi_wru, "WRU", 1.0, "goal"))
    as_consultant = price("GET /leads/{id}, consultant", lambda: mine("GET", f"/leads/{quiet_lead}"))
    rows.append(_goal_row("GET /leads/{id}, consultant: read units", as_consultant.rru, "RRU", 0.5, "goal"))
    rows.append(
        _goal_row(
            "GET /leads/{id}, consultant: write units", as_consultant.wru + as_consultant.gsi_wru, "WRU", 1.0, "goal"
        )
    )
    busy = price(f"GET /leads/{{id}} with {HISTORY} follow-ups, admin", admin_get(busy_lead))
    rows.append(
        _goal_row(
            f"GET /leads/{{id}} with {HISTORY} follow-ups: read units",
            busy.rru,
            "RRU",
            1.1,
            "the same page of a lead with no follow-ups",
            page.rru,
        )
    )

    def new_lead() -> object:
        body = {"name": "新线索", "campus_id": stack.campus_id, "guardians": [{"name": "家长", "phones": [_phone()]}]}
        return mine("POST", "/leads", body, expect=201)

    created = price("POST /leads", new_lead)
    rows.append(_goal_row("POST /leads: write units", created.wru + created.gsi_wru, "WRU", 10.0, "goal"))

    with stack.quiet(notes):
        session = _trial_session(stack)
        learners = [new_lead().json_body["id"] for _ in range(3)]
    booked = iter(learners)

    def book() -> object:
        return mine("POST", f"/leads/{next(booked)}/appointments", {"kind": "trial", "session_id": session}, expect=201)

    trial = price("POST /leads/{id}/appointments (trial)", book)
    rows.append(_goal_row("trial booking: write units", trial.wru + trial.gsi_wru, "WRU", 8.0, "goal"))

    with stack.quiet(notes):
        card = _card(stack, quiet_lead)
    deduction = price(
        "POST /cards/{id}/movements (deduction)",
        lambda: stack.call("POST", f"/cards/{card}/movements", {"kind": "deduction", "credits": "1"}, expect=201),
    )
    rows.append(_goal_row("card deduction: write units", deduction.wru + deduction.gsi_wru, "WRU", 5.0, "goal"))

    before = 0
    routes = {
        "GET /leads/{id}": lambda: mine("GET", f"/leads/{quiet_lead}"),
        "GET /leads?limit=20": lambda: mine("GET", "/leads?limit=20"),
        "POST /leads/{id}/follow-ups": lambda: mine(
            "POST", f"/leads/{quiet_lead}/follow-ups", {"method": "phone", "content": "再次联系"}, expect=201
        ),
        "POST /leads": new_lead,
        "GET /dashboard/today": lambda: mine("GET", "/dashboard/today"),
    }
    per_route = []
    for label, run in routes.items():
        with stack.quiet(notes):
            calls = _record(run)
        extra = [c.operation for c in calls if _identity_only(c, tenant)]
        before += len(extra)
        per_route.append(
            {"route": label, "calls": len(calls), "identity": len(extra), "which": ", ".join(extra) or "-"}
        )
    rows.append(
        _goal_row(
            f"reads before the work, warm container ({len(routes)} consultant routes): round trips",
            float(before),
            "calls",
            0.0,
            "goal",
        )
    )

    detail = []
    for label, calls in calls_of.items():
        for call in calls:
            cost = capacity.cost_call(call, indexes=indexes)
            detail.append(
                {
                    "route": label,
                    "operation": call.operation,
                    "rru": cost.rru,
                    "wru": cost.wru,
                    "gsi_wru": cost.gsi_wru,
                    "notes": "; ".join(cost.notes),
                }
            )
    projections = ", ".join(f"{name} {getattr(keys, 'projection', 'ALL')}" for name, keys in indexes.items())
    notes.append(f"index projections priced (from DescribeTable): {projections}")
    checks = [  # against the goal itself, or (a ratio) against the baseline measured here
        Check(r["figure"], r["value"], r["goal"], r["unit"])
        if r["baseline"] == "goal"
        else Check(f"{r['figure']} / {r['baseline']}", r["ratio"], r["goal"], "x")
        for r in rows
    ]
    return Result(
        tables=[
            Table(
                "Request units by AWS rules (warm container, second call recorded)",
                [
                    Column("figure", "figure"),
                    Column("value", "value", "{:g}"),
                    Column("unit", "unit"),
                    Column("baseline", "against"),
                    Column("baseline_value", "of", "{:g}"),
                    Column("ratio", "ratio", "{:.2f}"),
                ],
                rows,
            ),
            Table(
                "Round trips of a warm request that read only the caller, the tenant or settings",
                [
                    Column("route", "route"),
                    Column("calls", "DynamoDB calls"),
                    Column("identity", "identity-only"),
                    Column("which", "which"),
                ],
                per_route,
            ),
            Table(
                "per DynamoDB call",
                [
                    Column("route", "route"),
                    Column("operation", "operation"),
                    Column("rru", "RRU", "{:g}"),
                    Column("wru", "WRU", "{:g}"),
                    Column("gsi_wru", "GSI WRU", "{:g}"),
                    Column("notes", "notes"),
                ],
                detail,
            ),
        ],
        notes=notes,
        checks=checks,
        details={"rows": rows, "reads_before": per_route, "calls": detail, "consultant": user_id},
    )


def _trial_session(stack) -> str:
    """A session of a big class a week ahead (school time), bookable for trials."""
    day = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=7)).isoformat()
    weekday = date.fromisoformat(day).isoweekday()
    course = stack.call("POST", "/courses", {"name": "测算课程", "lesson_cost": "1"}, expect=201).json_body["id"]
    klass = stack.call(
        "POST",
        "/classes",
        {
            "course_id": course,
            "campus_id": stack.campus_id,
            "teacher": "刘老师",
            "capacity": 50,
            "slots": [{"weekday": weekday, "start": "10:00", "end": "11:00"}],
            "start_date": day,
            "end_date": day,
        },
        expect=201,
    ).json_body["id"]
    sessions = stack.call("POST", f"/classes/{klass}/sessions", {"from": day, "to": day}, expect=201).json_body
    return sessions["sessions"][0]["id"]


def _card(stack, lead: str) -> str:
    today = date.today()
    contract = stack.call(
        "POST",
        "/contracts",
        {
            "lead_ids": [lead],
            "credits": "1000",
            "price": "9600.00",
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(),
        },
        expect=201,
    ).json_body["id"]
    return stack.call("POST", "/cards", {"holder_lead_id": lead, "contract_ids": [contract]}, expect=201).json_body[
        "id"
    ]
