"""Reading counter items (aggregates, access windows, usage), whose counters have free names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.db.base import connection
from chalicelib.settings import get_settings

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
        request = {table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in keys_[start : start + 100]]}}
        while request:
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[(item["PK"]["S"], item["SK"]["S"])] = _plain(item)
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
