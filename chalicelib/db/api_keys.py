"""Public API keys (listing in the tenant partition, lookup by hash in a platform
partition, written together) and the fixed-window rate counters of public requests."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import ApiKeyItem, CounterItem


def _listing(tenant: str, key_id: str) -> ApiKeyItem:
    return ApiKeyItem(keys.tenant_pk(tenant), keys.api_key_sk(key_id))


def _lookup(key_hash: str) -> ApiKeyItem:
    return ApiKeyItem(keys.api_key_lookup_pk(key_hash), keys.API_KEY_SK)


def create(tenant: str, data: dict[str, Any]) -> None:
    """The listing and the lookup item, in one transaction."""
    listing = ApiKeyItem(keys.tenant_pk(tenant), keys.api_key_sk(data["id"]), tenant=tenant, **data)
    lookup = ApiKeyItem(keys.api_key_lookup_pk(data["key_hash"]), keys.API_KEY_SK, tenant=tenant, **data)
    with transactions.write() as tx:
        tx.save(listing, condition=ApiKeyItem.PK.does_not_exist(), label="listing")
        tx.save(lookup, condition=ApiKeyItem.PK.does_not_exist(), label="lookup")


def get(tenant: str, key_id: str) -> dict[str, Any] | None:
    try:
        return values(ApiKeyItem.get(keys.tenant_pk(tenant), keys.api_key_sk(key_id), consistent_read=True))
    except ApiKeyItem.DoesNotExist:
        return None


def lookup(key_hash: str) -> dict[str, Any] | None:
    """The key with this hash (strongly consistent: a revoked key is refused at once)."""
    try:
        return values(ApiKeyItem.get(keys.api_key_lookup_pk(key_hash), keys.API_KEY_SK, consistent_read=True))
    except ApiKeyItem.DoesNotExist:
        return None


def list_page(tenant: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    scope = f"{tenant}:api-keys"
    result = ApiKeyItem.query(
        keys.tenant_pk(tenant),
        ApiKeyItem.SK.startswith(keys.API_KEY_PREFIX),
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    items = [values(i) for i in result]
    return items, cursors.encode(result.last_evaluated_key, scope)


def revoke(tenant: str, key_id: str, key_hash: str, at: str) -> None:
    """Marks both items revoked, in one transaction."""
    with transactions.write() as tx:
        for item in (_listing(tenant, key_id), _lookup(key_hash)):
            tx.update(item, actions=[ApiKeyItem.revoked_at.set(at)], condition=ApiKeyItem.PK.exists(), label="key")


def count(tenant: str, what: str, who: str, window: str, limit: int, expires_at: int) -> bool:
    """One more request in this window, unless `limit` were already counted (then False)."""
    counter = CounterItem(keys.rate_pk(tenant, what, who), window)
    try:
        counter.update(
            actions=[
                CounterItem.count.add(1),
                CounterItem.kind.set(CounterItem),
                CounterItem.expires_at.set(expires_at),
            ],
            condition=CounterItem.count.does_not_exist() | (CounterItem.count < limit),
        )
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True
