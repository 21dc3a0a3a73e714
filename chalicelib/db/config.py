"""Tenant configuration items (CONFIG# in the tenant partition)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.db import keys, transactions
from chalicelib.db.items import ConfigItem
from chalicelib.db.recent import Recent


@dataclass
class StoredConfig:
    """What a tenant has stored; None where it keeps the defaults."""

    dictionaries: dict[str, tuple[Any, set[str]]] = field(default_factory=dict)  # kind -> (entries, used keys)
    lead_settings: Any = None
    assessment: Any = None
    card_settings: Any = None
    messaging: Any = None
    security: Any = None
    lead_fields: Any = None
    lead_fields_used: set[str] = field(default_factory=set)  # field keys some lead has a value for


# `mark_used`'s kind for the school's own lead fields: their keys in use (not a list's name:
# a list is named by CUSTOM_NAME_PATTERN, which has no #)
FIELDS = "#fields"


def _used_sk(kind: str) -> str:
    return keys.LEAD_FIELDS_SK if kind == FIELDS else keys.dictionary_sk(kind)


def load_all(tenant: str, *, consistent: bool = False) -> StoredConfig:
    """Every configuration item of a tenant, in one Query."""
    found = StoredConfig()
    dictionary_prefix = keys.dictionary_sk("")
    query = ConfigItem.query(
        keys.tenant_pk(tenant), ConfigItem.SK.startswith(keys.CONFIG_PREFIX), consistent_read=consistent
    )
    for item in query:
        if item.SK.startswith(dictionary_prefix):
            found.dictionaries[item.SK[len(dictionary_prefix) :]] = (item.body, set(item.used_keys or ()))
        elif item.SK == keys.LEAD_SETTINGS_SK:
            found.lead_settings = item.body
        elif item.SK == keys.ASSESSMENT_SK:
            found.assessment = item.body
        elif item.SK == keys.CARD_SETTINGS_SK:
            found.card_settings = item.body
        elif item.SK == keys.MESSAGING_SETTINGS_SK:
            found.messaging = item.body
        elif item.SK == keys.SECURITY_SETTINGS_SK:
            found.security = item.body
        elif item.SK == keys.LEAD_FIELDS_SK:
            found.lead_fields, found.lead_fields_used = item.body, set(item.used_keys or ())
    return found


RECENT_CONFIGS = 1024  # tenants' configurations this container keeps at most (see db/recent.py)
_recent: Recent[str, StoredConfig] = Recent(RECENT_CONFIGS)


def recent(tenant: str, *, now: float, within: float) -> StoredConfig:
    """`load_all` as this container read it less than `within` seconds before `now`, else read
    now and kept. Shared between requests: never change what it returns. Every write below
    forgets it, so this container sees its own changes at once."""
    found, _ = _recent.get_or_read(tenant, now, within, lambda strong: load_all(tenant, consistent=strong))
    assert found is not None  # load_all always answers (the defaults when nothing is stored)
    return found


def retention_on(tenant: str, now: float) -> bool:
    """Whether the school erases leads untouched for years (its `erase_untouched_after_years`),
    as this container read its settings in the 30 s before `now` (the write's own time, the
    clock the settings' reads keep): the lead writes file a lead for the retention job only
    then, so a school without it pays no unit for the marker."""
    body = recent(tenant, now=now, within=30.0).lead_settings or {}
    return bool(body.get("erase_untouched_after_years"))


def forget(tenant: str) -> None:
    _recent.forget(tenant)


def put_dictionary(tenant: str, kind: str, entries: Any, *, must_not_use: set[str]) -> bool:
    """Replaces a dictionary unless one of `must_not_use` became used meanwhile (then False)."""
    return _put(tenant, keys.dictionary_sk(kind), entries, must_not_use=must_not_use)


def put_lead_fields(tenant: str, fields: Any, *, must_not_use: set[str]) -> bool:
    """Replaces the school's lead fields unless one of `must_not_use` (fields removed or
    retyped) became used meanwhile (then False)."""
    return _put(tenant, keys.LEAD_FIELDS_SK, fields, must_not_use=must_not_use)


def put_lead_settings(tenant: str, body: Any) -> None:
    _put(tenant, keys.LEAD_SETTINGS_SK, body)


def put_assessment(tenant: str, body: Any) -> None:
    _put(tenant, keys.ASSESSMENT_SK, body)


def put_card_settings(tenant: str, body: Any) -> None:
    _put(tenant, keys.CARD_SETTINGS_SK, body)


def put_messaging_settings(tenant: str, body: Any) -> None:
    _put(tenant, keys.MESSAGING_SETTINGS_SK, body)


def put_security_settings(tenant: str, body: Any) -> None:
    _put(tenant, keys.SECURITY_SETTINGS_SK, body)


def _put(tenant: str, sk: str, body: Any, *, must_not_use: Set[str] = frozenset()) -> bool:
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
        if transactions.condition_failed(exc):
            return False  # (the caller re-reads: forgotten below, it reads the item as it is now)
        raise
    finally:
        forget(tenant)
    return True


def mark_used_now(tenant: str, kind: str, used: set[str]) -> None:
    """Outside a transaction (an import marks its values once, before its many writes)."""
    item = ConfigItem(keys.tenant_pk(tenant), _used_sk(kind))
    try:
        item.update(actions=[ConfigItem.used_keys.add(used), ConfigItem.kind.set(ConfigItem)])
    finally:
        forget(tenant)


def mark_used(tx: Any, tenant: str, kind: str, used: set[str]) -> None:
    """Inside a lead's transaction: record that these dictionary keys (kind FIELDS: these
    lead fields of the school's own) are in use."""
    item = ConfigItem(keys.tenant_pk(tenant), _used_sk(kind))
    tx.update(item, actions=[ConfigItem.used_keys.add(used), ConfigItem.kind.set(ConfigItem)], label="config")
    forget(tenant)  # the next load reads the used keys again (else the next lead marks them again)
