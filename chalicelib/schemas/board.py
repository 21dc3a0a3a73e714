"""Announcements (公告板) and the glossary (常用术语)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from chalicelib.schemas.common import Entity, StrictModel

ATTACHMENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
)
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024

AttachmentType = Literal[ATTACHMENT_TYPES]  # type: ignore[valid-type]


class AttachmentUploadRequest(StrictModel):
    file_name: str = Field(min_length=1, max_length=200, examples=["2027年春季课表.pdf"])
    content_type: AttachmentType = Field(examples=["application/pdf"])


class AttachmentUpload(Entity):
    attachment_id: str
    upload_url: str = Field(
        description="PUT the file here once, with these headers, within expires_in seconds; a second PUT is refused"
    )
    method: str = "PUT"
    headers: dict[str, str]
    expires_in: int


class AttachmentRef(StrictModel):
    attachment_id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="From POST /announcements/attachments")
    file_name: str = Field(min_length=1, max_length=200)
    content_type: AttachmentType


class Attachment(Entity):
    id: str
    file_name: str
    content_type: str
    size: int
    sha256: str | None = Field(
        default=None, description="Base64 SHA-256 of the published file (none on attachments published before it)"
    )


class AttachmentDownload(Attachment):
    download_url: str
    expires_in: int


class AnnouncementRequest(StrictModel):
    title: str = Field(min_length=1, max_length=200, examples=["元旦放假通知"])
    body: str = Field(min_length=1, max_length=5000)
    attachment: AttachmentRef | None = Field(
        default=None, description="A file uploaded first through POST /announcements/attachments"
    )


class Announcement(Entity):
    id: str
    title: str
    body: str
    created_by: str
    created_by_name: str
    created_at: datetime
    attachment: Attachment | None = Field(default=None, description="GET /announcements/{id}/attachment to download")
    read: bool = False


CATEGORY = r"^[\w-]{1,40}$"  # a key of the school's glossary_categories list (KEY_PATTERN)


class PhraseRequest(StrictModel):
    category: str = Field(
        pattern=CATEGORY,
        description="A key of the school's list GET /settings/dictionaries/glossary_categories, not retired",
        examples=["invitation"],
    )
    text: str = Field(
        min_length=1, max_length=1000, examples=["您好，我是小星星早教的李老师，想邀请宝宝来体验一节免费的亲子课。"]
    )


class PhrasePatchRequest(StrictModel):
    """What to change; what is left out stays. Two edits at once: each field as the last
    writer left it (no version to send)."""

    category: str | None = Field(
        default=None,
        pattern=CATEGORY,
        description="A key of glossary_categories, not retired (a phrase may keep the one it has)",
        examples=["pricing"],
    )
    text: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _something(self) -> PhrasePatchRequest:
        if self.category is None and self.text is None:
            raise ValueError("give the text, the category or both")
        return self


class Phrase(Entity):
    id: str
    category: str = Field(
        description="The category's key in glossary_categories; a phrase from before the list keeps its own "
        "words here (or the key of the entry whose label they are)"
    )
    category_label: str = Field(description="The category as the school's list names it (else as written)")
    text: str
    created_by: str
    created_at: datetime
    updated_by: str | None = None
    updated_at: datetime | None = None


class GlossaryQuery(StrictModel):
    category: str | None = Field(default=None, max_length=50, description="A category's key (see Phrase.category)")
    q: str | None = Field(default=None, min_length=1, max_length=50, description="Words the phrase contains")
