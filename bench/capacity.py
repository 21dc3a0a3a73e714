"""What a DynamoDB call costs on an on-demand table, computed from AWS's published rules.

DynamoDB Local reports a `ConsumedCapacity`, but it is an emulator's figure (for instance
it does not double transactional writes). This module prices the recorded calls
(`chalicelib.db.telemetry.Call`: operation, request params, response) by the rules AWS
publishes, so the bench can show both figures side by side.

Item size ("DynamoDB item sizes and formats", developer guide, CapacityUnitCalculations):
the sum of each attribute's name length plus its value size, where
  * strings: UTF-8 bytes; binary: raw bytes (not base64);
  * numbers: about 1 byte per two significant digits, plus 1 byte (leading/trailing
    zeros trimmed);
  * booleans and null: 1 byte;
  * lists and maps: 3 bytes of overhead plus the size of their contents, plus 1 byte per
    element (the current guide adds that per-element byte); map keys count as names;
  * sets: the sum of their elements.

Request units ("Read and write operations"; "On-demand pricing" key terms):
  * Reads round up to 4 KB. Eventually consistent reads cost 0.5 RRU per 4 KB, strongly
    consistent 1 RRU, transactional (TransactGetItems) 2 RRU. GetItem and each item of a
    BatchGetItem round up one item at a time; Query and Scan round up the *summed* size of
    the items read. A read that finds nothing still costs the minimum (one 4 KB unit).
    Global secondary indexes only serve eventually consistent reads.
  * Writes round up to 1 KB: 1 WRU per KB of the item written (the larger of its before
    and after images), transactional writes (TransactWriteItems, every Put, Update, Delete
    and ConditionCheck in it) 2 WRU per KB. BatchWriteItem rounds each item separately.
    A write whose condition fails is still charged.
  * Global secondary indexes (only when `indexes` is given): writing an item that has an
    index's key attributes costs a write on that index too, of the projected item's size
    (1 KB units); changing an indexed key costs a delete and a put; removing the key costs
    a delete. These index writes are priced at the standard (not transactional) rate.

What a recorded call cannot tell, and how it is approximated (each such Cost carries a
note and `approximate=True`):
  * PutItem/DeleteItem without ReturnValues=ALL_OLD: the before image is unknown; a Put is
    priced by the new item alone, a Delete by its key alone (so at the 1 WRU minimum).
  * PutItem/Put conditioned on a bare attribute_not_exists(...) only creates: exact.
  * UpdateItem with ReturnValues=ALL_NEW (what pynamodb asks for) is priced by the after
    image; an update that shrinks an item would be charged by its before image.
  * UpdateItem without ReturnValues=ALL_NEW/ALL_OLD: the item after the update is
    approximated as the key plus the attributes the update expression sets or adds.
  * Query/Scan with a ProjectionExpression, Select=COUNT or a FilterExpression that dropped
    items (ScannedCount > Count): AWS charges for the full items read, which the response
    does not show; the cost is priced from what was returned, i.e. a lower bound.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024

Item = Mapping[str, Mapping[str, Any]]  # wire format: {"name": {"S": "..."}}
# index name -> (partition key attribute, sort key attribute or None)
Indexes = Mapping[str, tuple[str, str | None]]  # an `Index` where the projection is known


class Index(tuple[str, str | None]):
    """An index's (hash key, range key), with what it projects: ALL, KEYS_ONLY or INCLUDE
    `include` (plus the table's own key, `table_keys`). A plain tuple means ALL."""

    projection: str
    include: frozenset[str]
    table_keys: tuple[str, ...]

    def __new__(
        cls,
        keys: tuple[str, str | None],
        projection: str = "ALL",
        include: frozenset[str] = frozenset(),
        table_keys: tuple[str, ...] = ("PK", "SK"),
    ) -> Index:
        made = super().__new__(cls, keys)
        made.projection, made.include, made.table_keys = projection, include, table_keys
        return made


def projected(item: Item | None, keys: tuple[str, str | None]) -> Item | None:
    """What an index holds of `item`: all of it, or its keys (the table's and the index's)
    and the INCLUDE attributes."""
    if item is None or not isinstance(keys, Index) or keys.projection == "ALL":
        return item
    names = {k for k in keys if k} | set(keys.table_keys)
    if keys.projection == "INCLUDE":
        names |= keys.include
    return {k: v for k, v in item.items() if k in names}


def _projects(keys: tuple[str, str | None], name: str) -> bool:
    """Whether the index's copy holds attribute `name`."""
    if not isinstance(keys, Index) or keys.projection == "ALL":
        return True
    return (
        name in {k for k in keys if k}
        or name in keys.table_keys
        or (keys.projection == "INCLUDE" and name in keys.include)
    )


READ_OPERATIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


# --- sizes ---------------------------------------------------------------------------


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _binary(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    try:  # a request may carry it already base64-encoded
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return _utf8(str(value))


def number_size(text: str) -> int:
    """About 1 byte per two significant digits, plus 1 byte."""
    mantissa = re.split(r"[eE]", str(text).strip().lstrip("+-"), maxsplit=1)[0]
    digits = mantissa.replace(".", "").lstrip("0").rstrip("0")
    return math.ceil(len(digits) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in the wire format ({"S": ...}, {"N": ...}, ...)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return _utf8(raw)
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return _binary(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(v) for v in raw)
    if kind == "NS":
        return sum(number_size(v) for v in raw)
    if kind == "BS":
        return sum(_binary(v) for v in raw)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    if kind == "M":
        return 3 + sum(_utf8(k) + value_size(v) + 1 for k, v in raw.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: Item | None) -> int:
    """Bytes of an item: attribute names plus values."""
    if not item:
        return 0
    return sum(_utf8(name) + value_size(value) for name, value in item.items())


# --- units -----------------------------------------------------------------------------


def read_units(size: int, *, consistent: bool = False, transactional: bool = False) -> float:
    """RRU to read `size` bytes (one item, or a Query's summed items): 4 KB units, minimum 1."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else 0.5 * units


def write_units(size: int, *, transactional: bool = False) -> float:
    """WRU to write an item of `size` bytes: 1 KB units, minimum 1; transactional x2."""
    units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
    return float(2 * units if transactional else units)


@dataclass
class Cost:
    """Request units of one call (or a sum of calls). `gsi_wru` is only set when indexes are known."""

    rru: float = 0.0
    wru: float = 0.0
    gsi_wru: float = 0.0
    approximate: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.rru + self.wru + self.gsi_wru

    def note(self, text: str) -> None:
        self.approximate = True
        if text not in self.notes:
            self.notes.append(text)

    def __add__(self, other: Cost) -> Cost:
        notes = self.notes + [n for n in other.notes if n not in self.notes]
        return Cost(
            self.rru + other.rru,
            self.wru + other.wru,
            self.gsi_wru + other.gsi_wru,
            self.approximate or other.approximate,
            notes,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rru": self.rru,
            "wru": self.wru,
            "gsi_wru": self.gsi_wru,
            "total": self.total,
            "approximate": self.approximate,
            "notes": list(self.notes),
        }


# --- update expressions ------------------------------------------------------------------

_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)
_PLACEHOLDER_VALUE = re.compile(r":[A-Za-z0-9_]+")


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _path_name(path: str, names: Mapping[str, str]) -> str:
    """The top-level attribute a document path updates (`#0.a[1]` -> the name #0 stands for)."""
    head = re.split(r"[.\[]", path.strip(), maxsplit=1)[0]
    return names.get(head, head)


def update_actions(params: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """(clause, attribute, value bytes) for each action of an UpdateExpression."""
    expression = params.get("UpdateExpression") or ""
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    pieces = _CLAUSE.split(expression)
    actions: list[tuple[str, str, int]] = []
    for clause, body in zip(pieces[1::2], pieces[2::2], strict=False):
        clause = clause.upper()
        for action in _split_top_level(body):
            if clause == "SET":
                path, _, rhs = action.partition("=")
            elif clause == "REMOVE":
                path, rhs = action, ""
            else:  # ADD / DELETE: "path :value"
                path, _, rhs = action.partition(" ")
            size = sum(value_size(values[p]) for p in _PLACEHOLDER_VALUE.findall(rhs) if p in values)
            actions.append((clause, _path_name(path, names), size))
    return actions


def approximate_updated_item_size(params: Mapping[str, Any]) -> int:
    """Key plus every attribute the update sets or adds (names and values): a lower bound."""
    size = item_size(params.get("Key"))
    seen: set[str] = set(params.get("Key") or {})
    for clause, name, value_bytes in update_actions(params):
        if clause in ("SET", "ADD"):
            size += value_bytes + (0 if name in seen else _utf8(name))
            seen.add(name)
    return size


# --- per operation -------------------------------------------------------------------------


def _has_keys(item: Item | None, keys: tuple[str, str | None]) -> bool:
    return bool(item) and all(k in item for k in keys if k)


def _gsi_put(cost: Cost, new: Item | None, old: Item | None, indexes: Indexes | None, old_known: bool) -> None:
    """Index writes for an item whose after image is `new` (None when deleted)."""
    if not indexes:
        return
    for keys in indexes.values():
        in_new, in_old = _has_keys(new, keys), _has_keys(old, keys)
        if in_new:
            changed = in_old and any(k and old[k] != new[k] for k in keys)
            if in_old and not changed and projected(new, keys) == projected(old, keys):
                continue  # the index's copy is unchanged: nothing written there
            cost.gsi_wru += write_units(item_size(projected(new, keys))) + (
                write_units(item_size(projected(old, keys))) if changed else 0
            )
        elif in_old:
            cost.gsi_wru += write_units(item_size(projected(old, keys)))
    if not old_known:
        cost.note("index writes assume no earlier index entry (before image unknown)")


def _gsi_update(cost: Cost, params: Mapping[str, Any], after: Item | None, indexes: Indexes | None) -> None:
    if not indexes:
        return
    touched = {(clause, name) for clause, name, _ in update_actions(params)}
    for keys in indexes.values():
        key_names = {k for k in keys if k}
        sets_key = any((c, n) in touched for c in ("SET", "ADD") for n in key_names)
        removes_key = any(("REMOVE", n) in touched for n in key_names)
        if after is not None and _has_keys(after, keys):
            if not sets_key and not any(_projects(keys, n) for _, n in touched):
                continue  # only attributes the index does not hold changed: nothing written there
            # In the index after the update: a put (new or changed key) or a projection update.
            cost.gsi_wru += write_units(item_size(projected(after, keys)))
            if sets_key:
                cost.note("a changed index key also deletes the old index entry if there was one (not counted)")
        elif after is None and sets_key:
            cost.gsi_wru += write_units(approximate_updated_item_size(params))
        elif removes_key:
            cost.gsi_wru += 1.0
            cost.note("an index entry removed by the update is counted at the 1 WRU minimum")


_CREATE_ONLY = re.compile(r"\s*\(?\s*attribute_not_exists\s*\(\s*[#\w.]+\s*\)\s*\)?\s*", re.IGNORECASE)


def _creates_only(params: Mapping[str, Any]) -> bool:
    """True when the write's condition is a bare attribute_not_exists(...): no item is replaced."""
    return bool(_CREATE_ONLY.fullmatch(params.get("ConditionExpression") or "x"))


def _cost_get(params: Mapping[str, Any], response: Mapping[str, Any]) -> Cost:
    cost = Cost()
    cost.rru = read_units(item_size(response.get("Item")), consistent=bool(params.get("ConsistentRead")))
    return cost


def _cost_batch_get(params: Mapping[str, Any], response: Mapping[str, Any]) -> Cost:
    cost = Cost()
    found = response.get("Responses") or {}
    unprocessed = response.get("UnprocessedKeys") or {}
    for table, request in (params.get("RequestItems") or {}).items():
        consistent = bool(request.get("ConsistentRead"))
        items = found.get(table, [])
        for item in items:
            cost.rru += read_units(item_size(item), consistent=consistent)
        left = len((unprocessed.get(table) or {}).get("Keys", []))
        misses = max(0, len(request.get("Keys", [])) - len(items) - left)
        cost.rru += misses * read_units(0, consistent=consistent)
    return cost


def _cost_query(params: Mapping[str, Any], response: Mapping[str, Any]) -> Cost:
    cost = Cost()
    consistent = bool(params.get("ConsistentRead")) and not params.get("IndexName")
    cost.rru = read_units(sum(item_size(i) for i in response.get("Items") or []), consistent=consistent)
    if params.get("ProjectionExpression") or params.get("AttributesToGet") or params.get("Select") == "COUNT":
        cost.note("projected or counted read: priced from the returned attributes, a lower bound")
    scanned, count = response.get("ScannedCount"), response.get("Count")
    if scanned is not None and count is not None and scanned > count:
        cost.note(f"filter dropped {scanned - count} item(s) read but not returned: a lower bound")
    return cost


def _cost_transact_get(params: Mapping[str, Any], response: Mapping[str, Any]) -> Cost:
    cost = Cost()
    responses = response.get("Responses") or []
    for i, _ in enumerate(params.get("TransactItems") or []):
        item = responses[i].get("Item") if i < len(responses) else None
        cost.rru += read_units(item_size(item), transactional=True)
    return cost


def _cost_put(
    params: Mapping[str, Any], response: Mapping[str, Any], transactional: bool, indexes: Indexes | None
) -> Cost:
    cost = Cost()
    new = params.get("Item") or {}
    old = response.get("Attributes") if params.get("ReturnValues") == "ALL_OLD" else None
    # Known before image: returned (ALL_OLD), or none because the put may only create.
    old_known = params.get("ReturnValues") == "ALL_OLD" or _creates_only(params)
    cost.wru = write_units(max(item_size(new), item_size(old)), transactional=transactional)
    if not old_known:
        cost.note("Put priced by the new item; a larger item it replaced would cost more")
    _gsi_put(cost, new, old, indexes, old_known)
    return cost


def _cost_update(
    params: Mapping[str, Any], response: Mapping[str, Any], transactional: bool, indexes: Indexes | None
) -> Cost:
    cost = Cost()
    returned = response.get("Attributes")
    mode = params.get("ReturnValues")
    after = returned if mode == "ALL_NEW" and returned else None
    if after is not None:
        size = item_size(after)
    elif mode == "ALL_OLD" and returned:
        size = max(item_size(returned), approximate_updated_item_size(params))
        cost.note("UpdateItem after image approximated from ALL_OLD plus the update values")
    else:
        size = approximate_updated_item_size(params)
        cost.note("UpdateItem item size approximated from the key and the update values")
    cost.wru = write_units(size, transactional=transactional)
    _gsi_update(cost, params, after, indexes)
    return cost


def _cost_delete(
    params: Mapping[str, Any], response: Mapping[str, Any], transactional: bool, indexes: Indexes | None
) -> Cost:
    cost = Cost()
    old = response.get("Attributes") if params.get("ReturnValues") == "ALL_OLD" else None
    if old is None:
        cost.note("DeleteItem priced by its key (the deleted item's size is unknown)")
    cost.wru = write_units(item_size(old) if old else item_size(params.get("Key")), transactional=transactional)
    if old is not None:
        _gsi_put(cost, None, old, indexes, True)
    elif indexes:
        cost.note("index deletes of a DeleteItem are unknown without ALL_OLD (not counted)")
    return cost


def _cost_batch_write(params: Mapping[str, Any], indexes: Indexes | None) -> Cost:
    cost = Cost()
    for requests in (params.get("RequestItems") or {}).values():
        for request in requests:
            if "PutRequest" in request:
                cost += _cost_put(request["PutRequest"], {}, False, indexes)
            elif "DeleteRequest" in request:
                cost += _cost_delete(request["DeleteRequest"], {}, False, indexes)
    return cost


def _cost_transact_write(params: Mapping[str, Any], indexes: Indexes | None) -> Cost:
    cost = Cost()
    for action in params.get("TransactItems") or []:
        if "Put" in action:
            cost += _cost_put(action["Put"], {}, True, indexes)
        elif "Update" in action:
            cost += _cost_update(action["Update"], {}, True, indexes)
        elif "Delete" in action:
            cost += _cost_delete(action["Delete"], {}, True, indexes)
        elif "ConditionCheck" in action:
            cost.wru += write_units(item_size(action["ConditionCheck"].get("Key")), transactional=True)
            cost.note("ConditionCheck priced by its key (the checked item's size is unknown)")
    return cost


def cost_of(
    operation: str,
    params: Mapping[str, Any],
    response: Mapping[str, Any] | None = None,
    *,
    error: str | None = None,
    indexes: Indexes | None = None,
) -> Cost:
    """The request units of one DynamoDB call (params and response in the wire format)."""
    response = response or {}
    if operation == "GetItem":
        cost = _cost_get(params, response)
    elif operation == "BatchGetItem":
        cost = _cost_batch_get(params, response)
    elif operation in ("Query", "Scan"):
        cost = _cost_query(params, response)
    elif operation == "TransactGetItems":
        cost = _cost_transact_get(params, response)
    elif operation == "PutItem":
        cost = _cost_put(params, response, False, indexes)
    elif operation == "UpdateItem":
        cost = _cost_update(params, response, False, indexes)
    elif operation == "DeleteItem":
        cost = _cost_delete(params, response, False, indexes)
    elif operation == "BatchWriteItem":
        cost = _cost_batch_write(params, indexes)
    elif operation == "TransactWriteItems":
        cost = _cost_transact_write(params, indexes)
    else:
        return Cost()  # control-plane calls (DescribeTable, ...) are not billed per request
    if error:
        if operation in READ_OPERATIONS and operation != "TransactGetItems":
            cost = Cost()
            cost.note(f"{operation} failed ({error}): not priced")
        else:
            cost.note(f"{operation} failed ({error}): priced as if it had run (AWS still charges the attempt)")
    return cost


def cost_call(call: Any, *, indexes: Indexes | None = None) -> Cost:
    """The cost of a `chalicelib.db.telemetry.Call` (duck-typed: operation, params, response, error)."""
    return cost_of(
        call.operation,
        call.params,
        getattr(call, "response", None),
        error=getattr(call, "error", None),
        indexes=indexes,
    )


def cost_calls(calls: Iterable[Any], *, indexes: Indexes | None = None) -> Cost:
    total = Cost()
    for call in calls:
        total += cost_call(call, indexes=indexes)
    return total


def indexes_from_table(description: Mapping[str, Any]) -> dict[str, Index]:
    """`{index: Index((hash key, range key), projection)}` from a DescribeTable `Table`
    description (or the table's CloudFormation properties: the same field names)."""
    table_keys = tuple(k["AttributeName"] for k in description.get("KeySchema") or []) or ("PK", "SK")
    found: dict[str, Index] = {}
    for index in description.get("GlobalSecondaryIndexes") or []:
        schema = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        projection = index.get("Projection") or {}
        found[index["IndexName"]] = Index(
            (schema["HASH"], schema.get("RANGE")),
            projection.get("ProjectionType", "ALL"),
            frozenset(projection.get("NonKeyAttributes") or ()),
            table_keys,
        )
    return found
