"""Reads of the sparse DUE index, across every shard of a bucket."""

from __future__ import annotations

from collections.abc import Iterator

from chalicelib.db import keys
from chalicelib.db.base import BaseItem


def items(kind: str, bucket: str) -> Iterator[tuple[str, BaseItem]]:
    """(tenant, item) of everything filed under one bucket of the DUE index, every shard,
    every tenant. Platform items (no tenant) are left out."""
    for shard in range(keys.DUE_SHARDS):
        for item in BaseItem.due.query(keys.due_pk(kind, bucket, shard)):
            tenant = keys.tenant_of_key(item.PK)
            if tenant:
                yield tenant, item


def reclaim_candidates(day: str) -> list[tuple[str, str]]:
    """(tenant, lead id) of owned leads whose protection period ends on `day`, every tenant."""
    return [(tenant, item.DUESK) for tenant, item in items("RECLAIM", day)]


def keyed_candidates(kind: str, bucket: str) -> list[tuple[str, str]]:
    """(tenant, item PK) of everything filed under a bucket whose DUESK is the item's PK."""
    return [(tenant, item.PK) for tenant, item in items(kind, bucket)]
