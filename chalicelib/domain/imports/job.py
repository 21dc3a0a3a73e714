"""Running one import (checks, plan, writes, the error sheet) under its lease, and the
`lead_imports` job that runs the waiting ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from chalicelib import sheets
from chalicelib.db import imports as imports_db
from chalicelib.db import keys
from chalicelib.db import leads as leads_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, leads, waiting
from chalicelib.domain import config as tenant_config
from chalicelib.domain.import_lease import Lease, LeaseLost
from chalicelib.domain.imports.rows import Context, Row, Table, _check, _choices, read_table
from chalicelib.domain.imports.template import _norm, _text, custom_choices, custom_columns
from chalicelib.domain.imports.writer import Job, _families, _lead_id, _mark_used, write_all
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ValidationFailedError
from chalicelib.observability import logger
from chalicelib.schemas.imports import ImportCounts
from chalicelib.schemas.users import Role, UserRecord
from chalicelib.storage import store

MAX_ATTEMPTS = 3  # runs that broke before an import is given up
BEAT_ROWS = 500  # while checking rows, the lease's heartbeat is offered every this many


# --- running an import ---------------------------------------------------------------


def _context(job: Job) -> Context:
    """What checking rows needs: the school's region and choices, and the consultants the
    consultant column may name, by the same rules as assigning by hand: anyone of the
    campus for admins and managers, their team for a supervisor, themselves for a
    consultant."""
    importer = users_db.get(job.tenant, job.record["created_by"])
    owners: dict[str, UserRecord] = {}
    for user in users_db.active_records(job.tenant):
        if user.role not in leads.OWNERS or job.record["campus_id"] not in user.campus_ids:
            continue
        if importer is None or (
            importer.role in leads.OWNERS
            and user.id != importer.id
            and not (importer.role is Role.supervisor and user.supervisor_id == importer.id)
        ):
            continue
        owners.setdefault(_norm(user.username), user)
        owners.setdefault(_norm(user.display_name), user)
    return Context(
        tenant=job.tenant,
        region=get_tenant(job.tenant).phone_region,
        choices=_choices(job.config),
        owners=owners,
        today=job.now.astimezone(ZoneInfo(job.timezone)).date(),
        config=job.config,
        custom_choices=custom_choices(job.config),
    )


def _default_owner(tenant: str, record: dict[str, Any]) -> Any:
    """The consultant chosen at upload, still able to take the campus's leads now."""
    if not record.get("owner_id"):
        return None
    owner = users_db.get(tenant, record["owner_id"])
    if (
        owner is None
        or not owner.active
        or owner.role not in leads.OWNERS
        or record["campus_id"] not in owner.campus_ids
    ):
        raise ValidationFailedError(
            "The consultant chosen for this import can no longer take the campus's leads; import again.",
            code="OWNER_UNAVAILABLE",
        )
    return owner


def _error_sheet(table: Table, rejected: list[Row]) -> bytes:
    header = ["行 Row", "原因 Reason", *table.header]  # every cell neutralised by sheets.xlsx
    rows = ([row.number, "；".join(row.reasons), *(_text(c) for c in row.cells)] for row in rejected)
    return sheets.xlsx("未导入 Rejected", header, rows, widths=[8, 60])


def _stored_table(record: dict[str, Any], config: tenant_config.TenantConfig) -> Table:
    data = store().get(record["file_key"])
    if data is None:
        raise ValidationFailedError("The uploaded file is gone.", code="FILE_MISSING")
    return read_table(data, custom_columns(config))


