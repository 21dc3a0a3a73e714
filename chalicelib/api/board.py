"""Announcements (公告板) and the glossary (常用术语)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.schemas.board import (
    Announcement,
    AnnouncementRequest,
    AttachmentDownload,
    AttachmentUpload,
    AttachmentUploadRequest,
    GlossaryQuery,
    Phrase,
    PhrasePatchRequest,
    PhraseRequest,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.users import Role

bp = Blueprint(__name__)
ADMINS = frozenset({Role.admin})
EDITORS = frozenset({Role.admin, Role.manager})


@endpoint(
    bp,
    "POST",
    "/announcements/attachments",
    summary="Where to upload an announcement's attachment: a presigned PUT URL (S3; locally the file server)",
    tags=["board"],
    roles_allowed=ADMINS,
    body=AttachmentUploadRequest,
    response=AttachmentUpload,
    status=201,
)
def attachment_upload(call: Call[AttachmentUploadRequest, None]) -> AttachmentUpload:
    from chalicelib.domain import board

    return board.attachment_upload(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/announcements/{announcement_id}/attachment",
    summary="An announcement's attachment: a presigned download URL, valid 15 minutes",
    tags=["board"],
    response=AttachmentDownload,
)
def attachment_download(call: Call[None, None]) -> AttachmentDownload:
    from chalicelib.domain import board

    return board.attachment_download(call.principal, call.params["announcement_id"])


@endpoint(
    bp,
    "POST",
    "/announcements",
    summary="Publish an announcement (公告板); everyone sees it at sign-in until read",
    tags=["board"],
    roles_allowed=ADMINS,
    body=AnnouncementRequest,
    response=Announcement,
    status=201,
)
def publish(call: Call[AnnouncementRequest, None]) -> Announcement:
    from chalicelib.domain import board

    return board.publish(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/announcements",
    summary="The newest 50 announcements, read or not",
    tags=["board"],
    response=Page[Announcement],
)
def announcements(call: Call[None, None]) -> Page[Announcement]:
    from chalicelib.domain import board

    return Page[Announcement](items=board.board(call.principal.tenant, call.principal.user_id))


@endpoint(
    bp,
    "POST",
    "/announcements/{announcement_id}/read",
    summary="Mark an announcement read",
    tags=["board"],
    response=Announcement,
)
def mark_read(call: Call[None, None]) -> Announcement:
    from chalicelib.domain import board

    return board.mark_read(call.principal, call.params["announcement_id"])


@endpoint(
    bp,
    "DELETE",
    "/announcements/{announcement_id}",
    summary="Withdraw an announcement",
    tags=["board"],
    roles_allowed=ADMINS,
    status=204,
)
def withdraw(call: Call[None, None]) -> None:
    from chalicelib.domain import board

    board.withdraw(call.principal, call.params["announcement_id"])


@endpoint(
    bp,
    "POST",
    "/glossary",
    summary="Add a standard phrase (常用术语)",
    tags=["board"],
    roles_allowed=EDITORS,
    body=PhraseRequest,
    response=Phrase,
    status=201,
)
def add_phrase(call: Call[PhraseRequest, None]) -> Phrase:
    from chalicelib.domain import board

    return board.add_phrase(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/glossary",
    summary="Standard phrases, by category, searchable",
    tags=["board"],
    query=GlossaryQuery,
    response=Page[Phrase],
)
def glossary(call: Call[None, GlossaryQuery]) -> Page[Phrase]:
    from chalicelib.domain import board

    return board.glossary(call.principal, call.query)


@endpoint(
    bp,
    "PATCH",
    "/glossary/{phrase_id}",
    summary="Change a phrase's text or category",
    tags=["board"],
    roles_allowed=EDITORS,
    body=PhrasePatchRequest,
    response=Phrase,
)
def patch_phrase(call: Call[PhrasePatchRequest, None]) -> Phrase:
    """What the body names changes, the rest stays. The category: a key of the school's
    glossary_categories list, not retired (a phrase may keep the one it has). Two edits at
    once: each keeps the fields it wrote, the last writer's value where they overlap; an edit
    of a removed phrase is a 404 and never brings it back."""
    from chalicelib.domain import board

    return board.patch_phrase(call.principal, call.params["phrase_id"], call.body)


@endpoint(
    bp,
    "DELETE",
    "/glossary/{phrase_id}",
    summary="Remove a phrase",
    tags=["board"],
    roles_allowed=EDITORS,
    status=204,
)
def remove_phrase(call: Call[None, None]) -> None:
    from chalicelib.domain import board

    board.remove_phrase(call.principal, call.params["phrase_id"])
