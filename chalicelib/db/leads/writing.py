"""Writing a lead: one transaction with everything that must change with it (phone claims,
sibling links, the owner counter, history, the birthday marker)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.db import config as config_db
from chalicelib.db import keys, lead_fields, transactions
from chalicelib.db.items import BirthdayItem, LeadItem, LeadLinkItem, PhoneItem, RetainItem, UserItem
from chalicelib.db.leads.records import (
    DuplicatePhoneError,
    OwnerCapError,
    OwnerChange,
    PhoneClaim,
    _history,
    lead_item,
    retain_marker,
    with_origin,
)
from chalicelib.errors import ConflictError
from chalicelib.schemas.leads import HistoryEntry, Lead


def _owner_actions(tx: Any, tenant: str, change: OwnerChange | None) -> None:
    """Adds the owner counter updates to `tx` (labelled "owner")."""
    if change is None or change.old_owner == change.new_owner:
        return
    if change.new_owner:
        user = UserItem(keys.users_pk(tenant), keys.user_sk(change.new_owner))
        tx.update(
            user,
            actions=[UserItem.owned_leads.add(change.count)],
            condition=UserItem.PK.exists()
            & (UserItem.owned_leads.does_not_exist() | (UserItem.owned_leads <= change.cap - change.count)),
            label="owner",
        )
    if change.old_owner:
        user = UserItem(keys.users_pk(tenant), keys.user_sk(change.old_owner))
        tx.update(
            user, actions=[UserItem.owned_leads.add(-change.count)], condition=UserItem.PK.exists(), label="owner"
        )


def create(
    tenant: str,
    lead: Lead,
    history: HistoryEntry,
    *,
    new_phones: list[str],
    family_phones: list[str],
    siblings: list[str],
    owner: OwnerChange | None,
    used: dict[str, set[str]] | None = None,
) -> None:
    """Writes a new lead, claims its new phones, joins family phones, links siblings and the
    referrer, and counts it against the owner's cap, all in one transaction. The history entry
    that made it is kept on the lead (`with_origin`), not as an item of its own."""
    _write(
        tenant,
        with_origin(lead, history),
        None,
        [],
        new_phones=new_phones,
        family_phones=family_phones,
        siblings=siblings,
        owner=owner,
        used=used,
        referrer=lead.referrer_lead_id,
    )


def _write(
    tenant: str, lead: Lead, expected_version: int | None, history: list[tuple[HistoryEntry, str]], **changes: Any
) -> None:
    """One transaction: the lead (new, or conditional on its version) and everything that
    must change with it (see `lead_actions`). A failed condition is explained as the right
    domain error."""
    try:
        with transactions.write() as tx:
            lead_actions(tx, tenant, lead, expected_version, history, **changes)
    except transactions.TransactionConflict as exc:
        _explain(exc)
    _file_for_retention(tenant, lead, None)


def lead_actions(
    tx: Any,
    tenant: str,
    lead: Lead,
    expected_version: int | None,
    history: list[tuple[HistoryEntry, str]],
    *,
    new_phones: Sequence[str] = (),
    claimants: dict[str, list[str]] | None = None,
    family_phones: Sequence[str] = (),
    released_phones: Sequence[PhoneClaim] = (),
    refamilied_phones: Sequence[PhoneClaim] = (),
    siblings: Sequence[str] = (),
    owner: OwnerChange | None = None,
    used: dict[str, set[str]] | None = None,
    referrer: str | None = None,
    also: Callable[[Any], None] | None = None,
    birthday: bool = False,
    before: lead_fields.Snapshot | None = None,
    counters: dict[str, int] | None = None,
) -> None:
    """Adds to `tx` the lead (new, or conditional on its version) and everything that must
    change with it: phone claims (a new one names its `claimants[phone]`, default the lead alone), sibling
    links, the owner counter, dictionary use, history, the birthday marker; `also(tx)` adds
    more operations (a follow-up, a plan), labelled "conflict:<CODE>:<message>" where a
    failed condition needs its own error. With `before` (the lead as read), only the fields
    that differ are written, conditioned on their own stored values, and `counters` are
    ADDed (see db.lead_fields); else the whole item, conditioned on its version."""
    if before is not None:
        lead_fields.update_actions(tx, tenant, before, lead, counters)
    else:
        item = lead_item(tenant, lead)
        condition: Condition
        if expected_version is None:
            condition = LeadItem.PK.does_not_exist()
        else:
            item.version = expected_version + 1
            condition = LeadItem.version == expected_version
        tx.save(item, condition=condition, label="lead")
    for phone in new_phones:
        claim = PhoneItem(
            keys.phone_pk(tenant, phone),
            keys.UNIQUE_SK,
            family_id=lead.family_id,
            lead_ids=(claimants or {}).get(phone) or [lead.id],
        )
        tx.save(claim, condition=PhoneItem.PK.does_not_exist(), label=f"phone:{phone}")
    for phone in family_phones:
        claim = PhoneItem(keys.phone_pk(tenant, phone), keys.UNIQUE_SK)
        tx.update(
            claim,
            actions=[PhoneItem.lead_ids.set(PhoneItem.lead_ids.append([lead.id]))],
            condition=PhoneItem.family_id == lead.family_id,
            label=f"phone:{phone}",
        )
    for released in released_phones:
        claim = PhoneItem(keys.phone_pk(tenant, released.e164), keys.UNIQUE_SK)
        remaining = [i for i in released.lead_ids if i != lead.id]
        if remaining:
            tx.update(
                claim,
                actions=[PhoneItem.lead_ids.set(remaining)],
                condition=PhoneItem.lead_ids == released.lead_ids,
                label="release",
            )
        else:
            tx.delete(claim, condition=PhoneItem.lead_ids == released.lead_ids, label="release")
    for moved in refamilied_phones:  # the lead's own numbers follow it into its new family
        claim = PhoneItem(keys.phone_pk(tenant, moved.e164), keys.UNIQUE_SK)
        tx.update(
            claim,
            actions=[PhoneItem.family_id.set(lead.family_id)],
            condition=PhoneItem.lead_ids == moved.lead_ids,
            label="release",
        )
    for sibling in siblings:
        tx.save(LeadLinkItem(keys.lead_pk(tenant, lead.id), keys.sibling_sk(sibling), other_id=sibling))
        tx.save(LeadLinkItem(keys.lead_pk(tenant, sibling), keys.sibling_sk(lead.id), other_id=lead.id))
    if referrer:
        tx.save(LeadLinkItem(keys.lead_pk(tenant, referrer), keys.referral_sk(lead.id), other_id=lead.id))
    for entry, entry_id in history:
        tx.save(_history(tenant, lead.id, entry, entry_id))
    _owner_actions(tx, tenant, owner)
    for kind, values_used in (used or {}).items():
        config_db.mark_used(tx, tenant, kind, values_used)
    created = expected_version is None and before is None
    if birthday or (created and lead.birthday):  # a new lead without one has no marker to clear
        _birthday_marker(tx, tenant, lead)
    if lead.erased_at is not None:  # an erased lead leaves the retention job's days with it
        tx.delete(RetainItem(keys.lead_pk(tenant, lead.id), keys.RETAIN_SK), label="retain")
    if also is not None:
        also(tx)


def _file_for_retention(tenant: str, lead: Lead, before: lead_fields.Snapshot | None) -> None:
    """After a committed write: files the lead under the day it was touched for the retention
    job (docs/privacy.md), with its first write of a month only (a field-level write in the
    month of the lead it read leaves the marker: a lower bound, the job re-files a lead touched
    since). A plain Put after the transaction, not in it: 1 unit and its DUE copy, where the
    transaction would charge 2; a run that stops in between leaves the old marker (earlier:
    the job re-files) or, for a new lead, none until its first write of another month."""
    if lead.erased_at is not None or not config_db.retention_on(tenant, lead.updated_at.timestamp()):
        return  # erased; or the school keeps leads: no marker, no unit
    if before is not None and before.lead.updated_at.strftime("%Y-%m") == lead.updated_at.strftime("%Y-%m"):
        return
    retain_marker(tenant, lead.id, lead.updated_at).save()


def _birthday_marker(tx: Any, tenant: str, lead: Lead) -> None:
    """A live lead with a birthday is filed under its MM-DD on the DUE index (a marker item
    in its partition, so the lead's own DUE slot stays free for its protection period)."""
    marker = BirthdayItem(keys.lead_pk(tenant, lead.id), keys.BIRTHDAY_SK)
    if lead.birthday is None or lead.deleted_at is not None:
        tx.delete(marker, label="birthday")
        return
    marker.month_day = lead.birthday.strftime("%m-%d")
    marker.DUEPK, marker.DUESK = keys.birthday_due(marker.month_day, keys.lead_pk(tenant, lead.id))
    tx.save(marker, label="birthday")


def _explain(exc: transactions.TransactionConflict) -> None:
    for what in exc.failed:
        if what.startswith("phone:"):
            raise DuplicatePhoneError(what.split(":", 1)[1]) from exc
        if what == "owner":
            raise OwnerCapError() from exc
        if what.startswith("conflict:"):
            _, code, message = what.split(":", 2)
            raise ConflictError(message, code=code) from exc
    raise ConflictError(
        "The lead changed while you were editing it; reload and try again.", code="EDIT_CONFLICT"
    ) from exc


def save(
    tenant: str,
    lead: Lead,
    expected_version: int,
    history: Sequence[tuple[HistoryEntry, str]] = (),
    **changes: Any,
) -> None:
    """Replaces the lead if nobody changed it since `expected_version` (optimistic lock),
    with its phone claims, sibling links, owner counters and history, in one transaction."""
    _write(tenant, lead, expected_version, list(history), **changes)


def save_fields(
    tenant: str,
    before: lead_fields.Snapshot,
    lead: Lead,
    history: Sequence[tuple[HistoryEntry, str]] = (),
    **changes: Any,
) -> None:
    """Writes only what differs from `before` (see db.lead_fields), with everything that must
    change with it, in one transaction. Raises lead_fields.LeadChanged when a field it is
    conditioned on moved meanwhile; the other failures as `save`."""
    try:
        with transactions.write() as tx:
            lead_actions(tx, tenant, lead, 0, list(history), before=before, **changes)
    except transactions.TransactionConflict as exc:
        if lead_fields.LABEL in exc.failed:
            raise lead_fields.changed_fields(tenant, before, lead) from exc
        _explain(exc)
    _file_for_retention(tenant, lead, before)


def add_history(tenant: str, lead_id: str, entry: HistoryEntry, entry_id: str) -> None:
    _history(tenant, lead_id, entry, entry_id).save()


@dataclass
class NewLead:
    """A lead to create together with others (an import): the history entry that made it
    (kept on the lead: records.with_origin), the phone claims it makes (naming every lead of
    its family that shares the number) and its links to siblings created before it."""

    lead: Lead
    entry: HistoryEntry
    new_phones: list[str]
    claimants: dict[str, list[str]]
    siblings: list[str]
