"""Creating, editing, deleting and restoring a lead."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.db import leads as leads_db
from chalicelib.db import users as users_db
from chalicelib.db.lead_fields import Snapshot
from chalicelib.db.leads import OwnerCapError, OwnerChange, PhoneClaim
from chalicelib.domain import clock, ids, lead_writes
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.config import TenantConfig
from chalicelib.domain.leads.guardians import _guardians, _split_phones, duplicate_phone_answered
from chalicelib.domain.leads.pool import _cap, _cap_error, protected_until
from chalicelib.domain.leads.visibility import (
    OWNERS,
    _not_found,
    _out,
    campus_for,
    can_see,
    load_for_change,
    owner_user,
    require_live,
)
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ValidationFailedError
from chalicelib.schemas.leads import HistoryEntry, Lead, LeadCreateRequest, LeadOut, LeadPatchRequest
from chalicelib.schemas.users import User


def create_lead(principal: Principal, request: LeadCreateRequest) -> LeadOut:
    tenant = get_tenant(principal.tenant)
    config = tenant_config.load(principal.tenant)
    values = {**request.model_dump(), "status": request.status or "potential"}
    used = tenant_config.check_lead_values(config, values, {})
    campus_id = campus_for(principal, request.campus_id)
    owner: User | None = None
    if request.owner_id and not request.to_pool:
        owner = owner_user(principal, request.owner_id, campus_id)
    elif not request.to_pool and principal.role in OWNERS:
        owner = principal.user  # read by authentication already
    guardians = _guardians(request.guardians, tenant.phone_region)
    lead_id = ids.new_id()
    siblings: list[str] = []
    family_id = lead_id
    if request.sibling_of:
        sibling = leads_db.family(principal.tenant, request.sibling_of)
        if sibling is None or not can_see(principal, sibling[0]):
            raise ValidationFailedError(
                "Unknown sibling.", details=[{"field": "sibling_of", "message": "no such lead"}]
            )
        other, others_siblings = sibling
        family_id, siblings = other.family_id, [other.id, *others_siblings]
    check_referrer(principal.tenant, request.referrer_lead_id, request.referrer_user_id)
    now = clock.now()
    lead = Lead(
        **request.model_dump(
            exclude={
                "guardians",
                "campus_id",
                "owner_id",
                "to_pool",
                "sibling_of",
                "status",
                "tags",
                "intended_courses",
                "custom",
            }
        ),
        id=lead_id,
        guardians=guardians,
        family_id=family_id,
        campus_id=campus_id,
        owner_id=owner.id if owner else None,
        owner_name=owner.display_name if owner else None,
        owned_since=now if owner else None,
        status=request.status or "potential",
        tags=request.tags or [],
        intended_courses=request.intended_courses or [],
        custom=request.custom or {},
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    entry = HistoryEntry(
        at=now,
        by=principal.user_id,
        action="created",
        details={"owner_id": lead.owner_id, "sibling_of": request.sibling_of},
    )
    try:
        with duplicate_phone_answered(principal):  # a phone of another family, or lost a race for it
            lead = write_new_lead(principal.tenant, lead, entry, config, tenant.timezone, siblings=siblings, used=used)
    except OwnerCapError as exc:
        raise _cap_error() from exc
    return _out(lead)


def check_referrer(tenant: str, lead_id: str | None, user_id: str | None) -> None:
    """Who referred a new lead (转介绍): a lead of the school, or a member of its staff (a
    user of this tenant, disabled or not: the referral happened), not both."""
    if lead_id and user_id:
        raise ValidationFailedError(
            "A lead is referred by a lead or by a member of staff, not both.",
            details=[{"field": "referrer_user_id", "message": "not with referrer_lead_id"}],
        )
    if lead_id and leads_db.get(tenant, lead_id) is None:
        raise ValidationFailedError(
            "Unknown referrer.", details=[{"field": "referrer_lead_id", "message": "no such lead"}]
        )
    if user_id and users_db.get(tenant, user_id) is None:
        raise ValidationFailedError(
            "Unknown referrer.", details=[{"field": "referrer_user_id", "message": "no such member of staff"}]
        )


def write_new_lead(
    tenant: str,
    lead: Lead,
    entry: HistoryEntry,
    config: TenantConfig,
    timezone: str,
    *,
    siblings: Sequence[str] = (),
    used: dict[str, set[str]] | None = None,
) -> Lead:
    """Stores a new lead with its protection period, phone claims, sibling links, history and
    owner counter in one transaction; whoever made it (staff, the website) decided the owner.
    Raises DuplicatePhoneError (a phone of another family) or OwnerCapError."""
    lead = protected_until(lead, config.lead_settings, timezone)
    new, family = _split_phones(tenant, lead.phones, lead.family_id, None)
    leads_db.create(
        tenant,
        lead,
        entry,
        new_phones=new,
        family_phones=family,
        siblings=list(siblings),
        owner=OwnerChange(None, lead.owner_id, _cap(config)) if lead.owner_id else None,
        used=used,
    )
    return lead


def patch_lead(principal: Principal, lead_id: str, request: LeadPatchRequest) -> LeadOut:
    """Writes only the fields sent that differ; it conflicts (409 EDIT_CONFLICT naming them)
    only with a change of one of those same fields since the lead was read."""
    return lead_writes.change(principal.tenant, lead_id, lambda read: _patch(principal, read, request), _not_found)


def _patch(principal: Principal, read: Snapshot, request: LeadPatchRequest) -> LeadOut:
    lead = read.lead
    if not can_see(principal, lead):
        raise _not_found()
    require_live(lead)
    changes = request.model_dump(exclude_unset=True)
    for name in ("name", "guardians", "status"):
        if name in changes and changes[name] is None:
            raise ValidationFailedError(f"{name} cannot be null.", details=[{"field": name, "message": "not nullable"}])
    edits = set(changes) - {"sibling_of"}  # what the caller edits (the history entry names them)
    if "custom" in changes:  # only the keys sent change (null: removed); a clash is per key
        sent = changes.pop("custom") or {}
        edits.discard("custom")
        edits.update(f"custom.{key}" for key in sent)
        merged = {**lead.custom, **{k: v for k, v in sent.items() if v is not None}}
        if sent:
            changes["custom"] = {k: v for k, v in merged.items() if sent.get(k, v) is not None}
    config = tenant_config.load(principal.tenant)
    current = lead.model_dump()
    used = tenant_config.check_lead_values(config, {**current, **changes}, current)
    family_id = lead.family_id
    siblings: list[str] = []
    refamilied: list[PhoneClaim] = []
    sibling_of = changes.pop("sibling_of", None)
    if sibling_of:
        family_id, siblings = _join_family(principal, lead, sibling_of)
        if siblings:
            refamilied = [
                claim
                for claim in (leads_db.phone_claim(principal.tenant, e) for e in lead.phones)
                if claim is not None and claim.lead_ids == [lead.id]
            ]
    new: list[str] = []
    family: list[str] = []
    released: list[PhoneClaim] = []
    if "guardians" in changes:
        guardians = _guardians(request.guardians or [], get_tenant(principal.tenant).phone_region, kept=lead.phones)
        old_numbers, new_numbers = set(lead.phones), {p.e164 for g in guardians for p in g.phones}
        with duplicate_phone_answered(principal):
            new, family = _split_phones(principal.tenant, sorted(new_numbers - old_numbers), family_id, lead.id)
        for e164 in sorted(old_numbers - new_numbers):
            claim = leads_db.phone_claim(principal.tenant, e164)
            if claim is not None and lead.id in claim.lead_ids:
                released.append(claim)
        refamilied = [c for c in refamilied if c.e164 in new_numbers]
        changes["guardians"] = guardians
    for name in ("tags", "intended_courses"):
        if name in changes and changes[name] is None:
            changes[name] = []
    now = clock.now()
    updated = lead.model_copy(update={**changes, "family_id": family_id, "updated_at": now})
    entry = HistoryEntry(
        at=now,
        by=principal.user_id,
        action="edited",
        details={"fields": sorted(edits), **({"sibling_of": sibling_of} if siblings else {})},
    )
    with duplicate_phone_answered(principal):
        lead_writes.intending(
            {*edits, "family_id"},
            lambda: leads_db.save_fields(
                principal.tenant,
                read,
                updated,
                [(entry, ids.new_id())],
                new_phones=new,
                family_phones=family,
                released_phones=released,
                refamilied_phones=refamilied,
                birthday="birthday" in changes,
                siblings=siblings,
                used=used,
            ),
        )
    return _out(updated)


def _join_family(principal: Principal, lead: Lead, sibling_id: str) -> tuple[str, list[str]]:
    """(family id, leads to link) for linking `lead` as a sibling of `sibling_id`."""
    sibling = leads_db.family(principal.tenant, sibling_id)
    if sibling is None or not can_see(principal, sibling[0]) or sibling_id == lead.id:
        raise ValidationFailedError("Unknown sibling.", details=[{"field": "sibling_of", "message": "no such lead"}])
    other, others_siblings = sibling
    if other.family_id == lead.family_id:
        return lead.family_id, []
    mine = leads_db.family(principal.tenant, lead.id)
    if mine is not None and mine[1]:
        raise ConflictError("This lead already belongs to another family.", code="ALREADY_IN_FAMILY")
    return other.family_id, [other.id, *others_siblings]


def delete_lead(principal: Principal, lead_id: str) -> None:
    lead, version = load_for_change(principal, lead_id)
    if lead.deleted_at is not None:
        return
    now = clock.now()
    updated = lead.model_copy(update={"deleted_at": now, "updated_at": now, "reclaim_on": None})
    entry = HistoryEntry(at=now, by=principal.user_id, action="deleted", details={})
    leads_db.save(
        principal.tenant,
        updated,
        version,
        [(entry, ids.new_id())],
        owner=OwnerChange(lead.owner_id, None, 0) if lead.owner_id else None,
        birthday=True,
    )


def restore_lead(principal: Principal, lead_id: str) -> LeadOut:
    lead, version = load_for_change(principal, lead_id)
    if lead.deleted_at is None:
        return _out(lead)
    if lead.erased_at is not None:
        raise ConflictError("This lead's personal data was erased; it cannot be restored.", code="LEAD_ERASED")
    now = clock.now()
    owner = users_db.get(principal.tenant, lead.owner_id) if lead.owner_id else None
    keep_owner = owner is not None and owner.active
    updated = lead.model_copy(
        update={
            "deleted_at": None,
            "updated_at": now,
            **({} if keep_owner else {"owner_id": None, "owner_name": None, "owned_since": None}),
        }
    )
    config = tenant_config.load(principal.tenant)
    updated = protected_until(updated, config.lead_settings, get_tenant(principal.tenant).timezone)
    entry = HistoryEntry(at=now, by=principal.user_id, action="restored", details={"owner_id": updated.owner_id})
    try:
        leads_db.save(
            principal.tenant,
            updated,
            version,
            [(entry, ids.new_id())],
            owner=OwnerChange(None, updated.owner_id, _cap(config)) if updated.owner_id else None,
            birthday=True,
        )
    except OwnerCapError as exc:
        raise _cap_error() from exc
    return _out(updated)
