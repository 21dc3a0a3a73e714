"""Whole items for what an index query found.

The indexes hold only keys and the attributes lists filter on (db/base.py PROJECTIONS), so
a reader that shows more fetches the items from the table: one BatchGetItem per 100 items
(a page is bounded, so is this), in the order the index gave them.

An item is kept only while it is still where the index found it: one deleted meanwhile,
or moved out of the partition that was read (a lead handed to another owner, another
campus), is left out rather than shown as it is now to someone whose list it has left.
The index's sort key is kept, so a merged page and its cursor see the order they read.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from pynamodb.models import Model

from chalicelib.db.base import connection
from chalicelib.settings import get_settings

_M = TypeVar("_M", bound=Model)

BATCH = 100


def _key(item: Any) -> tuple[str, str]:
    return item.PK, item.SK


def raw_items(wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Items by (PK, SK), in the wire format: BatchGetItem, 100 keys a call, unprocessed keys retried."""
    client, table = connection().client, get_settings().table_name
    found: dict[tuple[str, str], dict[str, Any]] = {}
    unique = list(dict.fromkeys(wanted))
    for start in range(0, len(unique), BATCH):
        request: dict[str, Any] = {
            table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in unique[start : start + BATCH]]}
        }
        for attempt in itertools.count():
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                found[(item["PK"]["S"], item["SK"]["S"])] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            # throttled: back off before asking again (AWS's advice for unprocessed keys)
            time.sleep(min(1.0, 0.025 * 2**attempt) * (0.5 + random.random() / 2))  # noqa: S311 - jitter
    return found


def full(items: Sequence[_M], index: str | None) -> list[_M]:
    """The whole items of index items (`index`: the index they were read from, e.g. "GSI1"),
    in order; those gone or moved out of their index partition are left out."""
    if not items:
        return []
    found = raw_items([_key(i) for i in items])
    out: list[_M] = []
    for item in items:
        raw = found.get(_key(item))
        if raw is None:
            continue
        if index:
            hk, rk = f"{index}PK", f"{index}SK"
            if raw.get(hk, {}).get("S") != getattr(item, hk):
                continue
            raw = {**raw, rk: {"S": getattr(item, rk)}}
        out.append(type(item).from_raw_data(raw))
    return out


def index_of(result: Any) -> str | None:
    """The index a pynamodb query result reads (None: the table itself)."""
    name: str | None = result.page_iter._kwargs.get("index_name")
    return name
