"""Reading counter items (aggregates, access windows, usage), whose counters have free names."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.db.base import connection
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalicelib.schemas.users import UserRecord

_META = {"PK", "SK", "type", "expires_at"}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in item.items():
        if name in _META:
            continue
        if "N" in value:
            number = Decimal(value["N"])
            out[name] = int(number) if number == number.to_integral_value() else float(number)
        elif "S" in value:
            out[name] = value["S"]
    return out


def get_many(wanted: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Counter items by key (BatchGetItem, 100 keys a call, unprocessed keys retried)."""
    client, table = connection().client, get_settings().table_name
    found: dict[tuple[str, str], dict[str, Any]] = {}
    keys_ = list(dict.fromkeys(wanted))
    for start in range(0, len(keys_), 100):
        request: dict[str, Any] | None = {
            table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in keys_[start : start + 100]]}
        }
        while request:
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[(item["PK"]["S"], item["SK"]["S"])] = _plain(item)
            request = answer.get("UnprocessedKeys") or None
    return found


def window_reads(tenant: str, user_id: str, sks: list[str], *, now: float) -> tuple[dict[str, int], UserRecord | None]:
    """A user's weighted customer-data reads in these access windows (by SK; 0 if none yet)
    and the user's own item as it is now (None: no such user), in one BatchGetItem. The user is
    kept as this container's recent read of them (read at `now`; db/users.py `recent`)."""
    from chalicelib.db import keys
    from chalicelib.db import users as users_db

    access = keys.access_pk(tenant, user_id)
    user = (keys.users_pk(tenant), keys.user_sk(user_id))
    mark = users_db.recent_mark(tenant, user_id)
    raw = _get_raw([(access, sk) for sk in sks] + [user])
    found = {key: _plain(item) for key, item in raw.items() if key != user}
    record = users_db.from_raw(raw[user]) if user in raw else None
    if record is not None:
        users_db.remember(tenant, record, now, mark)
    used = {sk: int(found.get((access, sk), {}).get("weight", 0)) for sk in sks}
    return used, record


def _get_raw(wanted: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Items by key as the low-level client returns them (BatchGetItem, at most 100 keys,
    unprocessed keys retried)."""
    client, table = connection().client, get_settings().table_name
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] | None = {table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in wanted]}}
    while request:
        answer = client.batch_get_item(RequestItems=request)
        for item in answer.get("Responses", {}).get(table, []):
            found[(item["PK"]["S"], item["SK"]["S"])] = item
        request = answer.get("UnprocessedKeys") or None
    return found


def query(pk: str, prefix: str | None = None) -> dict[str, dict[str, Any]]:
    """Every counter item of a partition (optionally under an SK prefix), by SK."""
    client, table = connection().client, get_settings().table_name
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :p" + (" AND begins_with(SK, :s)" if prefix else ""),
        "ExpressionAttributeValues": {":p": {"S": pk}, **({":s": {"S": prefix}} if prefix else {})},
    }
    found: dict[str, dict[str, Any]] = {}
    while True:
        answer = client.query(**params)
        for item in answer.get("Items", []):
            found[item["SK"]["S"]] = _plain(item)
        if not answer.get("LastEvaluatedKey"):
            return found
        params["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def recount_day(tenant: str, campus_ids: list[str], lo: str, hi: str, day: str) -> dict[str, int]:
    """Yesterday's figures recounted from the source items, through their indexes: the
    follow-ups of each campus (GSI3 by time), the contracts signed (GSI1 by month, the day
    as a filter) and the payments and refunds (GSI1 by month, by date). For the self-check."""
    from collections import Counter

    from chalicelib.db import hydrate, keys
    from chalicelib.db.items import ContractItem, FollowUpItem, PaymentItem

    found: Counter[str] = Counter()
    for campus in campus_ids:
        query = FollowUpItem.gsi3.query(keys.follow_ups_in(tenant, campus), FollowUpItem.GSI3SK.between(lo, hi + "~"))
        for follow_up in query:  # GSI3 holds the method: no need of the whole item
            found["follow_ups"] += 1
            found[f"follow_ups_{follow_up.method}"] += 1
    month = day[:7]
    signed = ContractItem.gsi1.query(keys.contracts_in(tenant, month), filter_condition=ContractItem.signed_on == day)
    for contract in hydrate.full(list(signed), "GSI1"):
        found["contracts"] += 1
        found["contract_value"] += int(contract.price) - int(contract.discount or 0)
    paid = PaymentItem.gsi1.query(keys.payments_in(tenant, month), PaymentItem.GSI1SK.startswith(day + "#"))
    for payment in hydrate.full(list(paid), "GSI1"):
        what = "revenue" if payment.payment_kind == "payment" else "refunds"
        found[what] += int(payment.amount)
    return dict(found)


CHECK_SK = "check#all"


def record_check(
    tenant: str, day: str, drift: dict[str, Any], checked_at: str, *, kept: dict[str, Any] | None = None
) -> bool:
    """The self-check's verdict on a day, kept beside that day's figures. With `kept` (the
    verdict stored before, as `get_many` reads it), an unchanged verdict is not written
    again (False): a rerun with nothing new writes nothing, the first check's time stays."""
    from chalicelib.db import keys

    verdict = ", ".join(f"{k}: {v}" for k, v in sorted(drift.items())) or "none"
    if kept is not None and kept.get("drift") == verdict:
        return False
    client, table = connection().client, get_settings().table_name
    client.put_item(
        TableName=table,
        Item={
            "PK": {"S": keys.aggregate_pk(tenant, day)},
            "SK": {"S": CHECK_SK},
            "type": {"S": "Aggregate"},
            "checked_at": {"S": checked_at},
            "drift": {"S": verdict},
        },
    )
    return True
