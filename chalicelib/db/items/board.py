"""The board: announcements, who read them, standard phrases."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    UnicodeAttribute,
)

from chalicelib.db.base import BaseItem


class AnnouncementItem(BaseItem, discriminator="Announcement"):
    """公告板: shown to every user at sign-in until they read it."""

    id = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    attachment = JSONAttribute(null=True)  # {id, file_name, content_type, size, sha256}; the file is in S3


class ReadItem(BaseItem, discriminator="Read"):
    """A user read an announcement."""

    at = UnicodeAttribute()


class PhraseItem(BaseItem, discriminator="Phrase"):
    """常用术语: a standard phrase staff can search, by category (a key of the school's
    glossary_categories list; free words on phrases from before the list)."""

    id = UnicodeAttribute()
    category = UnicodeAttribute()
    text = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_by = UnicodeAttribute(null=True)  # the last edit (PATCH /glossary/{id})
    updated_at = UnicodeAttribute(null=True)
