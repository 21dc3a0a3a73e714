"""Announcements (公告板): admins publish, every user sees the unread ones at sign-in until
they read them. The glossary (常用术语): standard phrases by category, searchable."""

from __future__ import annotations

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
    PhraseRequest,
)
from chalicelib.schemas.common import Page
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
