"""Privacy (docs/privacy.md): everything the table holds about one lead, for its export; the
tombstones laid over the personal data of what names the lead outside its own item; the
retention job's reads (a school's DUE days) and its cursor; the back-fill's walk of a school's
leads (each campus's GSI3 partition and the recycle bin) that files a marker for each lead
without one, and the walk's state.

A lead's partition holds its follow-ups, plans, appointments, history, links, and references
(`MSGREF#`, `OUTREF#`: db/keys/privacy.py) to the message recipients and outbox entries that
were for it, so one Query of the partition (and one BatchGetItem per 100 things it names)
finds everything, whatever the size of the school.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.db import keys, transactions
from chalicelib.db import messaging as messaging_db
from chalicelib.db.base import BaseItem
from chalicelib.db.convert import values
from chalicelib.db.holidays import Position
from chalicelib.db.hydrate import raw_items
from chalicelib.db.items import (
    AppointmentItem,
    BookingItem,
    CardItem,
    ContractItem,
    FollowUpItem,
    JobCursorItem,
    LeadItem,
    LeadRefItem,
    MemberLinkItem,
    OutboxItem,
    PlanItem,
    RecipientItem,
    RetainItem,
    RetentionBackfillItem,
)
from chalicelib.db.paging import first_page

# what an export lists of each kind of item in the lead's partition (the rest are keys and markers)
SECTIONS = {
    "LeadHistory": "history",
    "FollowUp": "follow_ups",
    "Plan": "plans",
    "Appointment": "appointments",
    "LeadLink": "links",
    "MemberLink": "links",
    "EnrolmentLink": "links",
    "TrialMarker": "trials",
}


@dataclass
class Held:
    """Everything held about a lead: the items of its partition by section, and the items
    elsewhere that it names (message recipients, outbox entries, contracts, cards)."""

    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lead: dict[str, Any] | None = None

    def add(self, section: str, data: dict[str, Any]) -> None:
        self.sections.setdefault(section, []).append(data)


def _partition(tenant: str, lead_id: str) -> Iterable[BaseItem]:
    """Every item of the lead's partition, a page of 1 MB at a time (one lead: its life's items)."""
    return BaseItem.query(keys.lead_pk(tenant, lead_id))


def _referenced(wanted: list[tuple[str, str]], kind: type[BaseItem]) -> list[dict[str, Any]]:
    found = raw_items(wanted)
    return [values(kind.from_raw_data(found[k])) for k in wanted if k in found]


def everything(tenant: str, lead_id: str) -> Held:
    """What the table holds about the lead (its export): 1 Query of its partition, then one
    BatchGetItem per 100 of the recipients, outbox entries, contracts and cards it names."""
    held = Held()
    recipients: list[tuple[str, str]] = []
    outbox: list[tuple[str, str]] = []
    contracts: list[tuple[str, str]] = []
    cards: list[tuple[str, str]] = []
    for item in _partition(tenant, lead_id):
        kind = type(item).__name__.removesuffix("Item")
        if item.SK == keys.LEAD_SK:
            held.lead = values(item)
        elif isinstance(item, LeadRefItem):
            (recipients if item.SK.startswith(keys.MESSAGE_REF_PREFIX) else outbox).append((item.ref_pk, item.ref_sk))
        elif kind in SECTIONS:
            data = values(item)
            held.add(SECTIONS[kind], {"key": item.SK, **data} if SECTIONS[kind] == "links" else data)
            if isinstance(item, MemberLinkItem):
                if item.SK.startswith(keys.CONTRACT_LINK_PREFIX):
                    contracts.append((keys.contract_pk(tenant, item.other_id), keys.CONTRACT_SK))
                else:
                    cards.append((keys.card_pk(tenant, item.other_id), keys.CARD_SK))
    for section, wanted, kind_cls in (
        ("messages", recipients, RecipientItem),
        ("outbox", outbox, OutboxItem),
        ("contracts", contracts, ContractItem),
        ("cards", cards, CardItem),
    ):
        for data in _referenced(wanted, kind_cls):
            held.add(section, data)
    return held


# --- tombstones ------------------------------------------------------------------------


def _overwrite(item: BaseItem, actions: list[Any], condition: Any = None) -> bool:
    """One UpdateItem on an item that exists (one gone meanwhile is left alone)."""
    exists = type(item).PK.exists()
    try:
        item.update(actions=actions, condition=exists if condition is None else exists & condition)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def tombstone_dependents(tenant: str, lead_id: str, mark: str) -> dict[str, int]:
    """Lays `mark` over the personal data of everything that names the lead outside its own
    item: follow-up texts, plans, appointments and their bookings, the messages its guardians
    were sent (a recipient still waiting is skipped, reason `erased`, and counted so on its
    message) and the outbox. Each write is idempotent: running it again writes the same."""
    counts = {"follow_ups": 0, "plans": 0, "appointments": 0, "messages": 0, "outbox": 0}
    for item in _partition(tenant, lead_id):
        if isinstance(item, FollowUpItem):
            counts["follow_ups"] += _overwrite(item, [FollowUpItem.content.set(mark), FollowUpItem.lead_name.set(mark)])
        elif isinstance(item, PlanItem):
            counts["plans"] += _overwrite(item, [PlanItem.purpose.set(mark), PlanItem.lead_name.set(mark)])
        elif isinstance(item, AppointmentItem):
            counts["appointments"] += _overwrite(
                item, [AppointmentItem.lead_name.set(mark), AppointmentItem.note.remove()]
            )
            where = (
                keys.session_pk(tenant, item.session_id)
                if item.session_id
                else keys.event_pk(tenant, item.event_id)
                if item.event_id
                else None
            )
            if where:
                _overwrite(BookingItem(where, keys.booking_sk(lead_id)), [BookingItem.lead_name.set(mark)])
        elif isinstance(item, LeadRefItem) and item.SK.startswith(keys.MESSAGE_REF_PREFIX):
            counts["messages"] += _recipient(tenant, item, mark)
        elif isinstance(item, LeadRefItem):
            outbox = OutboxItem(item.ref_pk, item.ref_sk)
            erased = [OutboxItem.to.set(mark), OutboxItem.body.set(mark), OutboxItem.subject.remove()]
            counts["outbox"] += _overwrite(outbox, [*erased, OutboxItem.html.remove()])
    return counts


def _recipient(tenant: str, ref: LeadRefItem, mark: str) -> bool:
    message_id = ref.ref_pk.rsplit("#", 1)[1]
    n = int(ref.ref_sk.removeprefix(keys.RECIPIENT_PREFIX))
    fields = {"name": mark, "to": mark, "text": mark, "subject": None}
    # one still waiting is taken out of the queue (its message counts it skipped: erased)
    if messaging_db.settle(
        tenant,
        message_id,
        n,
        status="skipped",
        lease_until=None,
        fields={**fields, "reason": "erased"},
        count="skipped",
    ):
        messaging_db.add_skip_reason(tenant, message_id, "erased")
        return True
    item = RecipientItem(ref.ref_pk, ref.ref_sk)
    actions = [
        RecipientItem.name.set(mark),
        RecipientItem.to.set(mark),
        RecipientItem.text.set(mark),
        RecipientItem.subject.remove(),
    ]
    if _overwrite(item, actions, RecipientItem.status != "queued"):
        return True
    try:
        still = RecipientItem.get(ref.ref_pk, ref.ref_sk, consistent_read=True)
    except RecipientItem.DoesNotExist:
        return False
    if still.status == "queued":  # its skip was refused (the table busy): never leave it queued as a tombstone
        raise transactions.TransactionBusy()
    return _overwrite(item, actions, RecipientItem.status != "queued")  # sent meanwhile


# --- retention -------------------------------------------------------------------------


def retention_due(tenant: str, day: str) -> list[str]:
    """Ids of the school's leads whose marker says they were last touched on `day` (UTC): one
    Query of the DUE index, keys only."""
    return [item.PK.rsplit("#", 1)[1] for item in BaseItem.due.query(keys.retain_bucket(tenant, day))]


def refile(tenant: str, lead_id: str, touched: Any) -> None:
    """Moves a lead touched since its marker was written to the day it was last touched."""
    from chalicelib.db.leads import retain_marker

    retain_marker(tenant, lead_id, touched).save()


def drop_marker(tenant: str, lead_id: str) -> None:
    RetainItem(keys.lead_pk(tenant, lead_id), keys.RETAIN_SK).delete()


def retention_cursor(tenant: str) -> str | None:
    """The last UTC day whose retention bucket the job has finished, for this school."""
    try:
        return JobCursorItem.get(keys.tenant_pk(tenant), keys.RETENTION_CURSOR_SK, consistent_read=True).bucket
    except JobCursorItem.DoesNotExist:
        return None


def advance_retention_cursor(tenant: str, day: str) -> None:
    """Moves the school's cursor forward (never back: an older, slower run cannot rewind it)."""
    item = JobCursorItem(keys.tenant_pk(tenant), keys.RETENTION_CURSOR_SK)
    try:
        item.update(
            actions=[JobCursorItem.bucket.set(day), JobCursorItem.kind.set(JobCursorItem)],
            condition=JobCursorItem.bucket.does_not_exist() | (JobCursorItem.bucket < day),
        )
    except UpdateError as exc:
        if not transactions.condition_failed(exc):
            raise


