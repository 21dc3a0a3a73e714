"""Reads of the sparse DUE index, across every shard of a bucket."""

from __future__ import annotations

from chalicelib.db import keys
from chalicelib.db.base import BaseItem


def reclaim_candidates(day: str) -> list[tuple[str, str]]:
    """(tenant, lead id) of owned leads whose protection period ends on `day`, every tenant."""
    found = []
    for shard in range(keys.DUE_SHARDS):
        for item in BaseItem.due.query(keys.due_pk("RECLAIM", day, shard)):
            tenant = keys.tenant_of_key(item.PK)
            if tenant:
                found.append((tenant, item.DUESK))
    return found


def keyed_candidates(kind: str, bucket: str) -> list[tuple[str, str]]:
    """(tenant, item PK) of everything filed under a bucket whose DUESK is the item's PK."""
    found = []
    for shard in range(keys.DUE_SHARDS):
        for item in BaseItem.due.query(keys.due_pk(kind, bucket, shard)):
            tenant = keys.tenant_of_key(item.PK)
            if tenant:
                found.append((tenant, item.PK))
    return found
