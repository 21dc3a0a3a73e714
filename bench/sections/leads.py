"""Leads at scale (issue 3): create one lead and list 50, at 1,000 and at 10,000 leads.

The section seeds its own school (a tenant with one campus, an admin, a manager, the
consultant being measured, a colleague who creates leads and seven more consultants) so
what other sections seed does not change its sizes. Leads are written straight to the
table with BatchWriteItem (`LeadItem.batch_write()`, items built by `db.leads.lead_item` from
`Lead` entities, each with its phone claim), never through 10,000 HTTP calls.

The consultant's own scope is the same at both sizes: 200 leads of their own and 100 in
the campus pool. Everything else (others' leads) grows, so the campus partition that a
manager lists holds the whole table. Each list page must cost the same at both sizes: a
bounded number of Queries of `limit` items, whatever the table holds.

Every figure goes through the Chalice handler (`chalice.test.Client`, in process), timed
interleaved with a bare boto3 Query (Limit=50) of the same index partition, in the same
run; capacity per call from `telemetry.record()`, as DynamoDB Local reports it and as
`bench.capacity` prices it by AWS's rules.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from bench import capacity, stats
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section
from bench.seeding import as_user

SMALL = 1_000
MINE = 200  # the consultant's own leads, the same at every size
POOL = 100  # leads in the campus pool (the consultant sees them too), the same at every size
OTHERS = 8  # other consultants who own the rest (one of them creates the timed leads)
INTENT_EVERY = 10  # one seeded lead in ten has status "intent": the filtered list keeps about 5 of 50
PAGES = 3
WARMUP = 5
SEED_THREADS = 4  # concurrent BatchWriteItem writers while seeding


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


@dataclass
class School:
    tenant: str
    campus_id: str
    admin: Callable[..., Any]  # `call(method, path, body=None, expect=200)` as that user
    manager: Callable[..., Any]
    consultant: Callable[..., Any]
    creator: Callable[..., Any]  # a colleague: the leads POST /leads creates are not the consultant's
    consultant_id: str
    others: list[str]  # consultants owning the background leads (creator first)
    leads: int = 0  # leads in the tenant: seeded plus created
    phones: int = 0  # numbers handed out to POST /leads so far


# --- the school ----------------------------------------------------------------------


def _login(stack, tenant: str, username: str, password: str) -> str:
    body = {"tenant": tenant, "username": username, "password": password}
    return stack.call("POST", "/auth/login", body, auth=False).json_body["token"]


def _school(stack) -> School:
    from chalicelib.domain.tenants import create_tenant

    tenant = "leads-" + secrets.token_hex(3)
    password = "bench-pass-" + secrets.token_hex(6)
    create_tenant(
        slug=tenant,
        name="线索基准学校",
        timezone="Asia/Shanghai",
        phone_region="CN",
        admin_username="admin",
        admin_password=password,
    )
    admin = as_user(stack, _login(stack, tenant, "admin", password))
    campus_id = admin("POST", "/campuses", {"name": "福田校区"}, expect=201).json_body["id"]

    def user(username: str, role: str, *, login: bool) -> tuple[str, Callable[..., Any] | None]:
        body = {
            "username": username,
            "password": password,
            "display_name": "员工 " + username,
            "role": role,
            "campus_ids": [campus_id],
        }
        user_id = admin("POST", "/users", body, expect=201).json_body["id"]
        return user_id, as_user(stack, _login(stack, tenant, username, password)) if login else None

    _, manager = user("manager", "manager", login=True)
    consultant_id, consultant = user("consultant", "consultant", login=True)
    creator_id, creator = user("colleague", "consultant", login=True)
    others = [creator_id] + [user(f"other{i}", "consultant", login=False)[0] for i in range(OTHERS - 1)]
    return School(tenant, campus_id, admin, manager, consultant, creator, consultant_id, others)


# --- seeding -------------------------------------------------------------------------


def _write_leads(school: School, numbered: list[tuple[int, str | None]]) -> int:
    """Lead n for each (n, owner) (owner None: the campus pool), with its phone claim, in one
    `LeadItem.batch_write()` (BatchWriteItem, 25 items a call). Returns the items written."""
    from chalicelib.db import keys
    from chalicelib.db import leads as leads_db
    from chalicelib.db.items import LeadItem, PhoneItem
    from chalicelib.domain import clock, ids
    from chalicelib.schemas.leads import Guardian, Lead, Phone

    now = clock.now()
    items = 0
    with LeadItem.batch_write() as batch:
        for n, owner in numbered:
            rng = random.Random(n)
            lead_id = ids.new_id()
            created = now - timedelta(seconds=rng.randrange(1, 180 * 86400))  # the last six months
            raw = f"139{n:08d}"
            lead = Lead(
                id=lead_id,
                name=f"背景学员{n}",
                family_id=lead_id,
                campus_id=school.campus_id,
                owner_id=owner,
                owner_name=f"员工 {owner[:6]}" if owner else None,
                owned_since=created if owner else None,
                reclaim_on=(now + timedelta(days=1 + n % 30)).date() if owner else None,
                status="intent" if n % INTENT_EVERY == 3 else "potential",
                created_by=owner or school.others[0],
                created_at=created,
                updated_at=created,
                next_follow_up_at=now + timedelta(days=n % 60) if n % 4 else None,
                guardians=[Guardian(name="家长", relation="mother", phones=[Phone(e164="+86" + raw, raw=raw)])],
            )
            batch.save(leads_db.lead_item(school.tenant, lead))
            claim = PhoneItem(
                keys.phone_pk(school.tenant, "+86" + raw), keys.UNIQUE_SK, family_id=lead_id, lead_ids=[lead_id]
            )
            batch.save(claim)
            items += 2
    return items


def _seed(school: School, owners: list[str | None]) -> dict[str, Any]:
    """One lead per entry of `owners`, numbered on from the leads already there, written by
    SEED_THREADS batch writers at once (DynamoDB Local is the bottleneck: it indexes every
    lead in four GSIs and the DUE index). Returns counts and the rate."""
    numbered = list(enumerate(owners, start=school.leads))
    chunks = [numbered[i::SEED_THREADS] for i in range(SEED_THREADS)]
    began = time.perf_counter()
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        items = sum(pool.map(lambda chunk: _write_leads(school, chunk), chunks))
    seconds = time.perf_counter() - began
    school.leads += len(owners)
    return {
        "leads": len(owners),
        "items": items,
        "seconds": seconds,
        "rate": items / seconds if seconds else None,
        "lead_rate": len(owners) / seconds if seconds else None,
    }


def _count(stack, index: str, partition: str) -> int:
    """Items in one index partition (Select=COUNT, paginated), with the bare client."""
    total, start = 0, None
    while True:
        params = {
            "TableName": stack.table["TableName"],
            "IndexName": index,
            "Select": "COUNT",
            "KeyConditionExpression": f"{index}PK = :p",
            "ExpressionAttributeValues": {":p": {"S": partition}},
        }
        if start:
            params["ExclusiveStartKey"] = start
        response = stack.ddb.query(**params)
        total += response["Count"]
        start = response.get("LastEvaluatedKey")
        if not start:
            return total


# --- timing --------------------------------------------------------------------------


def _interleaved(ops: dict[str, Callable[[], Any]], targets: dict[str, int], block: int = 10) -> dict[str, list[float]]:
    """Seconds per call of each op: `bench.stats.interleaved` with a sample count per op.
    Each op is warmed up WARMUP times; then the ops take turns, `block` calls at a time, the
    order rotating every round, until each has its count, so drift hits all of them alike."""
    for fn in ops.values():
        for _ in range(WARMUP):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in ops}
    names, turn = list(ops), 0
    while any(len(samples[n]) < targets[n] for n in names):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            fn, out = ops[name], samples[name]
            for _ in range(min(block, targets[name] - len(out))):
                began = time.perf_counter()
                fn()
                out.append(time.perf_counter() - began)
        turn += 1
    return samples


def _newest(stack, index: str, partitions: list[str], n: int) -> list[str]:
    """The ids of the n newest leads over these index partitions, read with the bare client."""
    found = []
    for partition in partitions:
        params = {
            "TableName": stack.table["TableName"],
            "IndexName": index,
            "ScanIndexForward": False,
            "KeyConditionExpression": f"{index}PK = :p",
            "ExpressionAttributeValues": {":p": {"S": partition}},
        }
        start, taken = None, 0
        while taken < n:
            response = stack.ddb.query(**params, Limit=n - taken, **({"ExclusiveStartKey": start} if start else {}))
            # the lead's id from its table key (T#<t>#LEAD#<id>): the index projects no `id`
            found += [(i[f"{index}SK"]["S"], i["PK"]["S"].rsplit("#LEAD#", 1)[1]) for i in response["Items"]]
            taken += len(response["Items"])
            start = response.get("LastEvaluatedKey")
            if not start:
                break
    return [lead_id for _, lead_id in sorted(found, reverse=True)[:n]]


# --- costing -------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"[:#][A-Za-z0-9_]+")


def _unfiltered_cost(stack, call, indexes) -> capacity.Cost | None:
    """A Query whose filter dropped items is priced from what came back (a lower bound).
    Re-reading the same key range without the filter, with the bare client, returns what
    the filtered Query read, so it can be priced exactly."""
    response = call.response or {}
    if call.operation != "Query" or response.get("ScannedCount", 0) <= response.get("Count", 0):
        return None
    params = {k: v for k, v in call.params.items() if k not in ("FilterExpression", "ReturnConsumedCapacity")}
    used = set(_PLACEHOLDER.findall(params.get("KeyConditionExpression", "")))
    used |= set(_PLACEHOLDER.findall(params.get("ProjectionExpression", "")))
    for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        kept = {k: v for k, v in (params.get(name) or {}).items() if k in used}
        if kept:
            params[name] = kept
        else:
            params.pop(name, None)
    reread = stack.ddb.query(**params)
    return capacity.cost_of("Query", params, reread, indexes=indexes)


def _cost(stack, calls, indexes) -> tuple[float, bool]:
    """(request units by AWS's rules, still a lower bound?) with filtered Queries re-read."""
    total, lower_bound = 0.0, False
    for call in calls:
        exact = _unfiltered_cost(stack, call, indexes)
        cost = exact if exact is not None else capacity.cost_call(call, indexes=indexes)
        total += cost.total
        lower_bound |= exact is None and any("lower bound" in n for n in cost.notes)
    return total, lower_bound


def _where(params: dict[str, Any]) -> str:
    """What a call touched: the index and partition of a Query, the SK of each item written."""

    def sk(key: dict[str, Any]) -> str:
        return key.get("SK", {}).get("S", "?")

    if "KeyConditionExpression" in params:
        partition = next(iter((params.get("ExpressionAttributeValues") or {}).values()), {}).get("S", "")
        return f"{params.get('IndexName') or 'table'} {partition}"
    if "TransactItems" in params:
        actions = []
        for action in params["TransactItems"]:
            ((kind, body),) = action.items()
            actions.append(f"{kind} {sk(body.get('Key') or body.get('Item') or {})}")
        return ", ".join(actions)
    if "Key" in params:
        return f"{params['Key'].get('PK', {}).get('S', '?')} {sk(params['Key'])}"
    return ""


def _describe(stack, call, indexes) -> dict[str, Any]:
    """One recorded call for the JSON: what it touched and what it cost."""
    exact = _unfiltered_cost(stack, call, indexes)
    cost = exact if exact is not None else capacity.cost_call(call, indexes=indexes)
    response = call.response or {}
    return {
        "operation": call.operation,
        "where": _where(call.params),
        "count": response.get("Count"),
        "scanned": response.get("ScannedCount"),
        "local": call.capacity_units,
        "rules": cost.as_dict(),
    }


def _by_operation(operations: list[str]) -> str:
    return " ".join(f"{op}×{n}" for op, n in sorted(Counter(operations).items()))


# --- the section ---------------------------------------------------------------------


@section(
    "leads",
    f"Leads: create one, list 50 (by scope, filtered, {PAGES} pages), "
    f"at {SMALL:,} and {_env_int('BENCH_LEADS_N', 10_000):,} leads",
    order=50,
    skip_env="BENCH_SKIP_LEADS",
)
def leads_at_scale(ctx: Context) -> Result:
    from chalicelib.db import keys, telemetry

    large = _env_int("BENCH_LEADS_N", 10_000)
    runs = _env_int("BENCH_LEADS_RUNS", 100)
    page_runs = max(10, runs * 2 // 5)  # the 3-page walk is 3 calls: fewer samples keep the section short
    if large <= SMALL:
        raise ValueError(f"BENCH_LEADS_N must be above {SMALL:,} (got {large:,})")
    sizes = (SMALL, large)

    stack = ctx.stack()
    notes: list[str] = []
    with stack.quiet(notes):
        school = _school(stack)
    indexes = capacity.indexes_from_table(stack.table)
    table_name = stack.table["TableName"]
    own_partition = keys.owner_scope(school.tenant, school.consultant_id, "")
    pool_partition = keys.owner_scope(school.tenant, None, school.campus_id)
    campus_partition = keys.campus_scope(school.tenant, school.campus_id)

    def bare(index: str, partition: str) -> Callable[[], Any]:
        params = {
            "TableName": table_name,
            "IndexName": index,
            "Limit": 50,
            "ScanIndexForward": False,
            "KeyConditionExpression": f"{index}PK = :p",
            "ExpressionAttributeValues": {":p": {"S": partition}},
        }
        return lambda: stack.ddb.query(**params)

    def create() -> Any:
        school.phones += 1
        school.leads += 1
        body = {"name": "新学员", "guardians": [{"name": "家长", "phones": [f"137{school.phones:08d}"]}]}
        return school.creator("POST", "/leads", body, expect=201)

    def pages(recorded: list[Any] | None = None) -> list[Any]:
        """Follows next_cursor; with `recorded`, each page is recorded and its recorder appended
        (one recorder per page, never nested: `telemetry.record()` removes by equality)."""
        out, cursor = [], None
        for _ in range(PAGES):
            path = "/leads?limit=50" + (f"&cursor={quote(cursor, safe='')}" if cursor else "")
            if recorded is None:  # timed: no recorder, which would add ReturnConsumedCapacity
                out.append(school.consultant("GET", path))
            else:
                with telemetry.record() as rec:
                    out.append(school.consultant("GET", path))
                recorded.append(rec)
            cursor = out[-1].json_body["next_cursor"]
            if not cursor:
                break
        return out

    BARE_OWN, BARE_CAMPUS = "bare Query GSI1 (consultant's partition)", "bare Query GSI3 (campus partition)"
    ops: dict[str, tuple[Callable[[], Any], str, str]] = {  # name -> (call, baseline, what it is)
        BARE_OWN: (bare("GSI1", own_partition), BARE_OWN, "baseline"),
        BARE_CAMPUS: (bare("GSI3", campus_partition), BARE_CAMPUS, "baseline"),
        "POST /leads (new phone)": (create, BARE_OWN, "create"),
        "GET /leads?limit=50 consultant (own + pool)": (
            lambda: school.consultant("GET", "/leads?limit=50"),
            BARE_OWN,
            "list",
        ),
        "GET /leads?limit=50 manager (campus)": (lambda: school.manager("GET", "/leads?limit=50"), BARE_CAMPUS, "list"),
        "GET /leads?limit=50 admin (every campus)": (
            lambda: school.admin("GET", "/leads?limit=50"),
            BARE_CAMPUS,
            "list",
        ),
        "GET /leads?limit=50&status=intent consultant": (
            lambda: school.consultant("GET", "/leads?limit=50&status=intent"),
            BARE_OWN,
            "list",
        ),
        f"{PAGES} pages of 50, consultant (next_cursor)": (pages, BARE_OWN, "pages"),
    }

    rows: list[dict[str, Any]] = []
    measured: dict[tuple[int, str], dict[str, Any]] = {}
    seeded_rows: list[dict[str, Any]] = []
    walks: dict[int, bool] = {}  # size -> the pages were exactly the newest leads, in order
    for size in sizes:
        # Fill the tenant to `size` leads: the consultant's 200 and the pool's 100 come
        # first; every later lead belongs to another consultant.
        owners: list[str | None] = []
        if school.leads == 0:
            owners = [school.consultant_id] * MINE + [None] * POOL
        owners += [school.others[i % OTHERS] for i in range(size - school.leads - len(owners))]
        rng = random.Random(size)
        rng.shuffle(owners)
        with stack.quiet(notes):
            seeded = _seed(school, owners)
        seeded_rows.append({"size": f"{size:,}", **seeded})
        counts = {
            "own": _count(stack, "GSI1", own_partition),
            "pool": _count(stack, "GSI1", pool_partition),
            "campus": _count(stack, "GSI3", campus_partition),
        }
        notes.append(
            f"at {size:,}: the campus partition (GSI3) holds {counts['campus']:,} leads, the consultant's "
            f"{counts['own']:,}, the pool {counts['pool']:,} (before the timed creates add theirs)"
        )

        with stack.quiet(notes):
            targets = {name: page_runs if kind == "pages" else runs for name, (_, _, kind) in ops.items()}
            samples = _interleaved({name: op for name, (op, _, _) in ops.items()}, targets)
            for name, (op, baseline, kind) in ops.items():
                if kind == "baseline":
                    continue
                recorders: list[Any] = []
                if kind == "pages":
                    responses = pages(recorders)
                else:
                    with telemetry.record() as rec:
                        responses = [op()]
                    recorders.append(rec)
                calls = [c for r in recorders for c in r.calls]
                operations = [c.operation for c in calls]
                local = sum(r.capacity_units for r in recorders)
                rules, lower_bound = _cost(stack, calls, indexes)
                queries = operations.count("Query")
                per_page = [r.operations.count("Query") for r in recorders]
                returned = sum(len(r.json_body.get("items", [])) for r in responses) if kind != "create" else None
                if kind == "pages":
                    got = [i["id"] for r in responses for i in r.json_body["items"]]
                    want = _newest(stack, "GSI1", [own_partition, pool_partition], len(got))
                    walks[size] = got == want
                    notes.append(
                        f"at {size:,}: the {len(responses)} pages returned {len(set(got))} distinct leads, "
                        + (
                            "exactly the newest of own + pool, in order"
                            if got == want
                            else "NOT the newest of own + pool in order (pagination is wrong)"
                        )
                    )
                measured[(size, name)] = {
                    "calls": [_describe(stack, c, indexes) for c in calls],
                    "queries": queries,
                    "per_page": per_page,
                    "rules": rules,
                    "local": local,
                    "pages": len(responses),
                }
                ms = [s * 1000 for s in samples[name]]
                base = [s * 1000 for s in samples[baseline]]
                rows.append(
                    {
                        "size": f"{size:,}",
                        "op": name,
                        "p50": stats.median(ms),
                        "p95": stats.percentile(ms, 95),
                        "r50": stats.ratio(stats.median(ms), stats.median(base)),
                        "r95": stats.ratio(stats.percentile(ms, 95), stats.percentile(base, 95)),
                        "vs": "GSI1" if baseline == BARE_OWN else "GSI3",
                        "returned": returned,
                        "calls": len(calls),
                        "queries": queries if kind != "pages" else "+".join(map(str, per_page)),
                        "by_op": _by_operation(operations),
                        "local": local,
                        "rules": rules,
                        "bound": "lower bound" if lower_bound else "",
                    }
                )
            for name in (BARE_OWN, BARE_CAMPUS):
                ms = [s * 1000 for s in samples[name]]
                rows.append(
                    {
                        "size": f"{size:,}",
                        "op": name,
                        "p50": stats.median(ms),
                        "p95": stats.percentile(ms, 95),
                        "r50": 1.0,
                        "r95": 1.0,
                        "vs": "-",
                        "calls": 1,
                        "queries": 1,
                        "by_op": "Query×1",
                    }
                )
        notes.append(f"at {size:,}: {school.leads:,} leads in the tenant after the timed creates")

    # --- at the large size against the small one -------------------------------------------
    scale_rows, checks = [], []
    same_queries = True
    for name, (_, _, kind) in ops.items():
        if kind not in ("list", "pages"):
            continue
        small, big = measured[(SMALL, name)], measured[(large, name)]
        same = small["per_page"] == big["per_page"] and small["queries"] == big["queries"]
        same_queries &= same
        scale_rows.append(
            {
                "op": name,
                "q_small": "+".join(map(str, small["per_page"])),
                "q_large": "+".join(map(str, big["per_page"])),
                "same": "PASS" if same else "FAIL",
                "local_small": small["local"],
                "local_large": big["local"],
                "local_ratio": stats.ratio(big["local"], small["local"]),
                "rules_small": small["rules"],
                "rules_large": big["rules"],
                "rules_ratio": stats.ratio(big["rules"], small["rules"]),
            }
        )
    list_small = sum(r["rules_small"] for r in scale_rows)
    list_large = sum(r["rules_large"] for r in scale_rows)
    overall = stats.ratio(list_large, list_small)
    checks.append(
        Check(f"leads: Query calls per list page differ at {large:,} vs {SMALL:,} leads", 0 if same_queries else 1, 0)
    )
    checks.append(Check(f"leads: list capacity at {large:,} / at {SMALL:,} leads (AWS rules)", overall, 1.1, "x"))
    checks.append(
        Check(
            f"leads: {PAGES}-page walks not exactly the newest own + pool leads",
            sum(not ok for ok in walks.values()),
            0,
        )
    )
    create_small = measured[(SMALL, "POST /leads (new phone)")]
    create_large = measured[(large, "POST /leads (new phone)")]
    notes.append(
        f"list capacity at {large:,} / at {SMALL:,} leads, all list rows summed: "
        f"{overall:.2f} by AWS rules (target near 1.0); "
        f"Query calls per list page the same at both sizes: {'PASS' if same_queries else 'FAIL'}"
    )
    notes.append(
        f"POST /leads capacity at {large:,} / at {SMALL:,}: "
        f"{stats.ratio(create_large['rules'], create_small['rules']):.2f} (AWS rules)"
    )
    notes.append(
        "ratios: p50 (p95) of the route over p50 (p95) of a bare boto3 Query of 50 items on the "
        "partition in the 'vs' column, timed interleaved in blocks of 10; "
        f"{runs} samples per figure after {WARMUP} warm-up calls; the 3-page row is 3 HTTP calls"
    )

    seeding_table = Table(
        "seeding (BatchWriteItem via LeadItem.batch_write(): each lead and its phone claim)",
        [
            Column("size", "tenant holds"),
            Column("leads", "leads written"),
            Column("items", "items written"),
            Column("seconds", "seconds", "{:.1f}"),
            Column("rate", "items/s", "{:.0f}"),
            Column("lead_rate", "leads/s", "{:.0f}"),
        ],
        seeded_rows,
    )
    per_call = Table(
        "per call: latency vs a bare Query (Limit=50) in the same run; DynamoDB calls and request units "
        "(Local = DynamoDB Local's ConsumedCapacity; rules = AWS's published rules, filtered Queries re-read)",
        [
            Column("size", "leads"),
            Column("op", "route"),
            Column("p50", "p50 ms", "{:.1f}"),
            Column("p95", "p95 ms", "{:.1f}"),
            Column("r50", "p50 ratio", "{:.2f}"),
            Column("r95", "p95 ratio", "{:.2f}"),
            Column("vs", "vs"),
            Column("returned", "items"),
            Column("calls", "DDB calls"),
            Column("queries", "Query calls"),
            Column("by_op", "calls by operation"),
            Column("local", "Local CU", "{:.1f}"),
            Column("rules", "RU (rules)", "{:.1f}"),
            Column("bound", "rules figure"),
        ],
        rows,
    )
    scale_table = Table(
        f"list pages at {large:,} against {SMALL:,} leads (Query calls per page; request units per call)",
        [
            Column("op", "route"),
            Column("q_small", f"Queries @{SMALL:,}"),
            Column("q_large", f"Queries @{large:,}"),
            Column("same", "same Queries"),
            Column("local_small", f"Local @{SMALL:,}", "{:.1f}"),
            Column("local_large", f"Local @{large:,}", "{:.1f}"),
            Column("local_ratio", "Local ratio", "{:.2f}"),
            Column("rules_small", f"rules @{SMALL:,}", "{:.1f}"),
            Column("rules_large", f"rules @{large:,}", "{:.1f}"),
            Column("rules_ratio", "rules ratio", "{:.2f}"),
        ],
        scale_rows,
    )
    return Result(
        tables=[seeding_table, per_call, scale_table],
        notes=notes,
        checks=checks,
        details={
            "tenant": school.tenant,
            "sizes": list(sizes),
            "runs": runs,
            "seeding": seeded_rows,
            "rows": rows,
            "scale": scale_rows,
            "list_capacity_ratio": overall,
            "same_queries_per_page": same_queries,
            "pages_are_the_newest": walks,
            "calls": {f"{size}: {name}": m["calls"] for (size, name), m in measured.items()},
        },
    )
