"""What the endpoints call: an upload (imported at once when small), an import, the list,
its error sheet."""

from __future__ import annotations

from typing import Any

from chalicelib.db import imports as imports_db
from chalicelib.db import keys
from chalicelib.domain import clock, ids, leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.imports.job import _run
from chalicelib.domain.imports.rows import read_table
from chalicelib.domain.imports.template import _may_import, custom_columns
from chalicelib.errors import NotFoundError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.imports import ImportOut, ImportQuery
from chalicelib.schemas.users import Role
from chalicelib.storage import store

INLINE_ROWS = 300  # up to this many rows are imported within the upload request


# --- the API -------------------------------------------------------------------------


def start(principal: Principal, query: ImportQuery, data: bytes | None) -> ImportOut:
    """Stores the upload and imports it now (small files) or queues it for the job."""
    config = _may_import(principal)
    if not data:
        raise ValidationFailedError(
            "Send the .xlsx or .csv file as the request body.",
            code="UNREADABLE_FILE",
            details=[{"field": "file", "message": "missing"}],
        )
    table = read_table(data, custom_columns(config))
    campus_id = leads.campus_for(principal, query.campus_id)
    if query.owner_id:
        leads.owner_user(principal, query.owner_id, campus_id)
    import_id = ids.new_id()
    file_key = keys.import_file(principal.tenant, import_id, "source")
    store().put(file_key, data, "application/octet-stream")
    record = {
        "id": import_id,
        "status": "queued",
        "file_name": query.file_name,
        "file_key": file_key,
        "campus_id": campus_id,
        "owner_id": query.owner_id,
        "rows": len(table.rows),
        "created_by": principal.user_id,
        "created_by_name": principal.user.display_name,
        "created_at": clock.iso(clock.now()),
    }
    imports_db.create(principal.tenant, record, queued=True)
    if len(table.rows) <= INLINE_ROWS:
        _run(principal.tenant, import_id, table)
    return get(principal, import_id)


def _out(record: dict[str, Any]) -> ImportOut:
    result = record.get("result") or {}
    return ImportOut(
        **record,
        counts=result.get("counts"),
        ignored_columns=result.get("ignored_columns", []),
        error_sheet=f"/leads/imports/{record['id']}/errors" if result.get("has_errors") else None,
    )


def _in_scope(principal: Principal, record: dict[str, Any]) -> bool:
    """An admin sees every campus's imports; others, their campuses'."""
    return principal.role is Role.admin or record["campus_id"] in principal.campus_ids


def _visible(principal: Principal, import_id: str) -> dict[str, Any]:
    _may_import(principal)
    record = imports_db.get(principal.tenant, import_id)
    if record is None or not _in_scope(principal, record):
        raise NotFoundError("No such import.", code="IMPORT_NOT_FOUND")
    return record


def get(principal: Principal, import_id: str) -> ImportOut:
    return _out(_visible(principal, import_id))


def list_imports(principal: Principal, limit: int, cursor: str | None) -> Page[ImportOut]:
    _may_import(principal)
    records, next_cursor = imports_db.list_page(principal.tenant, limit, cursor)
    mine = [r for r in records if _in_scope(principal, r)]
    return Page[ImportOut](items=[_out(r) for r in mine], next_cursor=next_cursor)


def error_sheet(principal: Principal, import_id: str) -> bytes:
    record = _visible(principal, import_id)
    has_errors = (record.get("result") or {}).get("has_errors")
    data = store().get(keys.import_file(principal.tenant, import_id, "errors.xlsx")) if has_errors else None
    if data is None:
        raise NotFoundError("This import has no rejected rows (or its sheet has expired).", code="NO_ERROR_SHEET")
    return data
