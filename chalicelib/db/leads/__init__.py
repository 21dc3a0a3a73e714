"""Leads, their history and links, and guardian phone claims.

- records: the lead item and history item, the records read back, the errors of a write
- writing: a lead with everything that must change with it, in one transaction
- reading: one lead, many, a lead's partition, its page (bounded), phone claims, the scoped lists

Callers use the names below from `chalicelib.db.leads`.
"""

from chalicelib.db.leads.reading import (
    LATEST,
    PARTS_CAP,
    LeadPage,
    appointments_page,
    batch_get,
    family,
    get,
    get_with_version,
    history_page,
    list_bin,
    list_page,
    page,
    phone_claim,
    phone_claims,
)
from chalicelib.db.leads.records import (
    DuplicatePhoneError,
    OwnerCapError,
    OwnerChange,
    PhoneClaim,
    history_item,
    lead_item,
    origin_entry,
    retain_marker,
    to_lead,
    with_origin,
)
from chalicelib.db.leads.writing import (
    NewLead,
    add_history,
    create,
    lead_actions,
    save,
    save_fields,
)

__all__ = [
    "LATEST",
    "PARTS_CAP",
    "DuplicatePhoneError",
    "LeadPage",
    "NewLead",
    "OwnerCapError",
    "OwnerChange",
    "PhoneClaim",
    "add_history",
    "appointments_page",
    "batch_get",
    "family",
    "create",
    "get",
    "get_with_version",
    "history_item",
    "origin_entry",
    "history_page",
    "lead_actions",
    "lead_item",
    "list_bin",
    "list_page",
    "page",
    "phone_claim",
    "phone_claims",
    "retain_marker",
    "save",
    "save_fields",
    "to_lead",
    "with_origin",
]