# --- the retention's back-fill ---------------------------------------------------------


@dataclass(frozen=True)
class Backfill:
    """A school's back-fill as kept: its generation, how far it has read, whether it is done."""

    generation: str
    position: Position | None
    done: bool
    read: int
    filed: int


def _backfill_item(tenant: str) -> RetentionBackfillItem:
    return RetentionBackfillItem(keys.tenant_pk(tenant), keys.RETENTION_BACKFILL_SK)


def backfill(tenant: str) -> Backfill | None:
    """The school's back-fill (consistent: a run must see the last run's place); None: none
    started since the setting was last turned on or off."""
    try:
        item = RetentionBackfillItem.get(keys.tenant_pk(tenant), keys.RETENTION_BACKFILL_SK, consistent_read=True)
    except RetentionBackfillItem.DoesNotExist:
        return None
    position = Position.load(item.cursor)
    return Backfill(item.generation, position, bool(item.done), int(item.read or 0), int(item.filed or 0))


def start_backfill(tenant: str, generation: str, now: str) -> bool:
    """A new back-fill from the start, unless another run started one meanwhile (False)."""
    item = _backfill_item(tenant)
    item.generation, item.started_at = generation, now
    try:
        item.save(condition=RetentionBackfillItem.PK.does_not_exist())
    except PutError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def advance_backfill(tenant: str, generation: str, position: Position, *, read: int, filed: int, done: bool) -> bool:
    """Keeps the walk's place after a page (and its counts); False when the walk is no longer
    this generation's (the setting was turned off or on meanwhile: write nothing more)."""
    actions: list[Any] = [
        RetentionBackfillItem.cursor.set(position.dump()),
        RetentionBackfillItem.read.add(read),
        RetentionBackfillItem.filed.add(filed),
    ]
    if done:
        actions.append(RetentionBackfillItem.done.set(True))
    try:
        _backfill_item(tenant).update(actions=actions, condition=RetentionBackfillItem.generation == generation)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def reset_backfill(tenant: str) -> None:
    """Forgets the school's back-fill (the setting turned on or off): the job starts a new one
    the next time it runs with the setting on."""
    _backfill_item(tenant).delete()


