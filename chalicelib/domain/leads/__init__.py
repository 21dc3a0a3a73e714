"""Leads: the shared customer base, who may see what, duplicates, and the public pool.

- visibility: who may see a lead (`can_see`), the roles, the checks a change starts with
- guardians: guardians and phones as stored, the 409 for a phone another family holds
- writing: create, edit, delete, restore
- pool: owners (assign, claim, release), the owner cap, the protection period (保护期)
- reading: a lead's detail, its full phones, the lists

Callers use the names below from `chalicelib.domain.leads`.
"""

from chalicelib.domain.leads.pool import assign, claim, protected_until, reclaim_expired, release
from chalicelib.domain.leads.reading import (
    all_campuses,
    campus_choice,
    get_lead,
    lead_appointments,
    lead_history,
    list_leads,
    list_recycle_bin,
    reveal_phone,
    staff_of,
    team_of,
)
from chalicelib.domain.leads.visibility import (
    ASSIGNERS,
    CAMPUS_WIDE,
    DELETERS,
    OWNERS,
    REVEALERS,
    _not_found,
    campus_for,
    can_see,
    history_reach,
    history_shared,
    load_for_change,
    owner_user,
    require_live,
    visible_lead,
)
from chalicelib.domain.leads.writing import create_lead, delete_lead, patch_lead, restore_lead, write_new_lead

__all__ = [
    "ASSIGNERS",
    "CAMPUS_WIDE",
    "DELETERS",
    "OWNERS",
    "REVEALERS",
    "_not_found",
    "all_campuses",
    "assign",
    "campus_choice",
    "campus_for",
    "can_see",
    "history_reach",
    "history_shared",
    "claim",
    "create_lead",
    "delete_lead",
    "get_lead",
    "lead_appointments",
    "lead_history",
    "list_leads",
    "list_recycle_bin",
    "load_for_change",
    "owner_user",
    "patch_lead",
    "protected_until",
    "reclaim_expired",
    "release",
    "require_live",
    "restore_lead",
    "reveal_phone",
    "staff_of",
    "team_of",
    "visible_lead",
    "write_new_lead",
]
