"""A data subject's rights (docs/privacy.md): the export of everything held about a lead and
its guardians, the erasure of their personal data (a tombstone, keeping money and counts
for the books), and the retention setting that erases leads nobody touched for N years.

Erasure is idempotent and ends with one transaction: the dependents (follow-up texts, plans,
appointments, messages, the outbox) are overwritten first, each write repeatable; then the
lead's own item is tombstoned, its phones released, its owner's counter and its markers
settled, all at once and conditional on the version read. A lead changed meanwhile (a
follow-up added) is read and swept again; a run that stops halfway leaves a lead that is
not yet erased, and the next attempt (the admin's, or the job's next run) finishes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib import sheets
from chalicelib.db import leads as leads_db
from chalicelib.db import privacy as privacy_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db.holidays import Position
from chalicelib.db.leads import OwnerChange
from chalicelib.domain import audit_log, clock, config, ids
from chalicelib.domain.auth import Principal
from chalicelib.domain.leads import can_see
from chalicelib.errors import BusyError, ConflictError, NotFoundError
from chalicelib.observability import logger
from chalicelib.schemas.leads import HistoryEntry, Lead
from chalicelib.schemas.privacy import ErasureOut, LeadExport

TOMBSTONE = "[erased]"
ATTEMPTS = 5  # reads and sweeps again when the lead changed under the erasure, then 409 BUSY
MAX_DAYS_PER_RUN = 62  # a school's retention days one job run reads at most (a backlog catches up hourly)
BACKFILL_PAGE = 100  # leads one Query of the back-fill reads
BACKFILL_PER_RUN = 5000  # leads a school's back-fill reads at most in one run (then it goes on next hour)
BACKFILL_SECONDS = 120.0  # every school's back-fill in one run (pool_reclaim's Lambda has 300 s)


def _not_found() -> NotFoundError:
    return NotFoundError("No such lead.", code="LEAD_NOT_FOUND")


# --- export ----------------------------------------------------------------------------


def export(principal: Principal, lead_id: str) -> LeadExport:
    """Everything the school holds about the lead and its guardians, phones in full."""
    lead = leads_db.get(principal.tenant, lead_id)
    if lead is None or not can_see(principal, lead):
        raise _not_found()
    held = privacy_db.everything(principal.tenant, lead_id)
    return LeadExport(
        exported_at=clock.now(),
        lead=lead.model_dump(mode="json", exclude={"origin"}),
        sections={name: held.sections.get(name, []) for name in LeadExport.SECTION_NAMES},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def as_xlsx(data: LeadExport) -> bytes:
    """The export as a workbook: the lead as field/value rows, then a sheet per section (a
    column per field any of its records has). Every cell is data (sheets.safe)."""
    body = data.model_dump(mode="json")
    lead_rows = [[name, _cell(value)] for name, value in body["lead"].items()]
    tabs = [sheets.Tab("lead", ["field", "value"], lead_rows, (24, 60))]
    for name in LeadExport.SECTION_NAMES:
        records = body["sections"][name]
        columns = list(dict.fromkeys(k for record in records for k in record))
        tabs.append(sheets.Tab(name, columns or ["(none)"], [[_cell(r.get(c)) for c in columns] for r in records]))
    return sheets.workbook(*tabs)


# --- erasure ---------------------------------------------------------------------------


def erase(principal: Principal, lead_id: str, reason: str) -> ErasureOut:
    """POST /leads/{id}/erase (admins): the lead's personal data replaced by a tombstone."""
    lead = leads_db.get(principal.tenant, lead_id)
    if lead is None or not can_see(principal, lead):
        raise _not_found()
    out = erase_lead(principal.tenant, lead_id, by=principal.user_id, reason=reason)
    if not out.already:
        audit_log.record(
            principal.tenant,
            action="erase",
            principal=principal,
            method="POST",
            route="/leads/{lead_id}/erase",
            params={"lead_id": lead_id},
            status=200,
            details=f"erased: {reason}"[:300],
        )
    return out


