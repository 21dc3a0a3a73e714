"""Tenant configuration items (CONFIG# in the tenant partition)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.db import keys
from chalicelib.db.items import ConfigItem


def load_all(tenant: str) -> dict[str, tuple[Any, set[str]]]:
    """Every configuration item of a tenant: SK -> (body or None, used keys). One Query."""
    found: dict[str, tuple[Any, set[str]]] = {}
    for item in ConfigItem.query(keys.tenant_pk(tenant), ConfigItem.SK.startswith(keys.CONFIG_PREFIX)):
        found[item.SK] = (item.body, set(item.used_keys or ()))
    return found


def put(tenant: str, sk: str, body: Any, *, must_not_use: set[str] = frozenset()) -> bool:
    """Writes a configuration body, keeping its used keys; False if one of `must_not_use`
    became used meanwhile (the caller re-reads and explains)."""
    item = ConfigItem(keys.tenant_pk(tenant), sk)
    condition = None
    for key in sorted(must_not_use):
        clause = ~ConfigItem.used_keys.contains(key)
        condition = clause if condition is None else condition & clause
    try:
        item.update(actions=[ConfigItem.body.set(body), ConfigItem.kind.set(ConfigItem)], condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def mark_used(tx: Any, tenant: str, kind: str, used: set[str]) -> None:
    """Inside a lead's transaction: record that these dictionary keys are in use."""
    item = ConfigItem(keys.tenant_pk(tenant), keys.dictionary_sk(kind))
    tx.update(item, actions=[ConfigItem.used_keys.add(used), ConfigItem.kind.set(ConfigItem)], label="config")
