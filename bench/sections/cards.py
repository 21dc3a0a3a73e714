"""A card deduction (issue 5): latency against a bare TransactWriteItems of the same items,
and its DynamoDB cost against the theoretical minimum.

The theoretical minimum of one movement is one transaction of two items: the card's
balance update (conditional on the balance) and its ledger entry, each priced at the
transactional rate (2 WRU per KB). The baseline is exactly that transaction, written with
bare boto3 on a copy of the same card item and the same ledger entry, in the same run and
timed interleaved with the route, so the ratio shows what the API adds (authentication,
the reads that decide which contract's credits to take, validation, the envelope).
A deduction with an `Idempotency-Key` adds one item (the stored response) to the
transaction; its cost is shown beside it.
"""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta

from bench import capacity, stats
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section

ITERATIONS, WARMUP = 60, 5


@section("cards", "A card deduction against a bare TransactWriteItems", order=70, skip_env="BENCH_SKIP_CARDS")
def card_deduction(ctx: Context) -> Result:
    from chalicelib.db import keys, telemetry

    stack = ctx.stack()
    notes: list[str] = []
    today = date.today()
    with stack.quiet(notes):
        phone = f"136{secrets.randbelow(10**8):08d}"
        lead = stack.call(
            "POST",
            "/leads",
            {"name": "基准会员", "campus_id": stack.campus_id, "guardians": [{"name": "家长", "phones": [phone]}]},
            expect=201,
        ).json_body
        contract = stack.call(
            "POST",
            "/contracts",
            {
                "lead_ids": [lead["id"]],
                "credits": "100000",
                "price": "9600.00",
                "starts_on": today.isoformat(),
                "ends_on": (today + timedelta(days=365)).isoformat(),
            },
            expect=201,
        ).json_body
        card = stack.call(
            "POST", "/cards", {"holder_lead_id": lead["id"], "contract_ids": [contract["id"]]}, expect=201
        ).json_body
    path = f"/cards/{card['id']}/movements"
    body = json.dumps({"kind": "deduction", "credits": "1"}).encode()

    def deduct(key: str | None = None):
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.token}"}
        if key:
            headers["Idempotency-Key"] = key
        response = stack.http.request("POST", path, headers=headers, body=body)
        if response.status_code != 201:
            raise RuntimeError(f"deduction: {response.status_code} {response.body[:200]!r}")

    # The baseline's items: a copy of the card item and of one real ledger entry.
    table = stack.table["TableName"]
    card_key = {"PK": {"S": keys.card_pk(stack.tenant, card["id"])}, "SK": {"S": keys.CARD_SK}}
    with stack.quiet(notes):
        deduct()
    raw_card = stack.ddb.get_item(TableName=table, Key=card_key)["Item"]
    raw_entry = stack.ddb.query(
        TableName=table,
        KeyConditionExpression="PK = :p AND begins_with(SK, :l)",
        ExpressionAttributeValues={":p": card_key["PK"], ":l": {"S": keys.LEDGER_PREFIX}},
        ScanIndexForward=False,
        Limit=1,
    )["Items"][0]
    copy_pk = {"S": f"T#{stack.tenant}#BENCH#{secrets.token_hex(4)}"}
    stack.ddb.put_item(TableName=table, Item={**raw_card, "PK": copy_pk})
    counter = iter(range(10**9))

    def bare():
        stack.ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": copy_pk, "SK": card_key["SK"]},
                        "UpdateExpression": "ADD credits :minus SET updated_at = :at",
                        "ConditionExpression": "credits >= :one",
                        "ExpressionAttributeValues": {
                            ":minus": {"N": "-100"},
                            ":one": {"N": "100"},
                            ":at": {"S": "2026-01-01T00:00:00.000Z"},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {**raw_entry, "PK": copy_pk, "SK": {"S": f"LEDGER#bench#{next(counter):09d}"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )

    keyed = iter(f"bench-key-{secrets.token_hex(4)}-{n:06d}" for n in range(10**6))
    with stack.quiet(notes):
        samples = stats.interleaved(
            {"route": deduct, "route+key": lambda: deduct(next(keyed)), "bare": bare},
            iterations=ITERATIONS,
            warmup=WARMUP,
        )
        recorded = {}
        for name, fn in (("route", deduct), ("route+key", lambda: deduct(next(keyed)))):
            with telemetry.record() as rec:
                fn()
            recorded[name] = rec
    indexes = capacity.indexes_from_table(stack.table)
    card_size, entry_size = capacity.item_size(raw_card), capacity.item_size(raw_entry)
    minimum = capacity.write_units(card_size, transactional=True) + capacity.write_units(entry_size, transactional=True)
    rows = []
    base_ms = stats.median(samples["bare"]) * 1000
    for name in ("route", "route+key"):
        rec = recorded[name]
        cost = capacity.cost_calls(rec.calls, indexes=indexes)
        writes = capacity.cost_calls([c for c in rec.calls if c.operation == "TransactWriteItems"], indexes=indexes)
        ms = stats.median(samples[name]) * 1000
        rows.append(
            {
                "what": f"POST /cards/{{id}}/movements{' + Idempotency-Key' if name == 'route+key' else ''}",
                "calls": ", ".join(f"{op}×{rec.operations.count(op)}" for op in dict.fromkeys(rec.operations)),
                "rru": cost.rru,
                "wru": writes.wru + writes.gsi_wru,
                "local": rec.capacity_units,
                "p50": ms,
                "ratio": stats.ratio(ms, base_ms),
                "min": minimum,
            }
        )
    rows.append(
        {
            "what": "bare TransactWriteItems (card update + ledger put)",
            "calls": "TransactWriteItems×1",
            "rru": 0.0,
            "wru": minimum,
            "local": None,
            "p50": base_ms,
            "ratio": 1.0,
            "min": minimum,
        }
    )
    notes.append(
        f"item sizes: card {card_size} B, ledger entry {entry_size} B; the theoretical minimum of a movement "
        f"is {minimum:.0f} WRU (2 WRU per KB for each of the two items in a transaction)."
    )
    notes.append(
        "reads before the write: the caller's user (every request), the tenant and its card rules, "
        "the card (strongly consistent) and its holder lead (visibility)."
    )
    unkeyed = rows[0]["wru"] / minimum if minimum else None
    table_out = Table(
        "One 1-credit deduction, interleaved with the bare transaction in the same run",
        [
            Column("what", "operation"),
            Column("calls", "DynamoDB calls"),
            Column("rru", "RRU (reads)", "{:.1f}"),
            Column("wru", "WRU (the write)", "{:.1f}"),
            Column("min", "minimum WRU", "{:.1f}"),
            Column("local", "Local CU", "{:.1f}"),
            Column("p50", "p50 ms", "{:.1f}"),
            Column("ratio", "p50 / bare", "{:.2f}"),
        ],
        rows,
    )
    return Result(
        tables=[table_out],
        notes=notes,
        checks=[Check("deduction write units / theoretical minimum", unkeyed, 1.0, "x")],
        details={"rows": rows, "card_bytes": card_size, "entry_bytes": entry_size},
    )
