"""Announcements (公告板) and the glossary (常用术语)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chalicelib.schemas.common import Entity, StrictModel


class AnnouncementRequest(StrictModel):
    title: str = Field(min_length=1, max_length=200, examples=["元旦放假通知"])
    body: str = Field(min_length=1, max_length=5000)


class Announcement(Entity):
    id: str
    title: str
    body: str
    created_by: str
    created_by_name: str
    created_at: datetime
    read: bool = False


class PhraseRequest(StrictModel):
    category: str = Field(min_length=1, max_length=50, examples=["电话邀约"])
    text: str = Field(
        min_length=1, max_length=1000, examples=["您好，我是小星星早教的李老师，想邀请宝宝来体验一节免费的亲子课。"]
    )


class Phrase(Entity):
    id: str
    category: str
    text: str
    created_by: str
    created_at: datetime


class GlossaryQuery(StrictModel):
    category: str | None = Field(default=None, max_length=50)
    q: str | None = Field(default=None, min_length=1, max_length=50, description="Words the phrase contains")