def backfill_partitions(tenant: str, campus_ids: Iterable[str]) -> list[str]:
    """What the back-fill walks, in order: the recycle bin (GSI1) and each campus's leads
    (GSI3: every live lead, owned or in the pool)."""
    return sorted([keys.recycle_bin(tenant), *(keys.campus_scope(tenant, c) for c in campus_ids)])


@dataclass(frozen=True)
class Unmarked:
    """A lead without a retention marker, and when it was last written (its `updated_at`)."""

    lead_id: str
    touched: str


def unmarked_page(
    tenant: str, partition: str, *, limit: int, last_key: dict[str, Any] | None
) -> tuple[list[Unmarked], int, dict[str, Any] | None]:
    """One page of a back-fill partition (one Query, `Limit` leads, keys only), then one
    BatchGetItem per 50 leads of the leads and their markers: the leads of the page that are
    not erased and have no marker, how many leads the page held, and the key to go on from
    (None: the partition's end)."""
    index = LeadItem.gsi1 if partition == keys.recycle_bin(tenant) else LeadItem.gsi3
    found, last = first_page(index.query(partition, limit=limit, last_evaluated_key=last_key), LeadItem, whole=False)
    pks = [lead.PK for lead in found]
    held = raw_items([(pk, sk) for pk in pks for sk in (keys.LEAD_SK, keys.RETAIN_SK)])
    out: list[Unmarked] = []
    for pk in pks:
        lead = held.get((pk, keys.LEAD_SK))
        if lead is None or "erased_at" in lead or (pk, keys.RETAIN_SK) in held:
            continue  # gone, erased (nothing to keep), or filed already (by a write: newer)
        touched = (lead.get("updated_at") or lead.get("created_at") or {}).get("S")
        if touched:
            out.append(Unmarked(pk.rsplit("#", 1)[1], touched))
    return out, len(found), last


def file_marker(tenant: str, lead_id: str, day: str) -> bool:
    """Files a lead under `day` for the retention job unless it has a marker (a write since
    the page was read made a newer one): False then. 1 PutItem + its DUE copy."""
    pk = keys.lead_pk(tenant, lead_id)
    marker = RetainItem(pk, keys.RETAIN_SK, touched_on=day)
    marker.DUEPK, marker.DUESK = keys.retain_due(tenant, day, pk)
    try:
        marker.save(condition=RetainItem.PK.does_not_exist())
    except PutError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True
