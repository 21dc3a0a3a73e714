"""Announcements (公告板) with read receipts, and the glossary of standard phrases (常用术语)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.db import config as config_db
from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import AnnouncementItem, PhraseItem, ReadItem

RECENT = 50  # the announcements a board shows: the newest 50
GLOSSARY_CATEGORIES = "glossary_categories"  # the list phrases are filed under (DictionaryKind)


def put_announcement(tenant: str, data: dict[str, Any]) -> None:
    item = AnnouncementItem(keys.tenant_pk(tenant), keys.announcement_sk(data["created_at"], data["id"]), **data)
    item.save(condition=AnnouncementItem.PK.does_not_exist())


def recent_announcements(tenant: str) -> list[dict[str, Any]]:
    query = AnnouncementItem.query(
        keys.tenant_pk(tenant),
        AnnouncementItem.SK.startswith(keys.ANNOUNCEMENT_PREFIX),
        scan_index_forward=False,
        limit=RECENT,
    )
    return [values(i) for i in query]


def read_ids(tenant: str, user_id: str) -> set[str]:
    return {i.SK for i in ReadItem.query(keys.reads_pk(tenant, user_id))}


def mark_read(tenant: str, user_id: str, announcement_id: str, at: str) -> None:
    ReadItem(keys.reads_pk(tenant, user_id), announcement_id, at=at).save()


def delete_announcement(tenant: str, created_at: str, announcement_id: str) -> bool:
    item = AnnouncementItem(keys.tenant_pk(tenant), keys.announcement_sk(created_at, announcement_id))
    try:
        item.delete(condition=AnnouncementItem.PK.exists())
    except DeleteError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def put_phrase(tenant: str, data: dict[str, Any], *, mark_used: str | None = None) -> None:
    """A new phrase; `mark_used`: its category, recorded in use in the glossary_categories
    list in the same transaction (a used key can be retired, not deleted)."""
    item = PhraseItem(keys.tenant_pk(tenant), keys.glossary_sk(data["id"]), **data)
    if mark_used is None:
        item.save()
        return
    with transactions.write() as tx:
        tx.save(item, label="phrase")
        config_db.mark_used(tx, tenant, GLOSSARY_CATEGORIES, {mark_used})


def update_phrase(
    tenant: str, phrase_id: str, changes: dict[str, str], *, mark_used: str | None = None
) -> dict[str, Any] | None:
    """Sets the fields given (and updated_by/updated_at) on a phrase that exists; the phrase as
    it is then, or None when there is none (an edit never brings a deleted phrase back). Only
    the fields given are written: two edits at once each keep their own fields, and the last
    writer's value of a field they share. `mark_used` as in put_phrase."""
    item = PhraseItem(keys.tenant_pk(tenant), keys.glossary_sk(phrase_id))
    actions = [getattr(PhraseItem, name).set(value) for name, value in changes.items()]
    try:
        if mark_used is None:
            item.update(actions=actions, condition=PhraseItem.PK.exists())
        else:
            with transactions.write() as tx:
                tx.update(item, actions=actions, condition=PhraseItem.PK.exists(), label="phrase")
                config_db.mark_used(tx, tenant, GLOSSARY_CATEGORIES, {mark_used})
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return None
        raise
    except transactions.TransactionConflict:
        return None  # the one condition: the phrase exists
    if mark_used is not None:  # a transaction returns no attributes: read what was written
        try:
            return values(PhraseItem.get(keys.tenant_pk(tenant), keys.glossary_sk(phrase_id), consistent_read=True))
        except PhraseItem.DoesNotExist:
            return None
    return values(item)


def phrases(tenant: str) -> list[dict[str, Any]]:
    query = PhraseItem.query(keys.tenant_pk(tenant), PhraseItem.SK.startswith(keys.GLOSSARY_PREFIX))
    return [values(i) for i in query]


def phrase_category(tenant: str, phrase_id: str) -> str | None:
    """A phrase's stored category (None: no such phrase): one GetItem."""
    try:
        return str(PhraseItem.get(keys.tenant_pk(tenant), keys.glossary_sk(phrase_id)).category)
    except PhraseItem.DoesNotExist:
        return None


def delete_phrase(tenant: str, phrase_id: str) -> bool:
    try:
        PhraseItem(keys.tenant_pk(tenant), keys.glossary_sk(phrase_id)).delete(condition=PhraseItem.PK.exists())
    except DeleteError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True
