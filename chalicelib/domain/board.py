"""Announcements (公告板): admins publish, every user sees the unread ones at sign-in until
they read them. The glossary (常用术语): standard phrases by category, searchable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.db import board as board_db
from chalicelib.db import keys
from chalicelib.domain import clock, ids
from chalicelib.domain.auth import Principal
from chalicelib.errors import NotFoundError, ValidationFailedError
from chalicelib.schemas.board import (
    MAX_ATTACHMENT_BYTES,
    Announcement,
    AnnouncementRequest,
    AttachmentDownload,
    AttachmentRef,
    AttachmentUpload,
    AttachmentUploadRequest,
    GlossaryQuery,
    Phrase,
    PhrasePatchRequest,
    PhraseRequest,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.settings import Dictionary, DictionaryKind
from chalicelib.storage import UPLOAD_HEADERS, URL_SECONDS, store

MAX_PHRASES = 500


def attachment_upload(principal: Principal, request: AttachmentUploadRequest) -> AttachmentUpload:
    """Where the browser puts an attachment: a presigned URL of a fresh key of the school's
    own (S3, or the local file server), good for one PUT. The announcement names it once it
    is there."""
    attachment_id = ids.new_id()
    key = keys.attachment_upload(principal.tenant, attachment_id)
    return AttachmentUpload(
        attachment_id=attachment_id,
        upload_url=store().upload_url(key, request.content_type),
        headers={"Content-Type": request.content_type, **UPLOAD_HEADERS},
        expires_in=URL_SECONDS,
    )


def _attachment(principal: Principal, ref: AttachmentRef | None) -> dict[str, Any] | None:
    """Publishes the uploaded file: measured, then copied (only if it is still the object
    measured) to a key no upload URL reaches, with its SHA-256 recorded. What was checked is
    what is published, and nothing put through the upload URL later can change it."""
    if ref is None:
        return None
    upload = keys.attachment_upload(principal.tenant, ref.attachment_id)
    found = store().head(upload)
    if found is None:
        raise ValidationFailedError(
            "The attachment has not been uploaded (or not by this school).",
            code="ATTACHMENT_NOT_UPLOADED",
            details=[{"field": "attachment.attachment_id", "message": "no such upload"}],
        )
    if found.size > MAX_ATTACHMENT_BYTES:
        raise ValidationFailedError(
            f"An attachment may be at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
            code="ATTACHMENT_TOO_LARGE",
            details=[{"field": "attachment", "message": "too large"}],
        )
    sha256 = store().publish(upload, keys.attachment_file(principal.tenant, ref.attachment_id), found.etag)
    if sha256 is None:
        raise ValidationFailedError(
            "The attachment changed or went away while it was being published; upload it again.",
            code="ATTACHMENT_NOT_UPLOADED",
            details=[{"field": "attachment.attachment_id", "message": "changed during publishing"}],
        )
    return {
        "id": ref.attachment_id,
        "file_name": ref.file_name,
        "content_type": ref.content_type,
        "size": found.size,
        "sha256": sha256,
    }


def publish(principal: Principal, request: AnnouncementRequest) -> Announcement:
    data = {
        "id": ids.new_id(),
        "title": request.title,
        "body": request.body,
        "created_by": principal.user_id,
        "created_by_name": principal.display_name,
        "created_at": clock.iso(clock.now()),
        "attachment": _attachment(principal, request.attachment),
    }
    board_db.put_announcement(principal.tenant, data)
    return Announcement(**data)


def attachment_download(principal: Principal, announcement_id: str) -> AttachmentDownload:
    found = _on_board(principal, announcement_id)
    if found is None or found.attachment is None:
        raise NotFoundError("No such attachment.", code="ATTACHMENT_NOT_FOUND")
    key = keys.attachment_file(principal.tenant, found.attachment.id)
    return AttachmentDownload(
        **found.attachment.model_dump(),
        download_url=store().download_url(key, found.attachment.file_name),
        expires_in=URL_SECONDS,
    )


def board(tenant: str, user_id: str) -> list[Announcement]:
    """The newest announcements, each marked read or not for this user (2 Queries)."""
    read = board_db.read_ids(tenant, user_id)
    return [Announcement(**a, read=a["id"] in read) for a in board_db.recent_announcements(tenant)]


def _on_board(principal: Principal, announcement_id: str) -> Announcement | None:
    """An announcement the user can see (on their board), or None."""
    return next((a for a in board(principal.tenant, principal.user_id) if a.id == announcement_id), None)


def unread(tenant: str, user_id: str) -> list[Announcement]:
    return [a for a in board(tenant, user_id) if not a.read]


def mark_read(principal: Principal, announcement_id: str) -> Announcement:
    found = _on_board(principal, announcement_id)
    if found is None:
        raise NotFoundError("No such announcement.", code="ANNOUNCEMENT_NOT_FOUND")
    board_db.mark_read(principal.tenant, principal.user_id, announcement_id, clock.iso(clock.now()))
    return found.model_copy(update={"read": True})


def withdraw(principal: Principal, announcement_id: str) -> None:
    """Removes the announcement, then its attachment's file (a withdrawn file may hold what
    should not have been published)."""
    found = _on_board(principal, announcement_id)
    if found is None or not board_db.delete_announcement(principal.tenant, clock.iso(found.created_at), found.id):
        raise NotFoundError("No such announcement.", code="ANNOUNCEMENT_NOT_FOUND")
    if found.attachment is not None:
        store().delete(keys.attachment_file(principal.tenant, found.attachment.id))


def _categories(tenant: str) -> Dictionary:
    from chalicelib.domain import config

    return config.load(tenant).dictionaries[DictionaryKind.glossary_categories]


def _category(categories: Dictionary, key: str, *, keeps: Callable[[], str | None] | None = None) -> str | None:
    """A phrase's category checked against the school's list: a key not retired, or (an edit)
    the one the phrase has whatever it is (`keeps`: reads it, only when it matters). The key
    to record as used, if it is not yet."""
    entry = next((e for e in categories.entries if e.key == key), None)
    if (entry is None or entry.retired) and (keeps is None or keeps() != key):
        choices = ", ".join(e.key for e in categories.entries if not e.retired)
        raise ValidationFailedError(
            f"Unknown or retired category {key!r}; one of: {choices}.",
            details=[{"field": "category", "message": "not in the school's list (glossary_categories)"}],
        )
    return key if entry is not None and key not in categories.used else None


def _phrase(data: dict[str, Any], categories: Dictionary) -> Phrase:
    """A stored phrase as shown. Phrases from before the list (free words as their category)
    are read as they are: by the entry whose key or label their words are, else as written."""
    written = data["category"]
    entry = next((e for e in categories.entries if e.key == written), None) or next(
        (e for e in categories.entries if e.label == written), None
    )
    key, label = (entry.key, entry.label) if entry is not None else (written, written)
    return Phrase(**{**data, "category": key, "category_label": label})


def add_phrase(principal: Principal, request: PhraseRequest) -> Phrase:
    categories = _categories(principal.tenant)
    newly_used = _category(categories, request.category)
    data = {
        "id": ids.new_id(),
        "category": request.category,
        "text": request.text,
        "created_by": principal.user_id,
        "created_at": clock.iso(clock.now()),
    }
    board_db.put_phrase(principal.tenant, data, mark_used=newly_used)
    return _phrase(data, categories)


def patch_phrase(principal: Principal, phrase_id: str, request: PhrasePatchRequest) -> Phrase:
    """Changes a phrase's text, category or both (admins and managers, as add and remove).
    Field-level last writer wins: only the fields given are written, under the condition that
    the phrase still exists (404 once it is removed, never brought back)."""
    tenant = principal.tenant
    categories = _categories(tenant)
    changes: dict[str, str] = {"updated_by": principal.user_id, "updated_at": clock.iso(clock.now())}
    newly_used = None

    def stored() -> str:  # the phrase's category now: one GetItem, only for a key not in the list
        found = board_db.phrase_category(tenant, phrase_id)
        if found is None:
            raise _no_phrase()
        return found

    if request.category is not None:
        newly_used = _category(categories, request.category, keeps=stored)
        changes["category"] = request.category
    if request.text is not None:
        changes["text"] = request.text
    updated = board_db.update_phrase(tenant, phrase_id, changes, mark_used=newly_used)
    if updated is None:
        raise _no_phrase()
    return _phrase(updated, categories)


def glossary(principal: Principal, query: GlossaryQuery) -> Page[Phrase]:
    """Every phrase of the school (one Query; a glossary holds at most 500), by category,
    filtered by category (its key; a phrase from before the list: its words) and by words
    (all of them, in any case, in the text or the category's name)."""
    categories = _categories(principal.tenant)
    words = (query.q or "").casefold().split()
    shown = (_phrase(p, categories) for p in board_db.phrases(principal.tenant))
    found = [
        p
        for p in shown
        if (query.category is None or p.category == query.category)
        and all(w in (p.text + " " + p.category_label).casefold() for w in words)
    ]
    found.sort(key=lambda p: (p.category_label, p.created_at))
    return Page[Phrase](items=found[:MAX_PHRASES])


def _no_phrase() -> NotFoundError:
    return NotFoundError("No such phrase.", code="PHRASE_NOT_FOUND")


def remove_phrase(principal: Principal, phrase_id: str) -> None:
    if not board_db.delete_phrase(principal.tenant, phrase_id):
        raise _no_phrase()
