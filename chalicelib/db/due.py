"""Reads of the sparse DUE index, across every shard of a bucket."""

from __future__ import annotations

from typing import Any

from chalicelib.db import keys
from chalicelib.db.base import BaseItem
from chalicelib.db.convert import values


def due_items(kind: str, bucket: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for shard in range(keys.DUE_SHARDS):
        for item in BaseItem.due.query(keys.due_pk(kind, bucket, shard)):
            found.append({"PK": item.PK, "SK": item.SK, **values(item)})
    return found
