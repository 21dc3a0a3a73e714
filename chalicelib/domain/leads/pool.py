"""Owners and the public pool (公海): assigning, claiming, releasing, the owner cap and the
protection period (保护期) that returns an unfollowed lead to the pool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import leads as leads_db
from chalicelib.db.lead_fields import Snapshot
from chalicelib.db.leads import OwnerCapError, OwnerChange
from chalicelib.domain import clock, ids, lead_writes
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.config import TenantConfig
from chalicelib.domain.leads.visibility import ASSIGNERS, _not_found, _out, can_see, owner_user
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError
from chalicelib.schemas.leads import HistoryEntry, Lead, LeadOut
from chalicelib.schemas.settings import LeadSettings
from chalicelib.schemas.users import User

# what an owner change decides: the lead unchanged, or (the new owner or None: the pool, the history action)
Decision = LeadOut | tuple[User | None, str]


def protected_until(lead: Lead, settings: LeadSettings, timezone: str) -> Lead:
    """The protection period (保护期): an owned lead (not yet a member) with no follow-up for N days returns to
    the pool. It runs from the later of taking the lead and its last contact, in the
    school's own calendar."""
    if lead.owner_id is None or lead.owned_since is None or lead.deleted_at is not None or lead.signed_on:
        return lead.model_copy(update={"reclaim_on": None})  # members are not reclaimed
    start = max(filter(None, (lead.owned_since, lead.last_contacted_at)))
    local_day = start.astimezone(ZoneInfo(timezone)).date()
    return lead.model_copy(update={"reclaim_on": local_day + timedelta(days=settings.protection_days)})


def _cap(config: TenantConfig) -> int:
    return config.lead_settings.max_leads_per_consultant


def _cap_error() -> ConflictError:
    return ConflictError("That consultant already holds the most leads the school allows.", code="OWNER_CAP_REACHED")


def _change_owner(principal: Principal, read: Snapshot, owner: User | None, action: str) -> LeadOut:
    """The owner is the field edited: a change of it meanwhile is 409 EDIT_CONFLICT naming it."""
    try:
        return _out(change_owner(principal.tenant, principal.user_id, read, owner, action))
    except OwnerCapError as exc:
        raise _cap_error() from exc


def change_owner(
    tenant: str,
    by: str | None,
    read: Snapshot,
    owner: User | None,
    action: str,
    *,
    details: dict[str, Any] | None = None,
    also: Callable[[Any], None] | None = None,
) -> Lead:
    """The lead as read handed to `owner` (None: the pool) by `by`, with its history entry
    (`details` added to from/to) and owner counters; `also(tx)` adds operations to the same
    transaction (a handover's count). Raises OwnerCapError when `owner` is full, and
    LeadChanged (through lead_writes.intending) when the owner moved meanwhile."""
    lead = read.lead
    now = clock.now()
    config = tenant_config.load(tenant)
    updated = lead.model_copy(
        update={
            "owner_id": owner.id if owner else None,
            "owner_name": owner.display_name if owner else None,
            "owned_since": now if owner else None,
            "updated_at": now,
        }
    )
    updated = protected_until(updated, config.lead_settings, get_tenant(tenant).timezone)
    entry = HistoryEntry(
        at=now, by=by, action=action, details={"from": lead.owner_id, "to": updated.owner_id, **(details or {})}
    )
    lead_writes.intending(
        {"owner_id"},
        lambda: leads_db.save_fields(
            tenant,
            read,
            updated,
            [(entry, ids.new_id())],
            owner=OwnerChange(lead.owner_id, updated.owner_id, _cap(config)),
            also=also,
        ),
    )
    return updated


