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

SMALL, LARGE = 1_000, int(os.environ.get("BENCH_DASHBOARD_N", "20000"))


def _seed_background(stack, owners: list[str], mine: str, start: int, stop: int) -> float:
    """Leads numbered [start, stop): 80% other consultants', 20% this consultant's but due next
    month; one past visit per 10 leads. Written with BatchWriteItem; returns items per second."""
    from chalicelib.db import leads as leads_db
    from chalicelib.db import schedule as schedule_db
    from chalicelib.db.items import LeadItem
    from chalicelib.domain import clock, ids
    from chalicelib.schemas.leads import Guardian, Lead, Phone
    from chalicelib.schemas.schedule import Appointment

    now = clock.now()
    began, written = time.perf_counter(), 0
    with LeadItem.batch_write() as batch:
        for n in range(start, stop):
            owner = mine if n % 5 == 0 else owners[n % len(owners)]
            lead_id = ids.new_id()
            lead = Lead(
                id=lead_id,
                name=f"背景学员{n}",
                family_id=lead_id,
                campus_id=stack.campus_id,
                owner_id=owner,
                owner_name="x",
                owned_since=now,
                status="potential",
                created_by=owner,
                created_at=now,
                updated_at=now,
                next_follow_up_at=now + timedelta(days=30 + n % 30),
                guardians=[Guardian(name="家长", phones=[Phone(e164=f"+86139{n:08d}", raw=f"139{n:08d}")])],
            )
            batch.save(leads_db._item(stack.tenant, lead))
            written += 1
            if n % 10 == 0:
                visit = Appointment(
                    id=f"{lead_id}-{ids.new_id()}",
                    lead_id=lead_id,
                    lead_name=lead.name,
                    kind="visit",
                    at=now - timedelta(days=1 + n % 300),
                    campus_id=stack.campus_id,
                    owner_id=owner,
                    status="booked",
                    booked_by=owner,
                    created_at=now,
                )
                batch.save(schedule_db.appointment_item(stack.tenant, visit))
                written += 1
    return written / (time.perf_counter() - began)


def _consultant(stack, name: str) -> tuple[str, str]:
    password = "bench-pass-" + secrets.token_hex(6)
    user = stack.call(
        "POST",
        "/users",
        {
            "username": name,
            "password": password,
            "display_name": name,
            "role": "consultant",
            "campus_ids": [stack.campus_id],
        },
        expect=201,
    ).json_body
    token = stack.login(name, password).json_body["token"]
    return user["id"], token


@section(
    "dashboard", "Today's work (/dashboard/today) at 1,000 and 20,000 leads", order=60, skip_env="BENCH_SKIP_DASHBOARD"
)
def dashboard(ctx: Context) -> Result:
    from chalicelib.db import keys, telemetry
    from chalicelib.domain import clock

    stack = ctx.stack()
    notes: list[str] = []
    consultant_id, token = _consultant(stack, "dash" + secrets.token_hex(3))
    others = [_consultant(stack, f"other{i}" + secrets.token_hex(2))[0] for i in range(8)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method, path, body=None, expect=200):
        import json

        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        response = stack.http.request(method, path, headers=headers, body=raw)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.body[:200]!r}")
        return response

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

    rows, results = [], {}
    for size in (SMALL, LARGE):
        done = results and max(results) or 0
        rate = _seed_background(stack, others, consultant_id, done, size)
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
        rows.append(
            {
                "size": f"{size:,} leads",
                "seed": rate,
                "due": body["contacts_due"]["count"],
                "plans": body["plans_due"]["count"],
                "queries": rec.operations.count("Query"),
                "calls": len(rec.calls),
                "local": rec.capacity_units,
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
            Column("rules", "RRU (AWS rules)", "{:.1f}"),
            Column("p50", "p50 ms", "{:.1f}"),
            Column("p95", "p95 ms", "{:.1f}"),
            Column("ratio", "p50 / bare Query", "{:.1f}"),
        ],
        rows,
    )
    notes.append(f"capacity at {LARGE:,} / at {SMALL:,} leads: {ratio:.2f} (target near 1)" if ratio else "")
    return Result(
        tables=[table],
        notes=[n for n in notes if n],
        checks=[Check(f"dashboard capacity {LARGE:,} vs {SMALL:,} leads", ratio, 1.2, "x")],
        details={"rows": rows, "ratio": ratio},
    )
