"""Planning the good rows (duplicates, families) and writing them: phones claimed by
conditional puts, the rows' items in batches, several chunks at once; a claim whose lead
is not written after all is taken back."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.db import config as config_db
from chalicelib.db import imports as imports_db
from chalicelib.db import leads as leads_db
from chalicelib.db import transactions
from chalicelib.db.leads import NewLead
from chalicelib.domain import config as tenant_config
from chalicelib.domain import ids, leads, phones, retry
from chalicelib.domain.import_lease import Lease
from chalicelib.domain.imports.rows import Row, _label, _reject
from chalicelib.domain.imports.template import _norm
from chalicelib.schemas.leads import Guardian, HistoryEntry, Lead, Phone

MAX_ITEMS = 100  # items one family may need (sibling links grow with the square of its learners)
WRITERS = imports_db.PARALLEL  # chunks written at once, each waiting on one call at a time
CHUNK_ROWS = 25  # rows a chunk holds (one BatchWriteItem of their leads); a family is never split
COUNT_TRIES = 6  # tries at moving a consultant's counter that others move at the same moment


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
    ours: set[str] = field(default_factory=set)  # phones an earlier run of the import claimed
    rows_done: int | None = None  # while writing: the rows settled (written or refused) so far
    _counting: threading.Lock = field(default_factory=threading.Lock)

    def beat(self) -> None:
        """Between pieces of work: renews the lease when due, with the rows settled so far;
        LeaseLost if it was taken."""
        if self.lease is not None:
            self.lease.beat(self.rows_done)

    def settled(self, rows: int) -> None:
        """`rows` more rows written or refused (the writers call it from their threads)."""
        with self._counting:
            self.rows_done = (self.rows_done or 0) + rows


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
        entry = HistoryEntry(  # kept on the lead (db.leads.with_origin): a rerun rewrites it with the lead
            at=datetime.fromisoformat(job.record["created_at"]),  # the upload's time, the same in every run
            by=job.record["created_by"],
            action="imported",
            details={"import_id": import_id, "row": row.number},
        )
        out.append(
            NewLead(
                lead=lead,
                entry=entry,
                new_phones=new_phones,
                claimants={e: claimants[e] for e in new_phones},
                siblings=lead_ids[:index],
            )
        )
    return out


def _size(new: list[NewLead]) -> int:
    return sum(1 + len(n.new_phones) + 2 * len(n.siblings) + (1 if n.lead.birthday else 0) for n in new)


@dataclass
class Plan:
    """A family and the leads it becomes."""

    family: Family
    new: list[NewLead]

    def rejected(self) -> bool:
        return any(row.kind for row in self.family.rows)

    def reject(self, kind: str, reason: str) -> None:
        for row in self.family.rows:
            _reject(row, kind, reason)


def _plans(job: Job, families: list[Family]) -> list[Plan]:
    """Each family's new leads. A family too large to write whole (many learners on one
    phone: sibling links grow with the square of their number) is refused."""
    plans = []
    for family in families:
        new = _new_leads(job, family)
        if _size(new) + 1 > MAX_ITEMS:
            for row in family.rows:
                _reject(row, "invalid", f"{_label('phone')}: 同一电话的学员过多 too many learners on one phone")
            continue
        plans.append(Plan(family, new))
    return plans


CAP_REASON = f"{_label('owner')}: 顾问客户数已达上限 the consultant holds the most leads allowed"


def _count_owners(job: Job, plans: list[Plan]) -> dict[str, int]:
    """Counts the import's leads on their consultants' counters before anything is written,
    one transaction per consultant, within the school's cap: as many as fit. Families are
    taken in file order while they fit; the first that does not closes its consultants (every
    later family of theirs is refused), so a rerun, reading what was counted, takes the same
    families (and never one it refused before one it wrote). Returns what each consultant's
    counter holds for the import."""
    cap = job.config.lead_settings.max_leads_per_consultant
    wanted: dict[str, int] = {}
    for plan in plans:
        for n in plan.new:
            if n.lead.owner_id:
                wanted[n.lead.owner_id] = wanted.get(n.lead.owner_id, 0) + 1
    counted: dict[str, int] = {}
    for owner_id, count in wanted.items():
        found = imports_db.owner_counted(job.tenant, job.record["id"], owner_id)
        for attempt in range(COUNT_TRIES):
            if found is not None:
                break
            if attempt:
                retry.backoff(attempt - 1)  # the counter moved meanwhile (someone took or gave a lead)
            fits = max(0, min(count, cap - imports_db.owned_leads(job.tenant, owner_id)))
            done = imports_db.count_owner(job.tenant, job.record["id"], owner_id, fits, cap)
            if done is None:  # another run of the import counted it
                found = imports_db.owner_counted(job.tenant, job.record["id"], owner_id)
            elif done:
                found = fits
        if found is None:
            raise transactions.TransactionBusy()
        counted[owner_id] = found
    room, closed = dict(counted), set[str]()
    for plan in plans:
        need: dict[str, int] = {}
        for n in plan.new:
            if n.lead.owner_id:
                need[n.lead.owner_id] = need.get(n.lead.owner_id, 0) + 1
        if any(o in closed or room[o] < k for o, k in need.items()):
            closed.update(need)
            plan.reject("conflict", CAP_REASON)
            continue
        for owner_id, k in need.items():
            room[owner_id] -= k
    return counted


def _settle_owners(job: Job, plans: list[Plan], counted: dict[str, int]) -> None:
    """The leads counted but not written (families refused while writing) given back."""
    written: dict[str, int] = {}
    for plan in plans:
        if not plan.rejected():
            for n in plan.new:
                if n.lead.owner_id:
                    written[n.lead.owner_id] = written.get(n.lead.owner_id, 0) + 1
    for owner_id, count in counted.items():
        imports_db.settle_owner(job.tenant, job.record["id"], owner_id, count, written.get(owner_id, 0))


def _chunks(plans: list[Plan]) -> list[list[Plan]]:
    chunks: list[list[Plan]] = []
    rows = 0
    for plan in plans:
        if plan.rejected():
            continue
        if not chunks or rows + len(plan.new) > CHUNK_ROWS:
            chunks.append([])
            rows = 0
        chunks[-1].append(plan)
        rows += len(plan.new)
    return chunks


def _claims(job: Job, plan: Plan) -> list[tuple[str, str]]:
    """The family's phones claimed (conditional puts); (phone, first lead) of each claim it
    holds. A number another lead took meanwhile refuses the family: its claims are taken
    back and it holds none."""
    held: list[tuple[str, str]] = []
    for n in plan.new:
        for e164 in n.new_phones:
            claimants = n.claimants[e164]
            if e164 in job.ours or imports_db.claim_phone(job.tenant, e164, n.lead.family_id, claimants):
                held.append((e164, claimants[0]))
                continue
            _release(job, held)
            plan.reject("conflict", f"{_label('phone')}: 刚被他人录入 added by someone else meanwhile")
            return []
    return held


def _release(job: Job, held: list[tuple[str, str]]) -> None:
    for e164, lead_id in held:
        imports_db.release_phone(job.tenant, e164, lead_id)


def _write_chunk(job: Job, chunk: list[Plan]) -> None:
    """One chunk of families: their phones claimed, then the items that go with each lead
    (history, sibling links, birthday marker), then the leads themselves, in batches. A lead
    is written last, so a lead that exists has everything with it; a rerun writes only the
    leads not there yet. A family DynamoDB would not write (throttled for seconds) is refused
    and its claims and items taken back; one it wrote in part stops the run (WriteBusy) for
    the next run to complete. Nothing is written once the run's lease was taken over (the
    heartbeat raises LeaseLost)."""
    job.beat()
    held = {id(plan): _claims(job, plan) for plan in chunk}
    live = [plan for plan in chunk if not plan.rejected()]
    resumed = [n.lead.id for plan in live if plan.family.phones & job.ours for n in plan.new]
    existing = {lead.id for lead in leads_db.batch_get(job.tenant, resumed)} if resumed else set()
    items: dict[int, tuple[list[Any], list[Any]]] = {}
    for plan in live:
        made = [imports_db.lead_items(job.tenant, n) for n in plan.new if n.lead.id not in existing]
        items[id(plan)] = ([lead for lead, _ in made], [item for _, more in made for item in more])
    failed = imports_db.batch_write([item for plan in live for item in items[id(plan)][1]])
    unwritten = {id(plan) for plan in live if failed & {imports_db.key_of(i) for i in items[id(plan)][1]}}
    leads_to_write = [lead for plan in live if id(plan) not in unwritten for lead in items[id(plan)][0]]
    failed = imports_db.batch_write(leads_to_write)
    for plan in live:
        lead_keys = {imports_db.key_of(i) for i in items[id(plan)][0]}
        if id(plan) not in unwritten and not failed & lead_keys:
            continue
        if existing.intersection(n.lead.id for n in plan.new) or (lead_keys - failed and id(plan) not in unwritten):
            raise imports_db.WriteBusy()
        left = imports_db.batch_write(deletes=[imports_db.key_of(i) for i in items[id(plan)][1]])
        if left:
            raise imports_db.WriteBusy()
        _release(job, held[id(plan)])
        plan.reject("conflict", "写入繁忙 DynamoDB was too busy to write this row; import the file again")


def write_all(job: Job, families: list[Family]) -> None:
    """The families written, chunk by chunk, WRITERS chunks at once, with the consultants'
    counters moved before (what fits their cap) and settled after (what was written)."""
    plans = _plans(job, families)
    counted = _count_owners(job, plans)
    broken = threading.Event()  # a broken or taken-over run starts no more chunks
    chunks = _chunks(plans)
    # the uploader's progress: the rows refused before writing are settled already
    job.settled(int(job.record.get("rows") or 0) - sum(len(plan.new) for chunk in chunks for plan in chunk))

    def write(chunk: list[Plan]) -> None:
        if broken.is_set():
            return
        try:
            _write_chunk(job, chunk)
            job.settled(sum(len(plan.new) for plan in chunk))
        except BaseException:
            broken.set()
            raise

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for future in [pool.submit(write, chunk) for chunk in chunks]:
            future.result()
    _settle_owners(job, plans, counted)


def _mark_used(job: Job, families: list[Family]) -> None:
    """The dictionary values the file uses, marked once before the writes (not with each
    chunk, where one item written by all would make them collide). Marking a value the
    import then fails to use only keeps it from being deleted."""
    used: dict[str, set[str]] = {}
    for row in (row for family in families for row in family.rows):
        values = {**row.values, "status": row.values.get("status") or "potential"}
        for kind, keys_used in tenant_config.check_lead_values(job.config, values, {}).items():
            used.setdefault(kind, set()).update(keys_used)
    for kind, keys_used in used.items():
        config_db.mark_used_now(job.tenant, kind, keys_used)
