"""Leads: the shared customer base, who may see what, duplicates, and the public pool."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import leads as leads_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.db.lead_fields import Snapshot
from chalicelib.db.leads import DuplicatePhoneError, LeadBundle, OwnerCapError, OwnerChange
from chalicelib.db.paging import Scope
from chalicelib.domain import clock, ids, lead_writes, phones
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.domain.config import TenantConfig
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import (
    Guardian,
    GuardianIn,
    GuardianOut,
    HistoryEntry,
    Lead,
    LeadCreateRequest,
    LeadDetail,
    LeadListQuery,
    LeadOut,
    LeadPatchRequest,
    Phone,
    RevealPhoneResponse,
)
from chalicelib.schemas.settings import LeadSettings
from chalicelib.schemas.users import Role

CAMPUS_WIDE = frozenset({Role.manager, Role.frontdesk, Role.finance})
OWNERS = frozenset({Role.consultant, Role.supervisor})
ASSIGNERS = frozenset({Role.admin, Role.manager, Role.supervisor})
DELETERS = frozenset({Role.admin, Role.manager})
REVEALERS = frozenset(Role) - {Role.teacher}


def _not_found() -> NotFoundError:
    return NotFoundError("No such lead.", code="LEAD_NOT_FOUND")


# --- visibility --------------------------------------------------------------------


def can_see(principal: Principal, lead: Lead, team: Collection[str] | None = None) -> bool:
    """Consultant: own + pool of their campuses. Supervisor: also the team's. Manager,
    front desk, finance: their campuses. Admin: everything. Deleted leads: admin, manager.
    The one rule for a lead and for whatever names one (a sign-in sheet's guest, a message's
    recipient, an outbox entry). `team`: a supervisor's team read once for a whole list
    (else one GetItem of the owner)."""
    role = principal.role
    if lead.deleted_at is not None and role not in DELETERS:
        return False
    if role is Role.admin:
        return True
    in_campus = lead.campus_id in principal.campus_ids
    if role in CAMPUS_WIDE:
        return in_campus
    if role in OWNERS:
        if lead.owner_id == principal.user_id or (lead.owner_id is None and in_campus):
            return True
        if role is Role.supervisor and lead.owner_id:
            if team is not None:
                return lead.owner_id in team
            owner = users_db.get(principal.tenant, lead.owner_id)
            return owner is not None and owner.supervisor_id == principal.user_id
    return False


def visible_lead(principal: Principal, lead_id: str) -> Lead:
    lead = leads_db.get(principal.tenant, lead_id)
    if lead is None or not can_see(principal, lead):
        raise _not_found()  # a lead you may not see does not exist for you
    return lead


def _out(lead: Lead) -> LeadOut:
    data = lead.model_dump()
    data["guardians"] = [
        GuardianOut(**{**g.model_dump(), "phones": [phones.mask(p.e164) for p in g.phones]}) for g in lead.guardians
    ]
    return LeadOut.model_validate(data)


# --- input -------------------------------------------------------------------------


def _guardians(items: list[GuardianIn], region: str, kept: list[str] | tuple[str, ...] = ()) -> list[Guardian]:
    """The guardians as stored. On an edit (`kept`: the lead's own numbers) a phone sent back
    masked, as the API showed it (`138****8000`), keeps the number it stands for, so a form can
    edit guardians without ever holding the full numbers."""
    seen: set[str] = set()
    result = []
    for gi, g in enumerate(items):
        numbers = []
        for pi, raw in enumerate(g.phones):
            field = f"guardians.{gi}.phones.{pi}"
            e164 = _kept(raw, kept, field) if "*" in raw else phones.normalise(raw, region, field=field)
            if e164 not in seen:
                seen.add(e164)
                numbers.append(Phone(e164=e164))
        result.append(Guardian(**{**g.model_dump(), "phones": numbers}))
    return result


def _kept(masked: str, kept: list[str] | tuple[str, ...], field: str) -> str:
    """The one number of the lead's own that shows as `masked`; 400 naming `field` otherwise."""
    matches = {e164 for e164 in kept if phones.mask(e164) == masked.strip()}
    if len(matches) != 1:
        why = "two of this lead's numbers show alike: send it in full" if matches else "not one of this lead's numbers"
        raise ValidationFailedError(
            f"{field}: a masked number keeps a number of this lead's as shown; {why}.",
            details=[{"field": field, "message": why}],
        )
    return matches.pop()


def protected_until(lead: Lead, settings: LeadSettings, timezone: str) -> Lead:
    """The protection period (保护期): an owned lead (not yet a member) with no follow-up for N days returns to
    the pool. It runs from the later of taking the lead and its last contact, in the
    school's own calendar."""
    if lead.owner_id is None or lead.owned_since is None or lead.deleted_at is not None or lead.signed_on:
        return lead.model_copy(update={"reclaim_on": None})  # members are not reclaimed
    start = max(filter(None, (lead.owned_since, lead.last_contacted_at)))
    local_day = start.astimezone(ZoneInfo(timezone)).date()
    return lead.model_copy(update={"reclaim_on": local_day + timedelta(days=settings.protection_days)})


def campus_for(principal: Principal, requested: str | None) -> str:
    if requested is None:
        if len(principal.campus_ids) == 1:
            return principal.campus_ids[0]
        raise ValidationFailedError(
            "Say which campus the lead belongs to.", details=[{"field": "campus_id", "message": "required"}]
        )
    if principal.role is not Role.admin and requested not in principal.campus_ids:
        raise ValidationFailedError(
            "You can only add leads to your own campuses.", details=[{"field": "campus_id", "message": "not yours"}]
        )
    if not tenants_db.existing_campus_ids(principal.tenant, [requested]):
        raise ValidationFailedError("Unknown campus.", details=[{"field": "campus_id", "message": "unknown campus"}])
    return requested


def owner_user(principal: Principal, owner_id: str, campus_id: str, field: str = "owner_id"):
    owner = users_db.get(principal.tenant, owner_id)
    if owner is None or not owner.active or owner.role not in OWNERS or campus_id not in owner.campus_ids:
        raise ValidationFailedError(
            "The owner must be an active consultant or supervisor of the lead's campus.",
            details=[{"field": field, "message": "not a possible owner"}],
        )
    if principal.role is Role.supervisor and owner.id != principal.user_id and owner.supervisor_id != principal.user_id:
        raise ForbiddenError("A supervisor assigns leads within their own team.", code="NOT_YOUR_TEAM")
    if principal.role is Role.consultant and owner.id != principal.user_id:
        raise ForbiddenError("A consultant cannot give leads to others.", code="ROLE_FORBIDDEN")
    return owner


def _cap(config: TenantConfig) -> int:
    return config.lead_settings.max_leads_per_consultant


def _split_phones(tenant: str, numbers: list[str], family_id: str, lead_id: str | None):
    """(new claims, family claims to join); a number held by another family raises DuplicatePhoneError."""
    new, family = [], []
    for e164 in numbers:
        claim = leads_db.phone_claim(tenant, e164)
        if claim is None:
            new.append(e164)
        elif lead_id in claim.lead_ids:
            continue
        elif claim.family_id == family_id:
            family.append(e164)
        else:
            raise DuplicatePhoneError(e164)
    return new, family


def _duplicate(principal: Principal, e164: str) -> ConflictError:
    """409 naming the existing lead to a caller who may see it. A caller who may not learns
    only that the phone is already a customer of the school, and whom to ask: a manager of
    the lead's campus (else an admin). Either answer counts as one customer read."""
    claim = leads_db.phone_claim(principal.tenant, e164)
    details: dict[str, Any] = {"field": "guardians.phones", "phone": phones.mask(e164)}
    existing = leads_db.get(principal.tenant, claim.lead_ids[0]) if claim and claim.lead_ids else None
    if existing is not None and can_see(principal, existing):
        details.update(
            lead_id=existing.id,
            name=existing.name,
            owner_id=existing.owner_id,
            owner_name=existing.owner_name,
            status=existing.status,
            in_recycle_bin=existing.deleted_at is not None,
            visible=True,
        )
        message = f"The phone {phones.mask(e164)} already belongs to another lead" + (
            f" owned by {existing.owner_name}." if existing.owner_name else " in the public pool."
        )
    else:
        ask = _whom_to_ask(principal.tenant, existing.campus_id if existing else None)
        details.update(visible=False, ask_user_id=ask.id if ask else None, ask_name=ask.display_name if ask else None)
        message = f"The phone {phones.mask(e164)} is already a customer of the school (本校已有此客户)." + (
            f" Ask {ask.display_name} about it." if ask else " Ask your campus manager about it."
        )
    error = ConflictError(message, code="DUPLICATE_PHONE", details=[details])
    error.reads = 1  # it tells about a customer: counted for anti-scraping
    return error


def _whom_to_ask(tenant: str, campus_id: str | None):
    """An active manager of the campus (by name, for a stable answer), else an admin."""
    staff = sorted(users_db.active_records(tenant), key=lambda u: (u.display_name, u.id))
    managers = [u for u in staff if u.role is Role.manager and campus_id in u.campus_ids]
    return next(iter(managers or [u for u in staff if u.role is Role.admin]), None)


# --- create, read, change ----------------------------------------------------------


def create_lead(principal: Principal, request: LeadCreateRequest) -> LeadOut:
    tenant = get_tenant(principal.tenant)
    config = tenant_config.load(principal.tenant)
    values = {**request.model_dump(), "status": request.status or "potential"}
    used = tenant_config.check_lead_values(config, values, {})
    campus_id = campus_for(principal, request.campus_id)
    owner = None
    if request.owner_id and not request.to_pool:
        owner = owner_user(principal, request.owner_id, campus_id)
    elif not request.to_pool and principal.role in OWNERS:
        owner = principal.user  # read by authentication already
    guardians = _guardians(request.guardians, tenant.phone_region)
    lead_id = ids.new_id()
    family_id, siblings = lead_id, []
    if request.sibling_of:
        sibling = leads_db.bundle(principal.tenant, request.sibling_of)
        if sibling is None or not can_see(principal, sibling.lead):
            raise ValidationFailedError(
                "Unknown sibling.", details=[{"field": "sibling_of", "message": "no such lead"}]
            )
        family_id, siblings = sibling.lead.family_id, [sibling.lead.id, *sibling.siblings]
    if request.referrer_lead_id and leads_db.get(principal.tenant, request.referrer_lead_id) is None:
        raise ValidationFailedError(
            "Unknown referrer.", details=[{"field": "referrer_lead_id", "message": "no such lead"}]
        )
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
        lead = write_new_lead(principal.tenant, lead, entry, config, tenant.timezone, siblings=siblings, used=used)
    except DuplicatePhoneError as exc:  # a phone of another family, or lost a race for it
        raise _duplicate(principal, exc.e164) from exc
    except OwnerCapError as exc:
        raise _cap_error() from exc
    return _out(lead)


def write_new_lead(
    tenant: str,
    lead: Lead,
    entry: HistoryEntry,
    config: TenantConfig,
    timezone: str,
    *,
    siblings: list[str] = (),
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
        ids.new_id(),
        new_phones=new,
        family_phones=family,
        siblings=list(siblings),
        owner=OwnerChange(None, lead.owner_id, _cap(config)) if lead.owner_id else None,
        used=used,
    )
    return lead


def _cap_error() -> ConflictError:
    return ConflictError("That consultant already holds the most leads the school allows.", code="OWNER_CAP_REACHED")


def get_lead(principal: Principal, lead_id: str) -> LeadDetail:
    from chalicelib.domain import plan_access

    found: LeadBundle | None = leads_db.bundle(principal.tenant, lead_id)
    plan_access.check(principal, found.lead if found else None, "GET /leads/{lead_id}")  # 404, or a plan's grant
    out = _out(found.lead)
    return LeadDetail(
        **out.model_dump(),
        follow_ups=sorted(found.follow_ups, key=lambda f: f.followed_at, reverse=True),
        plans=sorted(found.plans, key=lambda p: (p.status != "open", p.planned_at)),
        appointments=sorted(found.appointments, key=lambda a: a.at, reverse=True),
        history=sorted(found.history, key=lambda h: h.at),
        siblings=found.siblings,
        referrals=found.referrals,
        contract_ids=found.contract_ids,
        card_ids=found.card_ids,
        enrolment_ids=found.enrolment_ids,
    )


def require_live(lead: Lead) -> Lead:
    """A lead in the recycle bin takes no changes until it is restored."""
    if lead.deleted_at is not None:
        raise ConflictError("Restore the lead from the recycle bin first.", code="LEAD_DELETED")
    return lead


def load_for_change(principal: Principal, lead_id: str) -> tuple[Lead, int]:
    loaded = leads_db.get_with_version(principal.tenant, lead_id)
    if loaded is None or not can_see(principal, loaded[0]):
        raise _not_found()
    return loaded


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
    config = tenant_config.load(principal.tenant)
    current = lead.model_dump()
    used = tenant_config.check_lead_values(config, {**current, **changes}, current)
    family_id, siblings, refamilied = lead.family_id, [], []
    sibling_of = changes.pop("sibling_of", None)
    if sibling_of:
        family_id, siblings = _join_family(principal, lead, sibling_of)
        if siblings:
            refamilied = [
                claim
                for claim in (leads_db.phone_claim(principal.tenant, e) for e in lead.phones)
                if claim is not None and claim.lead_ids == [lead.id]
            ]
    new, family, released = [], [], []
    if "guardians" in changes:
        guardians = _guardians(request.guardians or [], get_tenant(principal.tenant).phone_region, kept=lead.phones)
        old_numbers, new_numbers = set(lead.phones), {p.e164 for g in guardians for p in g.phones}
        try:
            new, family = _split_phones(principal.tenant, sorted(new_numbers - old_numbers), family_id, lead.id)
        except DuplicatePhoneError as exc:
            raise _duplicate(principal, exc.e164) from exc
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
        details={"fields": sorted(changes), **({"sibling_of": sibling_of} if siblings else {})},
    )
    try:
        lead_writes.intending(
            {*changes, "family_id"},
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
    except DuplicatePhoneError as exc:
        raise _duplicate(principal, exc.e164) from exc
    return _out(updated)


def _join_family(principal: Principal, lead: Lead, sibling_id: str) -> tuple[str, list[str]]:
    """(family id, leads to link) for linking `lead` as a sibling of `sibling_id`."""
    sibling = leads_db.bundle(principal.tenant, sibling_id)
    if sibling is None or not can_see(principal, sibling.lead) or sibling_id == lead.id:
        raise ValidationFailedError("Unknown sibling.", details=[{"field": "sibling_of", "message": "no such lead"}])
    if sibling.lead.family_id == lead.family_id:
        return lead.family_id, []
    mine = leads_db.bundle(principal.tenant, lead.id)
    if mine is not None and mine.siblings:
        raise ConflictError("This lead already belongs to another family.", code="ALREADY_IN_FAMILY")
    return sibling.lead.family_id, [sibling.lead.id, *sibling.siblings]


def _change_owner(principal: Principal, read: Snapshot, owner, action: str) -> LeadOut:
    """The owner is the field edited: a change of it meanwhile is 409 EDIT_CONFLICT naming it."""
    lead = read.lead
    now = clock.now()
    config = tenant_config.load(principal.tenant)
    updated = lead.model_copy(
        update={
            "owner_id": owner.id if owner else None,
            "owner_name": owner.display_name if owner else None,
            "owned_since": now if owner else None,
            "updated_at": now,
        }
    )
    updated = protected_until(updated, config.lead_settings, get_tenant(principal.tenant).timezone)
    entry = HistoryEntry(
        at=now, by=principal.user_id, action=action, details={"from": lead.owner_id, "to": updated.owner_id}
    )
    try:
        lead_writes.intending(
            {"owner_id"},
            lambda: leads_db.save_fields(
                principal.tenant,
                read,
                updated,
                [(entry, ids.new_id())],
                owner=OwnerChange(lead.owner_id, updated.owner_id, _cap(config)),
            ),
        )
    except OwnerCapError as exc:
        raise _cap_error() from exc
    return _out(updated)


def _owner_change(principal: Principal, lead_id: str, decide) -> LeadOut:
    """`decide(lead)` -> the lead unchanged (a LeadOut), or (the new owner or None, the action)."""

    def work(read: Snapshot) -> LeadOut:
        if not can_see(principal, read.lead):
            raise _not_found()
        decided = decide(read.lead)
        return decided if isinstance(decided, LeadOut) else _change_owner(principal, read, *decided)

    return lead_writes.change(principal.tenant, lead_id, work, _not_found)


def assign(principal: Principal, lead_id: str, owner_id: str) -> LeadOut:
    def decide(lead: Lead):
        owner = owner_user(principal, owner_id, lead.campus_id)
        return _out(lead) if lead.owner_id == owner.id else (owner, "assigned")

    return _owner_change(principal, lead_id, decide)


def claim(principal: Principal, lead_id: str) -> LeadOut:
    def decide(lead: Lead):
        if lead.owner_id == principal.user_id:
            return _out(lead)
        if lead.owner_id is not None:
            raise ConflictError("Only leads in the public pool can be claimed.", code="NOT_IN_POOL")
        return (principal.user, "claimed")  # read by authentication already

    return _owner_change(principal, lead_id, decide)


def release(principal: Principal, lead_id: str) -> LeadOut:
    def decide(lead: Lead):
        if lead.owner_id is None:
            return _out(lead)
        if lead.owner_id != principal.user_id and principal.role not in ASSIGNERS:
            raise ForbiddenError("Only the owner or a supervisor can release a lead.", code="ROLE_FORBIDDEN")
        return (None, "released")

    return _owner_change(principal, lead_id, decide)


def reveal_phone(principal: Principal, lead_id: str, source_ip: str | None) -> RevealPhoneResponse:
    if principal.role not in REVEALERS:
        raise ForbiddenError("Your role may not see full phone numbers.", code="ROLE_FORBIDDEN")
    from chalicelib.domain import plan_access

    lead = plan_access.lead_for_plan_work(principal, lead_id, "POST /leads/{lead_id}/reveal-phone")
    entry = HistoryEntry(at=clock.now(), by=principal.user_id, action="phone_revealed", details={"ip": source_ip})
    leads_db.add_history(principal.tenant, lead.id, entry, ids.new_id())
    return RevealPhoneResponse(lead_id=lead.id, guardians=lead.guardians)


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


# --- lists -------------------------------------------------------------------------


def _looks_like_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return digits >= 6 and digits >= len(text.replace(" ", "").replace("-", "")) - 1


def campus_choice(principal: Principal, campus: str | None) -> str | None:
    """The campus a school-wide list or report covers for this caller: any (None: all) for
    admins and campus-less finance; else one of their own, the only one if they have one."""
    if principal.role is Role.admin or (principal.role is Role.finance and not principal.campus_ids):
        return campus
    if campus is None:
        if len(principal.campus_ids) != 1:
            raise ValidationFailedError(
                "campus: choose one of your campuses", details=[{"field": "campus", "message": "choose one"}]
            )
        return principal.campus_ids[0]
    if campus not in principal.campus_ids:
        raise ValidationFailedError(
            "campus: not one of your campuses", details=[{"field": "campus", "message": "not one of yours"}]
        )
    return campus


def all_campuses(tenant: str) -> list[str]:
    found, cursor = [], None
    while True:
        items, cursor = tenants_db.list_campuses(tenant, 100, cursor)
        found += [c.id for c in items]
        if not cursor:
            return found


def team_of(principal: Principal) -> list[str]:
    members, cursor = [principal.user_id], None
    while True:
        items, cursor = users_db.list_team(principal.tenant, principal.user_id, 100, cursor)
        members += [u.id for u in items]
        if not cursor:
            return members


def staff_of(tenant: str, campuses: list[str]) -> list[str]:
    """Active consultants and supervisors of these campuses (today's plans for managers)."""
    found, cursor = [], None
    while True:
        items, cursor = users_db.list_users(tenant, 100, cursor)
        found += [u.id for u in items if u.active and u.role in OWNERS and set(u.campus_ids) & set(campuses)]
        if not cursor:
            return found


def list_leads(principal: Principal, query: LeadListQuery) -> Page[LeadOut]:
    if query.q and _looks_like_phone(query.q):
        return _by_phone(principal, query.q)
    role, tenant = principal.role, principal.tenant
    if role is Role.teacher:
        raise ForbiddenError("Teachers see leads through their classes.", code="ROLE_FORBIDDEN")
    campuses = all_campuses(tenant) if role is Role.admin else list(principal.campus_ids)
    if query.campus:
        if query.campus not in campuses:
            return Page[LeadOut](items=[])
        campuses = [query.campus]
    scope = query.scope
    if scope == "visible":
        scope = {Role.consultant: "mine+pool", Role.supervisor: "team+pool"}.get(role, "campus")
    me, pools = (principal.user_id,), tuple(campuses)
    if query.owner:
        if role is Role.consultant and query.owner != principal.user_id:
            return Page[LeadOut](items=[])
        if role is Role.supervisor and query.owner not in team_of(principal):
            return Page[LeadOut](items=[])
        where = Scope(users=(query.owner,))
    elif scope == "mine":
        where = Scope(users=me)
    elif scope == "pool":
        where = Scope(pools=pools)
    elif scope in ("team", "team+pool"):
        if role is not Role.supervisor:
            raise ForbiddenError("Only supervisors have a team.", code="ROLE_FORBIDDEN")
        where = Scope(users=tuple(team_of(principal)), pools=pools if scope == "team+pool" else ())
    elif scope == "mine+pool":
        where = Scope(users=me, pools=pools)
    else:
        where = Scope(campuses=pools)
    if where.empty:
        return Page[LeadOut](items=[])
    if query.sort == "newest":
        lo, hi = query.created_from, query.created_to
    else:
        lo, hi = query.next_from, query.next_to
    filters: dict[str, Any] = {
        "status": query.status,
        "source": query.source,
        "stage": query.stage,
        "importance": query.importance,
        "level": query.level,
        "tag": query.tag,
        "name_prefix": query.q,
        "campus_in": campuses if not where.by_campus and (query.campus or role is not Role.admin) else None,
    }
    if query.sort == "newest" and (query.next_from or query.next_to):
        raise ValidationFailedError(
            "Filter by next follow-up with sort=next_follow_up.",
            details=[{"field": "next_from", "message": "needs sort=next_follow_up"}],
        )
    if query.sort != "newest" and (query.created_from or query.created_to):
        raise ValidationFailedError(
            "Filter by creation date with sort=newest.",
            details=[{"field": "created_from", "message": "needs sort=newest"}],
        )
    items, cursor = leads_db.list_page(
        tenant,
        scope_of=where,
        sort=query.sort,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{tenant}:leads:{principal.user_id}:{scope}:{query.sort}",
        range_from=clock.iso(lo) if lo else None,
        range_to=clock.iso(hi) if hi else None,
        filters=filters,
    )
    return Page[LeadOut](items=[_out(i) for i in items], next_cursor=cursor)


def _by_phone(principal: Principal, text: str) -> Page[LeadOut]:
    """A phone search goes straight to the phone's claim item."""
    region = get_tenant(principal.tenant).phone_region
    e164 = phones.normalise(text, region, field="q")
    claim = leads_db.phone_claim(principal.tenant, e164)
    found = []
    for lead_id in claim.lead_ids if claim else []:
        lead = leads_db.get(principal.tenant, lead_id)
        if lead is not None and lead.deleted_at is None and can_see(principal, lead):
            found.append(_out(lead))
    return Page[LeadOut](items=found)


def list_recycle_bin(principal: Principal, limit: int, cursor: str | None) -> Page[LeadOut]:
    items, next_cursor = leads_db.list_bin(principal.tenant, limit, cursor, f"{principal.tenant}:bin")
    if principal.role is not Role.admin:
        items = [i for i in items if i.campus_id in principal.campus_ids]
    return Page[LeadOut](items=[_out(i) for i in items], next_cursor=next_cursor)


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
