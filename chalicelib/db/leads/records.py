"""What the leads store is made of: a lead's item and history item, the records read back
(a phone claim, a lead's partition) and the errors a write explains its failure with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.db import keys
from chalicelib.db.convert import values
from chalicelib.db.items import LeadHistoryItem, LeadItem, RetainItem
from chalicelib.schemas.leads import HistoryEntry, Lead


@dataclass
class PhoneClaim:
    e164: str
    family_id: str
    lead_ids: list[str]


@dataclass
class OwnerChange:
    """Moves the owner counter with the lead (or `count` leads): the new owner's count must
    stay within `cap`."""

    old_owner: str | None
    new_owner: str | None
    cap: int
    count: int = 1


class DuplicatePhoneError(Exception):
    def __init__(self, e164: str):
        super().__init__(e164)
        self.e164 = e164


class OwnerCapError(Exception):
    pass


# A guardian's fields at their defaults are not stored (Guardian fills them in when read).
_GUARDIAN_DEFAULTS: dict[str, Any] = {
    "relation": None,
    "email": None,
    "wechat": None,
    "preferred_contact_time": None,
    "sms_opt_out": False,
    "email_opt_out": False,
}


def _stored_guardian(guardian: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in guardian.items() if k not in _GUARDIAN_DEFAULTS or v != _GUARDIAN_DEFAULTS[k]}


def lead_item(tenant: str, lead: Lead) -> LeadItem:
    """The lead's item. Kept small (a write costs a unit per KB, twice in a transaction):
    defaults are left out (a guardian's empty fields, no assessments, no follow-ups yet),
    and it is in GSI2/GSI4 only with a next follow-up (the lists find the others in GSI1/GSI3)."""
    data = lead.model_dump(mode="json")
    data["guardians"] = [_stored_guardian(g) for g in data["guardians"]]
    for name, empty in (("assessments", {}), ("follow_up_count", 0), ("custom", {})):
        if data.get(name) == empty:
            data.pop(name)
    item = LeadItem(keys.lead_pk(tenant, lead.id), keys.LEAD_SK, **data)
    item.name_key = lead.name.casefold()
    item.phones = lead.phones
    created, nxt = data["created_at"], data.get("next_follow_up_at")
    if lead.deleted_at is None:
        owner = keys.owner_scope(tenant, lead.owner_id, lead.campus_id)
        campus = keys.campus_scope(tenant, lead.campus_id)
        item.GSI1PK, item.GSI1SK = owner, keys.sort_key(created, lead.id)
        item.GSI3PK, item.GSI3SK = campus, keys.sort_key(created, lead.id)
        if nxt:
            item.GSI2PK, item.GSI2SK = owner, keys.sort_key(nxt, lead.id)
            item.GSI4PK, item.GSI4SK = campus, keys.sort_key(nxt, lead.id)
        if lead.owner_id and lead.reclaim_on:
            item.DUEPK, item.DUESK = keys.reclaim_due(data["reclaim_on"], lead.id)
    else:
        item.GSI1PK, item.GSI1SK = keys.recycle_bin(tenant), keys.sort_key(data["deleted_at"], lead.id)
    return item


def to_lead(item: LeadItem) -> Lead:
    data = values(item)
    data.pop("name_key", None)
    data.pop("phones", None)
    data.pop("version", None)
    return Lead.model_validate(data)


def with_origin(lead: Lead, entry: HistoryEntry) -> Lead:
    """The new lead carrying the history entry that made it (`origin`), which is then not
    written as an item of its own: a lead's creation costs one item less (two write units in
    a transaction, one a row in an import). `by` and `at` are kept only where they differ from
    the lead's created_by and created_at (the website's leads: by nobody; an import's: the
    upload's time)."""
    data = entry.model_dump(mode="json")
    origin: dict[str, Any] = {"action": data["action"], "details": data["details"]}
    if entry.by != lead.created_by:
        origin["by"] = data["by"]
    if entry.at != lead.created_at:
        origin["at"] = data["at"]
    return lead.model_copy(update={"origin": origin})


def origin_entry(lead: Lead) -> HistoryEntry | None:
    """The lead's oldest history entry when it is kept on the lead (`with_origin`); None for a
    lead whose creation is an entry of its own (those written before the origin was kept)."""
    origin = lead.origin
    if not origin:
        return None
    return HistoryEntry(
        at=origin.get("at") or lead.created_at,
        by=origin.get("by", lead.created_by),
        action=origin["action"],
        details=origin.get("details") or {},
    )


def history_item(pk: str, entry: HistoryEntry, entry_id: str) -> LeadHistoryItem:
    """A history entry in the partition of what it is about (a lead, a card)."""
    data = entry.model_dump(mode="json")
    return LeadHistoryItem(
        pk,
        keys.history_sk(data["at"], entry_id),
        at=data["at"],
        by=data["by"],
        action=data["action"],
        details=data["details"],
    )


def _history(tenant: str, lead_id: str, entry: HistoryEntry, entry_id: str) -> LeadHistoryItem:
    return history_item(keys.lead_pk(tenant, lead_id), entry, entry_id)


def retain_marker(tenant: str, lead_id: str, touched: datetime) -> RetainItem:
    """The lead's retention marker: filed on the DUE index under the UTC day it was touched
    (docs/privacy.md). Written with a lead's first write of a month (and by imports), so it is
    a lower bound of the lead's last change; the retention job re-files a lead touched since."""
    pk = keys.lead_pk(tenant, lead_id)
    day = touched.astimezone(UTC).date().isoformat()
    marker = RetainItem(pk, keys.RETAIN_SK, touched_on=day)
    marker.DUEPK, marker.DUESK = keys.retain_due(tenant, day, pk)
    return marker
