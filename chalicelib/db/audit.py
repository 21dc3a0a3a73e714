"""Audit entries: one item each, of at most 1 KB, keyed by its user and time; the entries that
name a lead are also in GSI2 by lead, read as keys only. Each expires after the retention.

Pages (newest first): a user's entries are one partition; a lead's are one GSI2 partition,
whose keys are then read whole (BatchGetItem); a range of days is every user's partition
(and the no-user partition) merged, the cursor one sort key (`_merged`).
"""

from __future__ import annotations

import re
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.db import cursor as cursors
from chalicelib.db import keys
from chalicelib.db.base import connection
from chalicelib.db.convert import values
from chalicelib.db.items import AuditItem, UserItem
from chalicelib.db.paging import first_page
from chalicelib.settings import get_settings

MAX_BYTES = 1024  # an entry is one write unit (DynamoDB's size: attribute names plus values)
# What a request or a caller decides is bounded first (UTF-8 bytes, cut with "…"); whatever is
# still over MAX_BYTES is then cut from the user agent, the details, then the longest params.
BOUNDS = {
    "username": 64,
    "role": 16,
    "action": 32,
    "method": 8,
    "route": 64,
    "ip": 45,
    "user_agent": 256,
    "details": 300,
}
MAX_PARAMS, PARAM_NAME, PARAM_VALUE = 8, 32, 100
_LEAD_ID = re.compile(r"[0-9A-Za-z_-]{1,40}")  # a lead id (26 characters) as a key may hold it
_ELLIPSIS = "…"


def put(tenant: str, data: dict[str, Any], expires_at: int) -> None:
    """Writes one entry: `data` as domain/audit_log.py builds it (its `id` goes into the sort
    key only; a `lead_id` that is an id puts it into GSI2), fitted into MAX_BYTES."""
    at = keys.stamp(data["at"])
    if at is None:  # every entry has its time (None[:10] was a TypeError too)
        raise TypeError("an audit entry without `at`")
    user_id = data.get("user_id") or None
    lead = data.get("lead_id")
    lead = lead if isinstance(lead, str) and _LEAD_ID.fullmatch(lead) else None
    params = {
        _clip(str(k), PARAM_NAME): _clip(str(v), PARAM_VALUE)
        for k, v in list((data.get("params") or {}).items())[:MAX_PARAMS]
        if not (lead and k == "lead_id" and v == lead)  # the entry's lead_id: read back from it
    }
    sort = keys.audit_sk(at, data["id"])
    item = AuditItem(keys.audit_pk(tenant, user_id), sort, at=at, action=_clip(data["action"], BOUNDS["action"]))
    for name, limit in BOUNDS.items():
        if name != "action" and data.get(name):
            setattr(item, name, _clip(str(data[name]), limit) or None)
    item.user_id, item.lead_id, item.params = user_id, lead, params
    item.status = data.get("status")
    item.weight = data.get("weight") or None  # absent: 0, as the stream and the pages read it
    item.epoch = data.get("epoch") or None
    item.campus_ids = set(data["campus_ids"]) if data.get("campus_ids") else None  # all kept: who sees it
    if lead:
        item.GSI2PK, item.GSI2SK = keys.audit_of_lead(tenant, lead), sort
    item.expires_at = expires_at
    _fit(item, params)
    item.save()


def _fit(item: AuditItem, params: dict[str, str]) -> None:
    """Cuts the user agent, then the details, then the longest params until the item holds
    MAX_BYTES. Only the campuses can keep it over (a user of more than 12 campuses)."""
    for name in ("user_agent", "details"):
        over = size(item.serialize()) - MAX_BYTES
        text = getattr(item, name)
        if over <= 0:
            return
        if text:
            setattr(item, name, _clip(text, len(text.encode()) - over) or None)
    while (over := size(item.serialize()) - MAX_BYTES) > 0 and params:
        name = max(params, key=lambda k: len(params[k].encode()))
        cut = _clip(params[name], len(params[name].encode()) - over)
        if cut:
            params[name] = cut
        else:
            del params[name]
        item.params = params


def _clip(text: str, limit: int) -> str:
    raw = text.encode()
    if len(raw) <= limit:
        return text
    if limit <= len(_ELLIPSIS.encode()):
        return ""
    return raw[: limit - len(_ELLIPSIS.encode())].decode(errors="ignore") + _ELLIPSIS