def _tombstoned(lead: Lead, now: datetime, listed: frozenset[str] = frozenset()) -> Lead:
    """The lead without personal data: what the books count (status, source, campus, owner,
    dates, follow-up count, signing, the school's own list fields: `listed`) stays; names,
    guardians, phones, notes, the school's own text, number and date fields go."""
    origin = {"action": lead.origin["action"], "details": {}} if lead.origin else None
    return lead.model_copy(
        update={
            "name": TOMBSTONE,
            "nickname": None,
            "gender": None,
            "birthday": None,
            "school": None,
            "grade": None,
            "age": None,
            "notes": None,
            "tags": [],
            "custom": {k: v for k, v in lead.custom.items() if k in listed},
            "guardians": [],
            "assessments": {},
            "origin": origin,
            "next_follow_up_at": None,
            "reclaim_on": None,
            "deleted_at": lead.deleted_at or now,
            "erased_at": now,
            "updated_at": now,
        }
    )


def erase_lead(tenant: str, lead_id: str, *, by: str | None, reason: str) -> ErasureOut:
    """Erases the lead (see the module's docstring); an erased lead answers as it is."""
    for _ in range(ATTEMPTS):
        loaded = leads_db.get_with_version(tenant, lead_id)
        if loaded is None:
            raise _not_found()
        lead, version = loaded
        if lead.erased_at is not None:
            return ErasureOut(lead_id=lead_id, erased_at=lead.erased_at, already=True)
        counts = privacy_db.tombstone_dependents(tenant, lead_id, TOMBSTONE)
        claims = leads_db.phone_claims(tenant, lead.phones)
        released = [c for c in claims.values() if lead_id in c.lead_ids]
        now = clock.now()
        fields = config.load(tenant).lead_fields
        erased = _tombstoned(lead, now, frozenset(f.key for f in fields if f.type == "list"))
        entry = HistoryEntry(at=now, by=by, action="erased", details={"reason": reason})
        owner = OwnerChange(lead.owner_id, None, 0) if lead.owner_id and lead.deleted_at is None else None
        try:
            leads_db.save(
                tenant, erased, version, [(entry, ids.new_id())], released_phones=released, owner=owner, birthday=True
            )
        except ConflictError:
            continue  # changed meanwhile (a follow-up, a phone claim): read and sweep again
        return ErasureOut(
            lead_id=lead_id, erased_at=now, already=False, released_phones=len(released), tombstoned=counts
        )
    raise BusyError()


# --- retention -------------------------------------------------------------------------


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class _Budget:
    """What one run may spend on back-fills: a deadline over every school, leads per school."""

    deadline: float
    per_school: int
    page: int

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline


def retention(
    at: datetime, only: str | None = None, *, page: int = BACKFILL_PAGE, per_run: int = BACKFILL_PER_RUN
) -> dict[str, int]:
    """The retention step of the hourly pool_reclaim job: in each school with
    `erase_untouched_after_years`, first the back-fill (a marker for each lead last written
    while the setting was off; `_backfill`), then, once it is done, the leads last touched on
    a day now that many years ago (or earlier, not yet read) are erased; a lead touched since
    is filed under its real day. Reads per school once the back-fill is done: its state and
    cursor, then one Query per UTC day not yet read up to the cutoff (after the first
    catch-up, one a day), and the leads those days hold: O(due)."""
    erased = refiled = failed = backfilled = unfinished = 0
    budget = _Budget(time.monotonic() + BACKFILL_SECONDS, per_run, page)
    cursor_token: str | None = None
    while True:
        page_of, cursor_token = tenants_db.list_all(100, cursor_token)
        for tenant in page_of:
            if only is not None and tenant.slug != only:
                continue
            years = config.load(tenant.slug).lead_settings.erase_untouched_after_years
            if not years:
                continue
            try:
                finished, filed = _backfill(tenant.slug, tenant.created_at, budget)
                backfilled += filed
                if not finished:
                    unfinished += 1  # the days wait: a marker filed later must not land on a day read
                    continue
                done = _retention_for(tenant.slug, tenant.created_at, at, years)
            except Exception:  # noqa: BLE001 - one school's trouble must not stop the others'
                logger.exception("lead retention failed", extra={"tenant": tenant.slug})
                failed += 1
                continue
            erased, refiled = erased + done[0], refiled + done[1]
        if not cursor_token:
            return {
                "retention_erased": erased,
                "retention_refiled": refiled,
                "retention_failed": failed,
                "retention_backfilled": backfilled,
                "retention_backfill_unfinished": unfinished,
            }