def _owner_change(principal: Principal, lead_id: str, decide: Callable[[Lead], Decision]) -> LeadOut:
    """`decide(lead)` -> the lead unchanged (a LeadOut), or (the new owner or None, the action)."""

    def work(read: Snapshot) -> LeadOut:
        if not can_see(principal, read.lead):
            raise _not_found()
        decided = decide(read.lead)
        return decided if isinstance(decided, LeadOut) else _change_owner(principal, read, *decided)

    return lead_writes.change(principal.tenant, lead_id, work, _not_found)


def assign(principal: Principal, lead_id: str, owner_id: str) -> LeadOut:
    def decide(lead: Lead) -> Decision:
        owner = owner_user(principal, owner_id, lead.campus_id)
        return _out(lead) if lead.owner_id == owner.id else (owner, "assigned")

    return _owner_change(principal, lead_id, decide)


def claim(principal: Principal, lead_id: str) -> LeadOut:
    def decide(lead: Lead) -> Decision:
        if lead.owner_id == principal.user_id:
            return _out(lead)
        if lead.owner_id is not None:
            raise ConflictError("Only leads in the public pool can be claimed.", code="NOT_IN_POOL")
        return (principal.user, "claimed")  # read by authentication already

    return _owner_change(principal, lead_id, decide)


def release(principal: Principal, lead_id: str) -> LeadOut:
    def decide(lead: Lead) -> Decision:
        if lead.owner_id is None:
            return _out(lead)
        if lead.owner_id != principal.user_id and principal.role not in ASSIGNERS:
            raise ForbiddenError("Only the owner or a supervisor can release a lead.", code="ROLE_FORBIDDEN")
        return (None, "released")

    return _owner_change(principal, lead_id, decide)


# --- the protection period ---------------------------------------------------------


def reclaim_expired(at: datetime, only: str | None = None) -> dict[str, int]:
    """Returns to the pool every owned lead whose protection period has ended, by its school's
    own calendar, at the instant `at`. The DUE buckets are keyed by the school-local date, so
    one run reads the buckets of the UTC day before, of and after `at` (every time zone's
    today is among them) and releases a lead only when its school's today has reached its
    date. Each lead is re-checked, so one followed up meanwhile (its date moved) is left alone."""
    from chalicelib.db import due as due_db

    utc_day = at.astimezone(ZoneInfo("UTC")).date()
    zones: dict[str, ZoneInfo] = {}
    candidates = [
        c
        for day in (utc_day - timedelta(days=1), utc_day, utc_day + timedelta(days=1))
        for c in due_db.reclaim_candidates(day.isoformat())
        if only is None or c[0] == only
    ]
    released = skipped = 0
    for tenant, lead_id in candidates:
        if tenant not in zones:
            zones[tenant] = ZoneInfo(get_tenant(tenant).timezone)
        local_today = at.astimezone(zones[tenant]).date()
        loaded = leads_db.get_with_version(tenant, lead_id)
        if loaded is None:
            continue
        lead, version = loaded
        if (
            lead.owner_id is None
            or lead.deleted_at is not None
            or lead.reclaim_on is None
            or lead.signed_on is not None
            or lead.reclaim_on > local_today
        ):
            skipped += 1
            continue
        now = clock.now()
        updated = lead.model_copy(
            update={"owner_id": None, "owner_name": None, "owned_since": None, "reclaim_on": None, "updated_at": now}
        )
        entry = HistoryEntry(
            at=now,
            by=None,
            action="reclaimed",
            details={"from": lead.owner_id, "reason": f"no follow-up before {lead.reclaim_on.isoformat()}"},
        )
        try:
            leads_db.save(tenant, updated, version, [(entry, ids.new_id())], owner=OwnerChange(lead.owner_id, None, 0))
            released += 1
            from chalicelib.db import schedule as schedule_db

            message = f"线索「{lead.name}」保护期内未跟进，已退回公海。"
            schedule_db.notify(tenant, lead.owner_id, ids.new_id(), message, lead.id, clock.iso(now))
        except ConflictError:
            skipped += 1  # changed meanwhile: the next run sees its new date
    return {"released": released, "skipped": skipped}