def process(
    tenant: str, record: dict[str, Any], table: Table | None = None, lease: Lease | None = None
) -> dict[str, Any]:
    """Checks, plans and writes one import; returns its result (counts, ignored columns).
    `table`: the file as the upload request already read it; else it is read from store.
    `lease`: the run's hold on the import, renewed as the work goes on."""
    config = tenant_config.load(tenant)
    table = table or _stored_table(record, config)
    tenant_record = get_tenant(tenant)
    default_owner = _default_owner(tenant, record)
    job = Job(record, tenant, tenant_record.timezone, config, default_owner, clock.now(), lease)
    ctx = _context(job)
    rows = [Row(number, cells) for number, cells in table.rows]
    for index, row in enumerate(rows):
        if index % BEAT_ROWS == 0:
            job.beat()
        _check(row, table, ctx)
    ours = {_lead_id(record["id"], row) for row in rows}  # written by an earlier run of this import
    claims = leads_db.phone_claims(tenant, [p for row in rows if not row.kind for p, _ in row.phones])
    claimed = {e164 for e164, claim in claims.items() if not ours.intersection(claim.lead_ids)}
    job.ours = set(claims) - claimed
    families = _families(rows, claimed)
    job.beat()
    _mark_used(job, families)
    write_all(job, families)
    rejected = [row for row in rows if row.kind]
    by_kind = {kind: sum(1 for r in rejected if r.kind == kind) for kind in ImportCounts.model_fields}
    counts = ImportCounts(
        rows=len(rows),
        imported=len(rows) - len(rejected),
        rejected=len(rejected),
        invalid=by_kind["invalid"],
        duplicate_in_file=by_kind["duplicate_in_file"],
        already_in_school=by_kind["already_in_school"],
        conflict=by_kind["conflict"],
        blank=table.blank,
    )
    has_errors = bool(rejected)
    if has_errors:
        store().put(keys.import_file(tenant, record["id"], "errors.xlsx"), _error_sheet(table, rejected), sheets.XLSX)
    return {"counts": counts.model_dump(), "ignored_columns": table.ignored, "has_errors": has_errors}


def _give_back(tenant: str, record: dict[str, Any]) -> None:
    """An import given up: the phone claims its runs made for leads they never wrote are
    deleted (no number stays blocked by it), and the leads counted on consultants' counters
    but never written are given back. Best effort: a file that cannot be read again leaves
    them (logged)."""
    try:
        config = tenant_config.load(tenant)
        table = _stored_table(record, config)
        job = Job(record, tenant, get_tenant(tenant).timezone, config, None, clock.now())
        ctx = _context(job)
        rows = [Row(number, cells) for number, cells in table.rows]
        for row in rows:
            _check(row, table, ctx)
        ours = {_lead_id(record["id"], row) for row in rows}
        written = leads_db.batch_get(tenant, sorted(ours))
        existing = {lead.id for lead in written}
        claims = leads_db.phone_claims(tenant, [p for row in rows if not row.kind for p, _ in row.phones])
        for e164, claim in claims.items():
            if ours.intersection(claim.lead_ids) and not existing.intersection(claim.lead_ids):
                imports_db.release_phone(tenant, e164, claim.lead_ids[0])
        for owner_id, counted in imports_db.owners_counted(tenant, record["id"]).items():
            held = sum(1 for lead in written if lead.owner_id == owner_id)
            imports_db.settle_owner(tenant, record["id"], owner_id, counted, held)
    except Exception:  # noqa: BLE001 - giving up must still finish and tell the uploader
        logger.exception("could not give back an abandoned import's claims", extra={"tenant": tenant})


def _run(tenant: str, import_id: str, table: Table | None = None) -> bool:
    """Takes the import (unless another run holds it), imports it under a lease kept alive
    by a heartbeat (see import_lease), keeps the result and tells the uploader. A failure
    is kept as the import's error, never half-reported; an import whose runs broke
    MAX_ATTEMPTS times is given up. A run whose lease another run took over stops writing
    and leaves the result and the message to that run."""
    now = clock.now()
    lease = Lease.take(tenant, import_id)
    if lease is None:
        return False
    # the lease was taken by a conditional update of the import (queued or running), so it exists
    record = cast(dict[str, Any], imports_db.get(tenant, import_id))
    result, error = None, None
    try:
        if record["attempts"] > MAX_ATTEMPTS:
            error = f"Gave up after {MAX_ATTEMPTS} attempts; the rows already imported stay. Please tell support."
            _give_back(tenant, record)
        else:
            try:
                result = process(tenant, record, table, lease)
            except ValidationFailedError as exc:
                error = exc.message
        status = "failed" if error else "done"
        lease.finish(status=status, result=result, error=error)
    except LeaseLost:
        logger.warning("import taken over by another run", extra={"tenant": tenant, "import": import_id})
        return False
    if result:
        counts = result["counts"]
        text = f"导入完成 Import done: {counts['imported']} imported, {counts['rejected']} rejected"
    else:
        text = f"导入失败 Import failed: {error}"
    message = f"{record['file_name']}: {text}"
    schedule_db.notify(tenant, record["created_by"], f"import-{import_id}", message, None, clock.iso(now))
    return status == "done"


def run_waiting(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """The `lead_imports` job: every import waiting (or whose run died), one after another.
    One that breaks is logged and left under its lease: a later run takes it up again."""
    done, not_done, broken = waiting.run_each(
        imports_db.waiting(), _run, tenant=tenant, what="import", logged_as="import"
    )
    return {"imports": done, "not_done": not_done, "broken": broken}
