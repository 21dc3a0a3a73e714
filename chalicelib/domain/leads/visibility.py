"""Who may see a lead, and the checks every change of one starts with."""

from __future__ import annotations

from collections.abc import Collection

from chalicelib.db import leads as leads_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import phones, roles
from chalicelib.domain.auth import Principal
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.leads import GuardianOut, Lead, LeadOut
from chalicelib.schemas.users import Role, UserRecord

CAMPUS_WIDE = frozenset({Role.manager, Role.frontdesk, Role.finance})
OWNERS = roles.OWN_LEADS
ASSIGNERS = roles.ASSIGN_LEADS
DELETERS = roles.DELETE_LEADS
REVEALERS = roles.REVEAL_PHONES


def _not_found() -> NotFoundError:
    return NotFoundError("No such lead.", code="LEAD_NOT_FOUND")


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


def history_reach(principal: Principal, policy: str) -> str | None:
    """How far the caller reads follow-up history beyond the leads they see, under the
    school's `history_visibility` (lead settings): "school" (every campus), "campus" (their
    campuses'), or None (only the leads they see: their own, their team's, the pool's).
    Admins read the school's; managers, front desk and finance their campuses' whatever the
    policy; consultants and supervisors their campuses' under `campus`; everyone but
    teachers the school's under `school`. Never phones, never a lead's page."""
    role = principal.role
    if role is Role.teacher:
        return None
    if role is Role.admin or policy == "school":
        return "school"
    if role in CAMPUS_WIDE or (policy == "campus" and role in OWNERS):
        return "campus"
    return None


def history_shared(principal: Principal, lead: Lead, policy: str) -> bool:
    """The caller may read this lead's follow-ups under the school's policy alone (without
    seeing the lead). A lead in the recycle bin is never shared."""
    reach = history_reach(principal, policy)
    if lead.deleted_at is not None or reach is None:
        return False
    return reach == "school" or lead.campus_id in principal.campus_ids


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


def owner_user(principal: Principal, owner_id: str, campus_id: str, field: str = "owner_id") -> UserRecord:
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
