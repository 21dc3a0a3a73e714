"""Lead import (issue 8): 10,000 rows of a real .xlsx, rows per second against raw BatchWriteItem.

The import reads the workbook, checks every row, looks up every phone in the school
(BatchGetItem), claims each new phone with a conditional PutItem, and writes each row's
birthday marker (when it has one) and lead, which carries its history entry "imported",
with BatchWriteItem (issue 17; chunks of 25 rows, 32 at once). The baseline, in the same
run, writes the very same lead items, index keys included (so DynamoDB writes the same
index entries), with bare BatchWriteItem (25 a call, 8 threads): no checks, no phone claims.
Until 2026-12-05 the baseline left the index keys out: its items were not the import's.

Two more rows say where the time goes, each against the same baseline: the floor (every
item the import wrote, bare BatchWriteItem: what the items alone cost DynamoDB Local) and
the import's conditional claims alone, sent again as the import sends them (PutItem, 32 at
once) to keys nothing holds. Rows per second of the whole import (parsing included) are
printed as a ratio to the baseline, with the write units each way, priced by AWS's
published rules (bench/capacity.py).
"""

from __future__ import annotations

import io
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

from bench import capacity
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
LAMBDA_SECONDS = 900


def _workbook(rows: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("导入")
    sheet.append(["姓名", "性别", "生日", "家长", "电话", "来源", "备注"])
    prefix = f"13{secrets.randbelow(10)}"
    for i in range(rows):
        birthday = f"201{i % 10}-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 3 == 0 else None
        sheet.append([f"学员{i}", "男" if i % 2 else "女", birthday, f"家长{i}", f"{prefix}{i:08d}", "转介绍", "批量"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _raw_key(name: str, value: dict) -> dict:
    """A lead item's attribute for the baseline's copy: its table and index partition keys
    moved under "RAW#" (same index entries, same sizes but for those 4 bytes)."""
    if name == "PK" or (name.endswith("PK") and name.startswith(("GSI", "DUE"))):
        return {"S": "RAW#" + value["S"]}
    return value


def _conditional_puts(stack, calls: list[dict]) -> float:
    """The import's claim PutItems sent again, conditions and all, with their keys moved
    under "RAW#" (new items: every condition holds), as many at once as the import sends."""
    from chalicelib.db.imports import PARALLEL

    def put(params: dict) -> None:
        sent = {k: v for k, v in params.items() if k not in ("Item", "ReturnConsumedCapacity")}
        stack.ddb.put_item(**sent, Item={k: _raw_key(k, v) for k, v in params["Item"].items()})

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(put, calls))
    return time.perf_counter() - began


def _raw_batch_write(stack, items: list[dict]) -> float:
    table = stack.table["TableName"]
    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]

    def write(chunk):
        request = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            request = stack.ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, chunks))
    return time.perf_counter() - began


