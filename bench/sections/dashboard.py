"""/dashboard/today at 1,000 and at 20,000 leads with the same due items (issue 4).

The consultant's due work is fixed (leads due today, overdue, plans, today's trial
visits); what grows is everything else: other consultants' leads, this consultant's
leads due later, and past appointments. The dashboard must read what is due, not the
table: its consumed capacity at 20,000 leads should be about the same as at 1,000.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta

from bench import capacity, stats
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section
from bench.seeding import as_user, consultant, seed_leads

SMALL, LARGE = 1_000, int(os.environ.get("BENCH_DASHBOARD_N", "20000"))


@section(
    "dashboard", "Today's work (/dashboard/today) at 1,000 and 20,000 leads", order=60, skip_env="BENCH_SKIP_DASHBOARD"
)
def dashboard(ctx: Context) -> Result:
    from chalicelib.db import keys, telemetry
    from chalicelib.domain import clock

    stack = ctx.stack()
    notes: list[str] = []
    consultant_id, token = consultant(stack, "dash" + secrets.token_hex(3))
    others = [consultant(stack, f"other{i}" + secrets.token_hex(2))[0] for i in range(8)]
    call = as_user(stack, token)

    # The fixed due work: 20 leads due later today, 10 plans due today.
    soon = (clock.now() + timedelta(minutes=5)).isoformat()
    with stack.quiet(notes):
        for i in range(20):
            lead = call(
                "POST",
                "/leads",
                {"name": f"今日{i}", "guardians": [{"name": "家长", "phones": [f"137{secrets.randbelow(10**8):08d}"]}]},
                expect=201,
            ).json_body
            call(
                "POST",
                f"/leads/{lead['id']}/follow-ups",
                {"method": "phone", "content": "x", "next_follow_up_at": soon},
                expect=201,
            )
            if i < 10:
                call("POST", f"/leads/{lead['id']}/plans", {"planned_at": soon, "purpose": "回电"}, expect=201)

    rows, results, per_call = [], {}, {}
    for size in (SMALL, LARGE):
        done = results and max(results) or 0
        rate = seed_leads(stack, others, consultant_id, done, size)
        with stack.quiet(notes):
            for _ in range(5):
                call("GET", "/dashboard/today")  # warm
            samples = []
            for _ in range(30):
                began = time.perf_counter()
                call("GET", "/dashboard/today")
                samples.append((time.perf_counter() - began) * 1000)
            with telemetry.record() as rec:
                body = call("GET", "/dashboard/today").json_body
        baseline = []
        for _ in range(30):  # a bare boto3 Query of the consultant's due leads, same table, same run
            began = time.perf_counter()
            stack.ddb.query(
                TableName=stack.table["TableName"],
                IndexName="GSI2",
                Limit=100,
                KeyConditionExpression="GSI2PK = :p AND GSI2SK <= :t",
                ExpressionAttributeValues={
                    ":p": {"S": keys.owner_scope(stack.tenant, consultant_id, "")},
                    ":t": {"S": clock.iso(clock.now() + timedelta(days=1))},
                },
            )
            baseline.append((time.perf_counter() - began) * 1000)
        indexes = capacity.indexes_from_table(stack.table)
        cost = capacity.cost_calls(rec.calls, indexes=indexes)
        results[size] = cost.total
        per_call[size] = [
            {
                "operation": c.operation,
                "local": c.capacity_units,
                "count": (c.response or {}).get("Count"),
                **capacity.cost_call(c, indexes=indexes).as_dict(),
            }
            for c in rec.calls
        ]
        rows.append(
            {
                "size": f"{size:,} leads",
                "seed": rate,
                "due": body["contacts_due"]["count"],
                "plans": body["plans_due"]["count"],
                "queries": rec.operations.count("Query"),
                "calls": len(rec.calls),
                "local": rec.capacity_units,
                "rru": cost.rru,
                "wru": cost.wru + cost.gsi_wru,
                "rules": cost.total,
                "p50": stats.median(samples),
                "p95": stats.percentile(samples, 95),
                "ratio": stats.ratio(stats.median(samples), stats.median(baseline)),
            }
        )
    ratio = results[LARGE] / results[SMALL] if results[SMALL] else None
    table = Table(
        "GET /dashboard/today as one consultant; the due work is the same at both sizes",
        [
            Column("size", "table holds"),
            Column("seed", "seeded items/s", "{:.0f}"),
            Column("due", "due today"),
            Column("plans", "plans due"),
            Column("queries", "Query calls"),
            Column("calls", "DynamoDB calls"),
            Column("local", "Local CU", "{:.1f}"),
            Column("rru", "RRU", "{:.1f}"),
            Column("wru", "WRU (incl. GSI)", "{:.1f}"),
            Column("rules", "AWS rules total", "{:.1f}"),
            Column("p50", "p50 ms", "{:.1f}"),
            Column("p95", "p95 ms", "{:.1f}"),
            Column("ratio", "p50 / bare Query", "{:.1f}"),
        ],
        rows,
    )
    writes = sorted({c["operation"] for calls in per_call.values() for c in calls if c["wru"] or c["gsi_wru"]})
    notes.append(f"writes: {', '.join(writes) or 'none'} (a read's only write is its audit entry)")
    notes.append(f"capacity at {LARGE:,} / at {SMALL:,} leads: {ratio:.2f} (target near 1)" if ratio else "")
    return Result(
        tables=[table],
        notes=[n for n in notes if n],
        checks=[Check(f"dashboard capacity {LARGE:,} vs {SMALL:,} leads", ratio, 1.2, "x")],
        details={"rows": rows, "ratio": ratio, "calls": per_call},
    )
