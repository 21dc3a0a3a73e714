"""Field-level changes to a lead: appends never conflict, edits conflict per field.

A whole-item Put guarded by the lead's version refuses any second writer, even one that
only appends a follow-up while another changes the status. A change made here is one
UpdateItem that SETs (or REMOVEs) only the attributes that differ between the lead as read
and as changed, ADDs counters (which commute), and is conditioned only on the stored
values of the fields it changes, plus the inputs of any index key it moves. It also ADDs 1
to `version`, so a writer that still replaces the whole item under a version check sees it.

When the condition fails, `changed_fields` re-reads the lead and names the conditioned
fields that another writer changed meanwhile, with their values now: the domain decides
whether that is a clash with what its caller meant to edit (409 EDIT_CONFLICT naming them)
or only a derived value to recompute (it tries again on the fresh lead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.db import keys
from chalicelib.db.items import LeadItem
from chalicelib.schemas.leads import Lead

LABEL = "lead-fields"
INDEX_KEYS = frozenset({"GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK"})
INDEX_KEYS |= {"DUEPK", "DUESK"}
# what the index keys are made of (db.leads.lead_item): moving a key is conditioned on all of them
INDEX_INPUTS = ("owner_id", "campus_id", "deleted_at", "next_follow_up_at", "reclaim_on", "created_at")
DERIVED = {"name_key": "name", "phones": "guardians"}  # attribute -> the field it is made from
UNCONDITIONED = frozenset({"updated_at", "version"})
# `custom` (the school's own fields) is one map attribute, conditioned whole; a clash is named
# per key (custom.<key>), so a write meaning to edit other keys is worked out again on the fresh
# lead (domain.lead_writes) and neither edit is lost


@dataclass
class Snapshot:
    """A lead as read (consistently), and its attributes exactly as stored."""

    lead: Lead
    stored: dict[str, Any]


class LeadChanged(Exception):
    """The lead changed meanwhile in fields this write was conditioned on: `fields` maps each
    to its value now (JSON-ready); `lead` is the lead now (None: it is gone)."""

    # the fields the write meant to edit: set only by domain.lead_writes.intending (read with getattr)
    intended: set[str]

    def __init__(self, fields: dict[str, Any], lead: Lead | None):
        super().__init__(f"changed meanwhile: {sorted(fields)}")
        self.fields = fields
        self.lead = lead


def read(tenant: str, lead_id: str) -> Snapshot | None:
    from chalicelib.db.leads.records import to_lead  # not the package: its writing imports this module

    try:
        item = LeadItem.get(keys.lead_pk(tenant, lead_id), keys.LEAD_SK, consistent_read=True)
    except LeadItem.DoesNotExist:
        return None
    stored = {name: getattr(item, name) for name in LeadItem.get_attributes() if getattr(item, name) is not None}
    return Snapshot(lead=to_lead(item), stored=stored)


def _attributes(tenant: str, lead: Lead) -> dict[str, Any]:
    from chalicelib.db.leads.records import lead_item

    item = lead_item(tenant, lead)
    out = {}
    for name, attr in LeadItem.get_attributes().items():
        value = getattr(item, name)
        if value is not None and name not in ("version", "PK", "SK"):
            out[name] = (value, attr.serialize(value))
    return out


def conditioned_fields(tenant: str, before: Snapshot, after: Lead) -> tuple[dict[str, Any], list[str], list[str]]:
    """(attributes to SET with their values, attributes to REMOVE, fields the write is
    conditioned on)."""
    old, new = _attributes(tenant, before.lead), _attributes(tenant, after)
    sets = {name: value for name, (value, raw) in new.items() if name not in old or old[name][1] != raw}
    removes = [name for name in old if name not in new]
    fields: set[str] = {"deleted_at"}  # a lead put in the recycle bin meanwhile takes no change
    for name in [*sets, *removes]:
        if name in INDEX_KEYS:
            fields.update(INDEX_INPUTS)
        elif name in DERIVED:
            fields.add(DERIVED[name])
        elif name not in UNCONDITIONED and not name.startswith("GSI") and name != "kind":
            fields.add(name)
    return sets, removes, sorted(fields)


def update_actions(tx: Any, tenant: str, before: Snapshot, after: Lead, counters: dict[str, int] | None) -> None:
    """Adds to `tx` the UpdateItem that turns `before` into `after` (labelled LABEL)."""
    sets, removes, fields = conditioned_fields(tenant, before, after)
    actions = [getattr(LeadItem, name).set(value) for name, value in sets.items()]
    actions += [getattr(LeadItem, name).remove() for name in removes]
    actions += [getattr(LeadItem, name).add(n) for name, n in (counters or {}).items()]
    actions.append(LeadItem.version.add(1))
    condition = LeadItem.PK.exists()
    for name in fields:
        attr = getattr(LeadItem, name)
        stored = before.stored.get(name)
        condition &= attr.does_not_exist() if stored is None else attr == stored
    tx.update(LeadItem(keys.lead_pk(tenant, after.id), keys.LEAD_SK), actions=actions, condition=condition, label=LABEL)


def changed_fields(tenant: str, before: Snapshot, after: Lead) -> LeadChanged:
    """Why the UpdateItem's condition failed: the conditioned fields whose stored value moved."""
    _, _, fields = conditioned_fields(tenant, before, after)
    now = read(tenant, before.lead.id)
    if now is None:
        return LeadChanged({"id": None}, None)
    current = now.lead.model_dump(mode="json")
    moved = {name: current.get(name) for name in fields if now.stored.get(name) != before.stored.get(name)}
    if "custom" in moved:  # the school's own fields conflict key by key: custom.<key>
        del moved["custom"]
        was, is_now = before.lead.custom, now.lead.custom
        for key in sorted(set(was) | set(is_now)):
            if was.get(key) != is_now.get(key) or (key in was) != (key in is_now):
                moved[f"custom.{key}"] = is_now.get(key)
    return LeadChanged(moved or {"version": None}, now.lead)