@section("imports", "Lead import: 10,000 rows/s vs raw BatchWriteItem, write units per row", order=95)
def lead_import(ctx: Context) -> Result:
    from chalicelib.db import imports as imports_db
    from chalicelib.db import keys, telemetry
    from chalicelib.domain import clock, ids
    from chalicelib.domain import imports as imports_domain
    from chalicelib.storage import store

    stack = ctx.stack()
    notes: list[str] = []
    data = _workbook(ROWS)
    import_id = ids.new_id()
    record = {
        "id": import_id,
        "status": "queued",
        "file_name": "bench.xlsx",
        "file_key": keys.import_file(stack.tenant, import_id, "source"),
        "campus_id": stack.campus_id,
        "owner_id": None,
        "rows": ROWS,
        "created_by": "bench",
        "created_by_name": "bench",
        "created_at": clock.iso(clock.now()),
    }
    store().put(record["file_key"], data, "application/octet-stream")
    imports_db.create(stack.tenant, record, queued=False)
    indexes = capacity.indexes_from_table(stack.table)

    with stack.quiet(notes), telemetry.record() as rec:
        began = time.perf_counter()
        result = imports_domain.process(stack.tenant, record)
        seconds = time.perf_counter() - began
    counts = result["counts"]
    writes = [c for c in rec.calls if c.operation in capacity.WRITE_OPERATIONS]
    reads = [c for c in rec.calls if c.operation in ("BatchGetItem", "GetItem", "Query")]
    write_cost = capacity.cost_calls(writes, indexes=indexes)
    read_cost = capacity.cost_calls(reads, indexes=indexes)

    def _puts(call: telemetry.Call) -> list[dict]:
        if call.operation == "TransactWriteItems":
            return [a["Put"]["Item"] for a in call.params["TransactItems"] if "Put" in a]
        if call.operation == "BatchWriteItem":
            requests = [r for rs in call.params["RequestItems"].values() for r in rs]
            return [r["PutRequest"]["Item"] for r in requests if "PutRequest" in r]
        return [call.params["Item"]] if call.operation == "PutItem" else []

    written = [item for c in writes for item in _puts(c)]
    items = len(written)
    by_operation: dict[str, int] = {}
    for c in writes:
        by_operation[c.operation] = by_operation.get(c.operation, 0) + 1

    # the baseline: the same lead items, bare BatchWriteItem, under another partition key
    leads = [item for item in written if item.get("type", {}).get("S") == "Lead"]
    # the very items, index keys included (DynamoDB writes their index entries as it does the
    # import's: the work grows with them), each key moved to a partition nothing reads
    # ("RAW#" before it) so the copies stay out of the school's lists and the jobs' DUE pages
    raw_cost = capacity.cost_calls(
        [telemetry.Call("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": i}} for i in leads]}})],
        indexes=indexes,
    )
    copies = [{k: _raw_key(k, v) for k, v in item.items()} for item in leads]
    raw_seconds = _raw_batch_write(stack, copies)

    # the floor: every item the import wrote (leads, phone claims, birthday markers), bare
    # BatchWriteItem as above: what DynamoDB Local's work for these items costs, whatever the
    # import does around it (no parsing, no checks, no conditions, no transactions)
    floor_seconds = _raw_batch_write(stack, [{k: _raw_key(k, v) for k, v in item.items()} for item in written])

    # the import's conditional claims alone, as it sent them, to keys nothing holds yet
    claims = [c.params for c in writes if c.operation == "PutItem" and c.params["Item"]["type"]["S"] == "Phone"]
    claims_seconds = _conditional_puts(stack, claims)

    rate, raw_rate = counts["imported"] / seconds, len(leads) / raw_seconds
    floor_rate, claims_rate = counts["imported"] / floor_seconds, counts["imported"] / claims_seconds
    rows = [
        {
            "what": "import (.xlsx parsed, checked, deduplicated, claims, batches)",
            "rows": counts["imported"],
            "seconds": seconds,
            "rate": rate,
            "wru": write_cost.total / max(1, counts["imported"]),
            "ratio": rate / raw_rate,
        },
        {
            "what": "floor: raw BatchWriteItem of every item the import wrote",
            "rows": counts["imported"],
            "seconds": floor_seconds,
            "rate": floor_rate,
            "wru": None,
            "ratio": floor_rate / raw_rate,
        },
        {
            "what": f"its {len(claims):,} conditional claims alone (PutItem, 32 at once)",
            "rows": counts["imported"],
            "seconds": claims_seconds,
            "rate": claims_rate,
            "wru": None,
            "ratio": claims_rate / raw_rate,
        },
        {
            "what": "raw BatchWriteItem of the same lead items",
            "rows": len(leads),
            "seconds": raw_seconds,
            "rate": raw_rate,
            "wru": raw_cost.total / max(1, len(leads)),
            "ratio": 1.0,
        },
    ]
    table = Table(
        f"{ROWS:,} rows, one .xlsx, DynamoDB Local",
        [
            Column("what", "writing"),
            Column("rows", "rows"),
            Column("seconds", "s", "{:.1f}"),
            Column("rate", "rows/s", "{:.0f}"),
            Column("wru", "WRU per row", "{:.2f}"),
            Column("ratio", "rows/s / raw", "{:.2f}"),
        ],
        rows,
    )
    notes += [
        f"write calls {by_operation}, {items / max(1, counts['imported']):.2f} items per row"
        " (lead, phone claim, birthday marker for a third of the rows; index writes priced separately);"
        f" of the {write_cost.total / max(1, counts['imported']):.2f} WRU a row,"
        f" {raw_cost.total / max(1, len(leads)):.2f} are the lead item with its index copies.",
        f"reads: {read_cost.total:.0f} RRU in all ({read_cost.total / max(1, ROWS):.3f} per row):"
        " the school's users, its settings, every phone looked up by BatchGetItem.",
        f"{ROWS:,} rows took {seconds:.1f} s here: {100 * seconds / LAMBDA_SECONDS:.1f} % of one"
        f" {LAMBDA_SECONDS // 60}-minute Lambda invocation (the lead_imports job's timeout).",
        f"imported {counts['imported']}, rejected {counts['rejected']}.",
    ]
    return Result(
        tables=[table],
        notes=notes,
        checks=[Check("seconds for the import, of one Lambda invocation", seconds, float(LAMBDA_SECONDS))],
        details={"rows": rows},
    )
