"""Lead imports (批量导入客户)."""

from __future__ import annotations

from chalicelib.db.keys.base import due_pk, shard_of

# --- lead imports (批量导入客户) ---------------------------------------------------------
# One item per uploaded file, in its own partition; GSI1 lists a school's imports, newest
# first; while it waits for the `lead_imports` job it is filed on DUE `IMPORT#queued`.
IMPORT_SK = "IMPORT"


def import_pk(tenant: str, import_id: str) -> str:
    return f"T#{tenant}#IMPORT#{import_id}"


def imports_scope(tenant: str) -> str:
    return f"T#{tenant}#IMPORTS"


def import_due(import_pk_value: str) -> tuple[str, str]:
    return due_pk("IMPORT", "queued", shard_of(import_pk_value)), import_pk_value


def import_file(tenant: str, import_id: str, name: str) -> str:
    """Where the uploaded file and its error sheet are stored (S3 key / local path)."""
    return f"imports/{tenant}/{import_id}/{name}"
