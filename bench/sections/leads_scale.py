"""Create a lead and list 50 leads at 1,000 and at 10,000 leads in the table (issue 3).

Each list page must be a bounded number of Query calls whatever the size of the table;
latency is a ratio to a bare boto3 Query of 50 items on the same index and partition.
"""

from __future__ import annotations

import os
import secrets

from bench import capacity, stats
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section
from bench.seeding import as_user, consultant, seed_leads, timed

SMALL, LARGE = 1_000, int(os.environ.get("BENCH_LEADS_N", "10000"))
RUNS = 30


@section("leads", "Leads: create one, list 50, at 1,000 and 10,000 leads", order=50, skip_env="BENCH_SKIP_LEADS")
def leads_at_scale(ctx: Context) -> Result:
    from chalicelib.db import keys, telemetry

    stack = ctx.stack()
    notes: list[str] = []
    me, token = consultant(stack, "leads" + secrets.token_hex(3))
    others = [consultant(stack, f"lo{i}" + secrets.token_hex(2))[0] for i in range(8)]
    call = as_user(stack, token)
    admin = as_user(stack, stack.token)

    def create():
        body = {"name": "新学员", "guardians": [{"name": "家长", "phones": [f"136{secrets.randbelow(10**8):08d}"]}]}
        call("POST", "/leads", body, expect=201)

    routes = {
        "POST /leads": create,
        "GET /leads?limit=50 (consultant: own + pool)": lambda: call("GET", "/leads?limit=50"),
        "GET /leads?limit=50 (admin: the campus)": lambda: admin("GET", "/leads?limit=50"),
        "GET /leads?limit=50&status=intent (a filter)": lambda: call("GET", "/leads?limit=50&status=intent"),
    }

    def three_pages():
        cursor = None
        for _ in range(3):
            page = call("GET", "/leads?limit=50" + (f"&cursor={cursor}" if cursor else "")).json_body
            cursor = page["next_cursor"]

    routes["3 pages of 50 (consultant, following next_cursor)"] = three_pages

    def bare_query():
        stack.ddb.query(
            TableName=stack.table["TableName"],
            IndexName="GSI1",
            Limit=50,
            ScanIndexForward=False,
            KeyConditionExpression="GSI1PK = :p",
            ExpressionAttributeValues={":p": {"S": keys.owner_scope(stack.tenant, me, "")}},
        )

    rows, by_size = [], {}
    indexes = capacity.indexes_from_table(stack.table)
    done = 0
    for size in (SMALL, LARGE):
        rate = seed_leads(stack, others, me, done, size)
        done = size
        baseline = stats.median(timed(bare_query, RUNS))
        with stack.quiet(notes):
            for name, fn in routes.items():
                fn()  # warm
                samples = timed(fn, RUNS)
                with telemetry.record() as rec:
                    fn()
                cost = capacity.cost_calls(rec.calls, indexes=indexes)
                by_size[(size, name)] = (cost.total, rec.operations.count("Query"))
                rows.append(
                    {
                        "size": f"{size:,}",
                        "route": name,
                        "queries": rec.operations.count("Query"),
                        "calls": len(rec.calls),
                        "local": rec.capacity_units,
                        "rules": cost.total,
                        "p50": stats.median(samples),
                        "p95": stats.percentile(samples, 95),
                        "ratio": stats.ratio(stats.median(samples), baseline),
                        "approx": "lower bound" if cost.approximate else "",
                    }
                )
        notes.append(f"at {size:,} leads: seeded {rate:.0f} items/s; bare Query of 50 p50 {baseline:.2f} ms")
    checks = []
    for name in routes:
        small, large = by_size[(SMALL, name)], by_size[(LARGE, name)]
        if name.startswith("GET") or name.startswith("3 pages"):
            checks.append(Check(f"{name}: Query calls at {LARGE:,} minus at {SMALL:,}", large[1] - small[1], 0))
            checks.append(
                Check(f"{name}: capacity {LARGE:,} / {SMALL:,}", large[0] / small[0] if small[0] else None, 1.2, "x")
            )
    table = Table(
        "per call (request units: Local = DynamoDB Local's ConsumedCapacity; rules = AWS's published rules)",
        [
            Column("size", "leads"),
            Column("route", "route"),
            Column("queries", "Query calls"),
            Column("calls", "DynamoDB calls"),
            Column("local", "Local CU", "{:.1f}"),
            Column("rules", "RU (AWS rules)", "{:.1f}"),
            Column("p50", "p50 ms", "{:.1f}"),
            Column("p95", "p95 ms", "{:.1f}"),
            Column("ratio", "p50 / bare Query", "{:.1f}"),
            Column("approx", "rules figure"),
        ],
        rows,
    )
    return Result(tables=[table], notes=notes, checks=checks, details={"rows": rows})