def size(item: dict[str, Any]) -> int:
    """An item's size by DynamoDB's rules, from its wire form (numbers rounded up)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return len(raw.lstrip("-").replace(".", "").strip("0")) // 2 + 2
    if kind == "SS":
        return sum(len(v.encode()) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in raw)
    return 1  # BOOL, NULL (an audit entry holds no binary, number set or binary set)


def page(
    tenant: str,
    *,
    user: str | None,
    lead: str | None,
    lo: str,
    hi: str,
    limit: int,
    cursor: str | None,
    scope: str,
    campuses: list[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, `lo` to `hi` (times): a user's partition (a lead as a filter on it); else
    a lead's GSI2 partition; else every user's partition and the no-user one, merged.
    `campuses` (None: all) keeps the entries stamped with one of those campuses (a filter: it
    trims a page, never reads more); the no-user entries carry none, so it skips them."""
    between = (lo, hi + "~")
    if lead and not user:
        return _by_lead(tenant, lead, between, limit=limit, cursor=cursor, scope=scope, campuses=campuses)
    if user:
        parts = [keys.audit_pk(tenant, user)]
    else:
        parts = [keys.audit_pk(tenant, u) for u in _user_ids(tenant)]
        if campuses is None:
            parts.append(keys.audit_pk(tenant, None))
    condition = _both((AuditItem.lead_id == lead) if lead else None, _of_campuses(campuses))
    items, below = _merged(parts, between, condition, limit, cursors.decode(cursor, scope))
    return [_entry(i) for i in items], cursors.encode({"below": below} if below else None, scope)


def _merged(
    parts: list[str], between: tuple[str, str], condition: Condition | None, limit: int, state: dict[str, Any] | None
) -> tuple[list[AuditItem], str | None]:
    """One page of the partitions merged newest first, and the sort key it stopped at. Every
    partition shares one order of unique sort keys (`<at>#<id>`), so where a page stopped is
    one key, whatever the number of partitions (the cursor stays small): the next page reads
    each partition from below it. A partition read to its page's end (`limit` evaluated, or
    1 MB) may hold more above another's items: the page emits nothing below the highest such
    point, and stops there."""
    below = (state or {}).get("below")
    candidates: list[AuditItem] = []
    frontiers: list[str] = []
    for part in dict.fromkeys(parts):
        result = AuditItem.query(
            part,
            AuditItem.SK.between(*between),
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key={"PK": {"S": part}, "SK": {"S": below}} if below else None,
        )
        items, last = first_page(result, AuditItem)
        candidates += items
        if last:
            frontiers.append(last["SK"]["S"])
    bound = max(frontiers) if frontiers else None
    ready = sorted((i for i in candidates if bound is None or bound <= i.SK), key=lambda i: i.SK, reverse=True)
    if len(ready) > limit:
        return ready[:limit], ready[limit - 1].SK
    return ready, bound  # every entry from `bound` up was read in every partition


def _by_lead(
    tenant: str,
    lead: str,
    between: tuple[str, str],
    *,
    limit: int,
    cursor: str | None,
    scope: str,
    campuses: list[str] | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the lead's GSI2 keys (whatever the index projects), then the entries
    (BatchGetItem; one that expired in between is left out), the campus filter applied to them."""
    request: dict[str, Any] = {
        "TableName": get_settings().table_name,
        "IndexName": "GSI2",
        "KeyConditionExpression": "GSI2PK = :p AND GSI2SK BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":p": {"S": keys.audit_of_lead(tenant, lead)},
            ":lo": {"S": between[0]},
            ":hi": {"S": between[1]},
        },
        "ScanIndexForward": False,
        "Limit": limit,
    }
    start = cursors.decode(cursor, scope)
    if start and "GSI2PK" in start:  # an index key (a cursor of before issue 17: from the top)
        request["ExclusiveStartKey"] = start
    answer = connection().client.query(**request)
    wanted = [(i["PK"]["S"], i["SK"]["S"]) for i in answer.get("Items", [])]
    found = {(i.PK, i.SK): i for i in AuditItem.batch_get(wanted)} if wanted else {}
    seen = set(campuses) if campuses is not None else None
    items = [found[k] for k in wanted if k in found and (seen is None or seen & set(found[k].campus_ids or ()))]
    return [_entry(i) for i in items], cursors.encode(answer.get("LastEvaluatedKey"), scope)


def _user_ids(tenant: str) -> list[str]:
    """Every user of the school, active or not (their entries stay until they expire): one
    paged Query of the users' partition, keys only returned."""
    query = UserItem.query(
        keys.users_pk(tenant), UserItem.SK.startswith(keys.USER_PREFIX), attributes_to_get=["PK", "SK"]
    )
    return [item.SK[len(keys.USER_PREFIX) :] for item in query]


def _entry(item: AuditItem) -> dict[str, Any]:
    """An entry's values, its id read off its sort key (older entries also kept it)."""
    data = {k: v for k, v in values(item).items() if v is not None}
    at, entry_id = keys.audit_entry(item.SK)
    data.setdefault("at", at)
    data.setdefault("id", entry_id)
    if item.lead_id:
        data["params"] = {"lead_id": item.lead_id, **(data.get("params") or {})}
    return data


def _both(a: Condition | None, b: Condition | None) -> Condition | None:
    return b if a is None else a if b is None else a & b


def _of_campuses(campuses: list[str] | None) -> Condition | None:
    if campuses is None:
        return None
    if not campuses:
        return AuditItem.action.does_not_exist()  # no campus: nothing (every entry has its action)
    condition = AuditItem.campus_ids.contains(campuses[0])
    for campus in campuses[1:]:
        condition = condition | AuditItem.campus_ids.contains(campus)
    return condition
