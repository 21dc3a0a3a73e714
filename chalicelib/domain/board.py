"""Announcements (公告板): admins publish, every user sees the unread ones at sign-in until
they read them. The glossary (常用术语): standard phrases by category, searchable."""

from __future__ import annotations

from chalicelib.db import board as board_db
from chalicelib.domain import clock, ids
from chalicelib.domain.auth import Principal
from chalicelib.errors import NotFoundError
from chalicelib.schemas.board import Announcement, AnnouncementRequest, GlossaryQuery, Phrase, PhraseRequest
from chalicelib.schemas.common import Page

MAX_PHRASES = 500


def publish(principal: Principal, request: AnnouncementRequest) -> Announcement:
    data = {
        "id": ids.new_id(),
        "title": request.title,
        "body": request.body,
        "created_by": principal.user_id,
        "created_by_name": principal.display_name,
        "created_at": clock.iso(clock.now()),
    }
    board_db.put_announcement(principal.tenant, data)
    return Announcement(**data)


def board(tenant: str, user_id: str) -> list[Announcement]:
    """The newest announcements, each marked read or not for this user (2 Queries)."""
    read = board_db.read_ids(tenant, user_id)
    return [Announcement(**a, read=a["id"] in read) for a in board_db.recent_announcements(tenant)]


def unread(tenant: str, user_id: str) -> list[Announcement]:
    return [a for a in board(tenant, user_id) if not a.read]


def mark_read(principal: Principal, announcement_id: str) -> Announcement:
    found = next((a for a in board(principal.tenant, principal.user_id) if a.id == announcement_id), None)
    if found is None:
        raise NotFoundError("No such announcement.", code="ANNOUNCEMENT_NOT_FOUND")
    board_db.mark_read(principal.tenant, principal.user_id, announcement_id, clock.iso(clock.now()))
    return found.model_copy(update={"read": True})


def withdraw(principal: Principal, announcement_id: str) -> None:
    found = next((a for a in board(principal.tenant, principal.user_id) if a.id == announcement_id), None)
    if found is None or not board_db.delete_announcement(principal.tenant, clock.iso(found.created_at), found.id):
        raise NotFoundError("No such announcement.", code="ANNOUNCEMENT_NOT_FOUND")


def add_phrase(principal: Principal, request: PhraseRequest) -> Phrase:
    data = {
        "id": ids.new_id(),
        "category": request.category,
        "text": request.text,
        "created_by": principal.user_id,
        "created_at": clock.iso(clock.now()),
    }
    board_db.put_phrase(principal.tenant, data)
    return Phrase(**data)


def glossary(principal: Principal, query: GlossaryQuery) -> Page[Phrase]:
    """Every phrase of the school (one Query; a glossary holds at most 500), by category,
    filtered by category and by words (all of them, in any case)."""
    words = (query.q or "").casefold().split()
    found = [
        Phrase(**p)
        for p in board_db.phrases(principal.tenant)
        if (query.category is None or p["category"] == query.category)
        and all(w in (p["text"] + " " + p["category"]).casefold() for w in words)
    ]
    found.sort(key=lambda p: (p.category, p.created_at))
    return Page[Phrase](items=found[:MAX_PHRASES])


def remove_phrase(principal: Principal, phrase_id: str) -> None:
    if not board_db.delete_phrase(principal.tenant, phrase_id):
        raise NotFoundError("No such phrase.", code="PHRASE_NOT_FOUND")