def _first_unread(tenant: str, created_at: datetime) -> date:
    """The next UTC day the school's retention reads: the day after its cursor, or the day
    the school was created."""
    last = privacy_db.retention_cursor(tenant)
    return date.fromisoformat(last) + timedelta(days=1) if last else created_at.astimezone(UTC).date()


def _campus_ids(tenant: str) -> list[str]:
    found: list[str] = []
    cursor: str | None = None
    while True:
        campuses, cursor = tenants_db.list_campuses(tenant, 100, cursor)
        found += [c.id for c in campuses]
        if not cursor:
            return found


def _backfill(tenant: str, created_at: datetime, budget: _Budget) -> tuple[bool, int]:
    """Files a retention marker for each of the school's leads that has none (last written
    while the setting was off, or before markers existed): a walk of the recycle bin and each
    campus's leads, one page at a time, its place kept after every page, so a run cut short
    goes on where it stopped. Each lead is filed under the day of its last write, or the next
    day the retention reads if that day is read already (the retention's days wait until the
    walk is done, so that day stays unread). (walk done, markers filed this run)."""
    state = privacy_db.backfill(tenant)
    if state is not None and state.done:
        return True, 0  # once done, a run reads this one item
    if state is None:
        generation, position = ids.new_id(), None
        if not privacy_db.start_backfill(tenant, generation, clock.iso(clock.now())):
            return False, 0  # another run started one just now
    else:
        generation, position = state.generation, state.position
    partitions = privacy_db.backfill_partitions(tenant, _campus_ids(tenant))
    index, last_key = (0, None) if position is None else position.start_in(partitions)
    first_unread = _first_unread(tenant, created_at)
    read = filed = 0
    while index < len(partitions):
        if read >= budget.per_school or budget.spent():
            return False, filed
        leads, n, last_key = privacy_db.unmarked_page(tenant, partitions[index], limit=budget.page, last_key=last_key)
        page_filed = 0
        for lead in leads:
            day = max(datetime.fromisoformat(lead.touched).astimezone(UTC).date(), first_unread)
            page_filed += privacy_db.file_marker(tenant, lead.lead_id, day.isoformat())
        read, filed = read + n, filed + page_filed
        if last_key is None:
            index += 1
        done = index >= len(partitions)
        here = Position(partitions[index] if not done else None, last_key)
        if not privacy_db.advance_backfill(tenant, generation, here, read=n, filed=page_filed, done=done):
            return False, filed  # the setting was turned off or on meanwhile: that walk is over
        if done:
            return True, filed
    # a walk kept at its end (the last page's write was lost): close it
    return privacy_db.advance_backfill(tenant, generation, Position(None), read=0, filed=0, done=True), filed


def _retention_for(tenant: str, created_at: datetime, at: datetime, years: int) -> tuple[int, int]:
    cutoff = _years_before(at.astimezone(UTC).date(), years)
    day = _first_unread(tenant, created_at)
    erased = refiled = 0
    for _ in range(MAX_DAYS_PER_RUN):
        if day > cutoff:
            break
        for lead_id in privacy_db.retention_due(tenant, day.isoformat()):
            lead = leads_db.get(tenant, lead_id)
            if lead is None or lead.erased_at is not None:
                privacy_db.drop_marker(tenant, lead_id)
            elif lead.updated_at.astimezone(UTC).date() > cutoff:
                privacy_db.refile(tenant, lead_id, lead.updated_at)
                refiled += 1
            else:
                reason = f"retention: untouched for {years} years"
                erase_lead(tenant, lead_id, by=None, reason=reason)
                audit_log.record(
                    tenant, action="erase", username="retention", params={"lead_id": lead_id}, details=reason
                )
                erased += 1
        privacy_db.advance_retention_cursor(tenant, day.isoformat())  # the day is done: never read again
        day += timedelta(days=1)
    return erased, refiled
