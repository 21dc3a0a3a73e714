"""Planning the good rows (duplicates, families) and writing them, in transactions of up to
100 items, several at once."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.db import config as config_db
from chalicelib.db import leads as leads_db
from chalicelib.db import transactions
from chalicelib.db.leads import NewLead
from chalicelib.domain import config as tenant_config
from chalicelib.domain import ids, leads, phones, retry
from chalicelib.domain.import_lease import Lease
from chalicelib.domain.imports.rows import Row, _label, _reject
from chalicelib.domain.imports.template import _norm
from chalicelib.schemas.leads import Guardian, HistoryEntry, Lead, Phone

MAX_ITEMS = 100  # DynamoDB's limit of items in one transaction
WRITERS = 8  # transactions in flight at once
BUSY_TRIES = 6


# --- planning: duplicates and families ----------------------------------------------


@dataclass
class Family:
    rows: list[Row] = field(default_factory=list)

    @property
    def phones(self) -> set[str]:
        return {p for row in self.rows for p, _ in row.phones}


def _families(rows: list[Row], claimed: set[str]) -> list[Family]:
    """Rows with a phone the school has are rejected; a row repeating an earlier row's
    learner on its phone is a duplicate; another learner on it is a sibling."""
    by_phone: dict[str, Family] = {}
    families: list[Family] = []
    for row in rows:
        if row.kind:
            continue
        taken = [p for p, _ in row.phones if p in claimed]
        if taken:
            _reject(row, "already_in_school", f"{_label('phone')}: {phones.mask(taken[0])} 已是本校客户 already a lead")
            continue
        found = {id(by_phone[p]): by_phone[p] for p, _ in row.phones if p in by_phone}
        if len(found) > 1:
            numbers = sorted(str(f.rows[0].number) for f in found.values())
            _reject(row, "invalid", f"{_label('phone')}: 属于不同家庭 belongs to rows {', '.join(numbers)}")
            continue
        family = next(iter(found.values()), None)
        if family is not None:
            twin = next((r for r in family.rows if _norm(r.values["name"]) == _norm(row.values["name"])), None)
            if twin is not None:
                _reject(row, "duplicate_in_file", f"与第 {twin.number} 行重复 duplicate of row {twin.number}")
                continue
        else:
            family = Family()
            families.append(family)
        family.rows.append(row)
        for p, _ in row.phones:
            by_phone[p] = family
    return families


def _lead_id(import_id: str, row: Row) -> str:
    """The same import and row always give the same lead id (a resumed run finds it)."""
    digest = hashlib.sha256(f"{import_id}:{row.number}".encode()).digest()
    value = int.from_bytes(digest[:16], "big") >> 2
    return ids.from_int(value)


@dataclass
class Job:
    """What one import needs while it writes."""

    record: dict[str, Any]
    tenant: str
    timezone: str
    config: tenant_config.TenantConfig
    default_owner: Any
    now: datetime
    lease: Lease | None = None  # the run's hold on the import (None: nothing to renew)

    def beat(self) -> None:
        """Between pieces of work: renews the lease when due; LeaseLost if it was taken."""
        if self.lease is not None:
            self.lease.beat()


def _new_leads(job: Job, family: Family) -> list[NewLead]:
    import_id = job.record["id"]
    lead_ids = [_lead_id(import_id, row) for row in family.rows]
    family_id = lead_ids[0]
    claimants: dict[str, list[str]] = {}
    for lead_id, row in zip(lead_ids, family.rows, strict=True):
        for e164, _ in row.phones:
            claimants.setdefault(e164, []).append(lead_id)
    out, claimed = [], set()
    for index, (lead_id, row) in enumerate(zip(lead_ids, family.rows, strict=True)):
        owner = None if row.to_pool else (row.owner or job.default_owner)
        values = row.values
        guardian = values["guardians"][0]
        lead = Lead(
            **{k: v for k, v in values.items() if k not in ("guardians", "tags", "status")},
            id=lead_id,
            guardians=[
                Guardian(
                    name=guardian["name"],
                    relation=guardian.get("relation"),
                    email=guardian.get("email"),
                    phones=[Phone(e164=e) for e, _ in row.phones],
                )
            ],
            tags=values.get("tags") or [],
            family_id=family_id,
            campus_id=job.record["campus_id"],
            owner_id=owner.id if owner else None,
            owner_name=owner.display_name if owner else None,
            owned_since=job.now if owner else None,
            status=values.get("status") or "potential",
            created_by=job.record["created_by"],
            created_at=job.now,
            updated_at=job.now,
        )
        lead = leads.protected_until(lead, job.config.lead_settings, job.timezone)
        new_phones = [e for e, _ in row.phones if e not in claimed]
        claimed.update(new_phones)
        entry = HistoryEntry(
            at=job.now,
            by=job.record["created_by"],
            action="imported",
            details={"import_id": import_id, "row": row.number},
        )
        out.append(
            NewLead(
                lead=lead,
                entry=entry,
                entry_id=lead_id,
                new_phones=new_phones,
                claimants={e: claimants[e] for e in new_phones},
                siblings=lead_ids[:index],
            )
        )
    return out


def _size(new: list[NewLead]) -> int:
    return sum(2 + len(n.new_phones) + 2 * len(n.siblings) + (1 if n.lead.birthday else 0) for n in new)


def _batches(job: Job, families: list[Family]) -> list[list[tuple[Family, list[NewLead]]]]:
    """Families packed into transactions of at most 100 items (owner counters included).
    A family too large for one transaction (many learners on one phone: sibling links grow
    with the square of their number) cannot be written whole and is refused."""
    batches: list[list[tuple[Family, list[NewLead]]]] = []
    current: list[tuple[Family, list[NewLead]]] = []
    size = 0
    for family in families:
        new = _new_leads(job, family)
        need = _size(new)
        if need + 1 > MAX_ITEMS:
            for row in family.rows:
                _reject(row, "invalid", f"{_label('phone')}: 同一电话的学员过多 too many learners on one phone")
            continue
        owners = {n.lead.owner_id for pair in current for n in pair[1]} | {n.lead.owner_id for n in new}
        if current and size + need + len(owners) > MAX_ITEMS:
            batches.append(current)
            current, size = [], 0
        current.append((family, new))
        size += need
    if current:
        batches.append(current)
    return batches


def _write(job: Job, batch: list[tuple[Family, list[NewLead]]]) -> None:
    owners: dict[str, int] = {}
    new = [n for _, items in batch for n in items]
    for n in new:
        if n.lead.owner_id:
            owners[n.lead.owner_id] = owners.get(n.lead.owner_id, 0) + 1
    for attempt in range(BUSY_TRIES):
        try:
            leads_db.create_many(job.tenant, new, owners, job.config.lead_settings.max_leads_per_consultant, {})
            return
        except transactions.TransactionBusy:  # someone wrote one of these items at that moment
            if attempt == BUSY_TRIES - 1:
                raise
            retry.backoff(attempt)


def _mark_used(job: Job, families: list[Family]) -> None:
    """The dictionary values the file uses, marked once before the writes (not in each of
    the parallel transactions, where one item written by all would make them collide).
    Marking a value the import then fails to use only keeps it from being deleted."""
    used: dict[str, set[str]] = {}
    for row in (row for family in families for row in family.rows):
        values = {**row.values, "status": row.values.get("status") or "potential"}
        for kind, keys_used in tenant_config.check_lead_values(job.config, values, {}).items():
            used.setdefault(kind, set()).update(keys_used)
    for kind, keys_used in used.items():
        config_db.mark_used_now(job.tenant, kind, keys_used)


def _write_all(job: Job, batches: list[list[tuple[Family, list[NewLead]]]]) -> None:
    """Batches without owners run 8 at a time. Batches that move a consultant's counter run
    one after another: parallel transactions on the one counter item would collide."""
    owned: list[list[tuple[Family, list[NewLead]]]] = []
    pooled: list[list[tuple[Family, list[NewLead]]]] = []
    for batch in batches:
        (owned if any(n.lead.owner_id for _, new in batch for n in new) else pooled).append(batch)

    def write_owned() -> None:
        for b in owned:
            _write_batch(job, b)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        done = [pool.submit(write_owned)]
        done += [pool.submit(_write_batch, job, b) for b in pooled]
        for future in done:
            future.result()


def _write_batch(job: Job, batch: list[tuple[Family, list[NewLead]]]) -> None:
    """The batch in one transaction; if a condition fails, family by family, each family's
    rows then imported, found already written (a resumed run), or rejected with the reason.
    Nothing is written once the run's lease was taken over (the heartbeat raises LeaseLost)."""
    job.beat()
    try:
        _write(job, batch)
        return
    except transactions.TransactionConflict:
        if len(batch) > 1:
            for one in batch:
                _write_batch(job, [one])
            return
    family, new = batch[0]
    if leads_db.batch_get(job.tenant, [n.lead.id for n in new]):
        return  # written by an earlier run of this import
    taken = leads_db.phone_claims(job.tenant, [e for n in new for e in n.new_phones])
    reason = (
        f"{_label('phone')}: 刚被他人录入 added by someone else meanwhile"
        if taken
        else f"{_label('owner')}: 顾问客户数已达上限 the consultant holds the most leads allowed"
    )
    for row in family.rows:
        _reject(row, "conflict", reason)
