"""Announcements (公告板) with read receipts, and the glossary of standard phrases (常用术语)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError

from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import AnnouncementItem, PhraseItem, ReadItem

RECENT = 50  # the announcements a board shows: the newest 50


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


def put_phrase(tenant: str, data: dict[str, Any]) -> None:
    PhraseItem(keys.tenant_pk(tenant), keys.glossary_sk(data["id"]), **data).save()


def phrases(tenant: str) -> list[dict[str, Any]]:
    query = PhraseItem.query(keys.tenant_pk(tenant), PhraseItem.SK.startswith(keys.GLOSSARY_PREFIX))
    return [values(i) for i in query]


def delete_phrase(tenant: str, phrase_id: str) -> bool:
    try:
        PhraseItem(keys.tenant_pk(tenant), keys.glossary_sk(phrase_id)).delete(condition=PhraseItem.PK.exists())
    except DeleteError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True
