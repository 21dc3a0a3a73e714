"""Announcements, their attachments, and the glossary."""

from __future__ import annotations

from chalicelib.db.keys.base import stamp

# --- announcements and the glossary (tenant partition) ---------------------------------
ANNOUNCEMENT_PREFIX = "ANNOUNCE#"
GLOSSARY_PREFIX = "GLOSSARY#"


def announcement_sk(created_at: str, announcement_id: str) -> str:
    return f"ANNOUNCE#{stamp(created_at)}#{announcement_id}"


def reads_pk(tenant: str, user_id: str) -> str:
    """The announcements a user has read (one item each)."""
    return f"T#{tenant}#READ#{user_id}"


def glossary_sk(phrase_id: str) -> str:
    return f"GLOSSARY#{phrase_id}"


def attachment_file(tenant: str, attachment_id: str) -> str:
    """Where a published announcement's attachment is stored (S3 key / local path): a copy
    made at publishing, which no upload URL can reach."""
    return f"attachments/{tenant}/{attachment_id}"


UPLOADS_PREFIX = "uploads/"  # the only keys a presigned PUT URL is ever made for


def attachment_upload(tenant: str, attachment_id: str) -> str:
    """Where the browser puts an attachment before it is published (a presigned PUT URL's
    key, written once; the bucket forgets `uploads/` after a day)."""
    return f"{UPLOADS_PREFIX}attachments/{tenant}/{attachment_id}"
