"""(c) DynamoDB request units per call of each route: DynamoDB Local's figure and AWS's rules."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench import capacity
from bench.context import Context
from bench.registry import Column, Result, Table, section
from bench.sections.warm_latency import route_calls


def _bytes(call: Any) -> int:
    """Bytes of the items a call read or wrote (what its price is based on)."""
    params, response = call.params, call.response or {}
    op = call.operation
    if op == "GetItem":
        return capacity.item_size(response.get("Item"))
    if op in ("Query", "Scan"):
        return sum(capacity.item_size(i) for i in response.get("Items") or [])
    if op == "BatchGetItem":
        return sum(capacity.item_size(i) for items in (response.get("Responses") or {}).values() for i in items)
    if op == "PutItem":
        return capacity.item_size(params.get("Item"))
    if op == "UpdateItem":
        after = response.get("Attributes") if params.get("ReturnValues") == "ALL_NEW" else None
        return capacity.item_size(after) if after else capacity.approximate_updated_item_size(params)
    if op == "TransactWriteItems":
        total = 0
        for action in params.get("TransactItems") or []:
            if "Put" in action:
                total += capacity.item_size(action["Put"].get("Item"))
            elif "Update" in action:
                total += capacity.approximate_updated_item_size(action["Update"])
            else:
                total += capacity.item_size(next(iter(action.values())).get("Key"))
        return total
    return capacity.item_size(params.get("Key"))


def _ops(calls: list[Any]) -> str:
    counts = Counter(c.operation for c in calls)
    return ", ".join(f"{op}x{n}" if n > 1 else op for op, n in counts.items()) or "(none)"


def _cases(ctx: Context) -> dict[str, Callable[[], object]]:
    stack = ctx.stack()
    cases = dict(route_calls(ctx))
    cases["POST /users (create a staff account; write)"] = lambda: stack.create_staff("cap" + secrets.token_hex(4))
    cases["POST /auth/login, unknown login name (write)"] = lambda: stack.login("nobody", "wrong-password", expect=401)
    return cases


@section("capacity", "(c) DynamoDB request units per call: DynamoDB Local vs AWS's published rules", order=30)
def route_capacity(ctx: Context) -> Result:
    from chalicelib.db import telemetry

    stack = ctx.stack()
    indexes = capacity.indexes_from_table(stack.table)
    routes, per_call, notes = [], [], []
    printed: list[str] = []
    for label, run in _cases(ctx).items():
        with stack.quiet(printed):
            run()  # warm: connection set up, caches filled; a steady-state call is what is priced
            with telemetry.record() as rec:
                run()
        calls = [c for c in rec.calls if c.operation in capacity.READ_OPERATIONS | capacity.WRITE_OPERATIONS]
        costs = [capacity.cost_call(c, indexes=indexes) for c in calls]
        total = sum(costs, capacity.Cost())
        local = sum(c.capacity_units for c in calls)
        routes.append(
            {
                "route": label,
                "calls": _ops(calls),
                "local_cu": local,
                "rru": total.rru,
                "wru": total.wru,
                "gsi_wru": total.gsi_wru,
                "total": total.total,
                "same": "yes" if abs(local - total.total) < 1e-9 else "no",
                "approx": "yes" if total.approximate else "",
            }
        )
        for call, cost in zip(calls, costs, strict=True):
            per_call.append(
                {
                    "route": label,
                    "operation": call.operation,
                    "bytes": _bytes(call),
                    "consistent": "strong" if call.params.get("ConsistentRead") else "",
                    "local_cu": call.capacity_units,
                    "rru": cost.rru,
                    "wru": cost.wru,
                    "gsi_wru": cost.gsi_wru,
                    "error": call.error or "",
                    "notes": "; ".join(cost.notes),
                    "params": {k: v for k, v in call.params.items() if k not in ("Item", "TransactItems")},
                }
            )
        notes += [f"{label}: {n}" for n in total.notes]
    notes += printed
    money = [
        Column("local_cu", "Local CU", "{:g}"),
        Column("rru", "RRU", "{:g}"),
        Column("wru", "WRU", "{:g}"),
        Column("gsi_wru", "GSI WRU", "{:g}"),
    ]
    result = Result(
        tables=[
            Table(
                "per route call (on-demand request units; Local CU = ConsumedCapacity TOTAL from DynamoDB Local)",
                [
                    Column("route", "route"),
                    Column("calls", "DynamoDB calls"),
                    *money,
                    Column("total", "AWS rules total", "{:g}"),
                    Column("same", "Local = rules"),
                    Column("approx", "approx."),
                ],
                routes,
            ),
            Table(
                "per DynamoDB call",
                [
                    Column("route", "route"),
                    Column("operation", "operation"),
                    Column("bytes", "item bytes"),
                    Column("consistent", "read"),
                    *money,
                    Column("error", "error"),
                ],
                per_call,
            ),
        ],
        notes=notes,
        details={"indexes": indexes, "routes": routes, "calls": per_call},
    )
    result.notes.append(
        "DynamoDB Local does not double transactional writes; AWS charges TransactWriteItems 2 WRU per KB per item."
    )
    return result
