"""Holiday greetings' walks (docs/messaging.md): a holiday's audience read page by page from
the indexes that already list it, and the walk's resumable state.

- members: GSI1 `T#<t>#MEMBERS` (sparse: a contract link per learner and contract, sorted by
  learner, so a learner with two contracts comes twice, side by side);
- contactable: GSI3 `T#<t>#CAMPUS#<campus>` of each campus (every live lead), with the
  lead's status from the index's projection, so a lead whose status forbids marketing is
  left out before its item is read.

Each page is one Query with `Limit`; its LastEvaluatedKey is kept in the walk's item
(`T#<t>` / `HOLIDAYRUN#<day>#<holiday>`) with the lease of the run reading it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.db import keys, transactions
from chalicelib.db.items import HolidayRunItem, LeadItem, MemberLinkItem
from chalicelib.db.paging import first_page

RUN_TTL = timedelta(days=31)


@dataclass(frozen=True)
class Entry:
    """One entry of an audience page: a lead, and its status when the index holds it."""

    lead_id: str
    status: str | None = None


@dataclass(frozen=True)
class Position:
    """How far a walk has read: the partition it is in and DynamoDB's key to go on from
    (None: the partition's start). `partition` None: the audience is read to its end."""

    partition: str | None
    last_key: dict[str, Any] | None = None

    def dump(self) -> str:
        return json.dumps({"p": self.partition, "k": self.last_key}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, text: str | None) -> Position | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(data.get("p"), data.get("k"))

    def start_in(self, partitions: list[str]) -> tuple[int, dict[str, Any] | None]:
        """Where a walk of `partitions` (sorted) goes on: the partition it stopped in (from its
        key), or the next one in order when that one is gone since (a campus no longer listed)."""
        if self.partition is None:
            return len(partitions), None
        for i, partition in enumerate(partitions):
            if partition == self.partition:
                return i, self.last_key
            if partition > self.partition:
                return i, None
        return len(partitions), None


# --- the audience --------------------------------------------------------------------


def members_partition(tenant: str) -> str:
    return keys.members_of(tenant)


def campus_partition(tenant: str, campus_id: str) -> str:
    return keys.campus_scope(tenant, campus_id)


def audience_page(
    partition: str, *, members: bool, limit: int, last_key: dict[str, Any] | None
) -> tuple[list[Entry], dict[str, Any] | None]:
    """One page (one Query, `Limit` entries) of a members or a campus partition, and the key
    to go on from (None: the partition's end). Index entries only: no item is read here."""
    if members:
        result = MemberLinkItem.gsi1.query(partition, limit=limit, last_evaluated_key=last_key)
        links, last = first_page(result, MemberLinkItem, whole=False)
        return [Entry(str(link.GSI1SK).split("#", 1)[0]) for link in links], last
    found = LeadItem.gsi3.query(partition, limit=limit, last_evaluated_key=last_key)
    leads, last = first_page(found, LeadItem, whole=False)
    return [Entry(lead.PK.rsplit("#", 1)[-1], lead.status) for lead in leads], last


# --- the walk's state ----------------------------------------------------------------


@dataclass(frozen=True)
class Walk:
    position: Position | None
    done: bool
    lease_until: str | None
    counts: dict[str, int]


def _item(tenant: str, run_id: str) -> HolidayRunItem:
    return HolidayRunItem(keys.tenant_pk(tenant), keys.holiday_run_sk(run_id))


def get(tenant: str, run_id: str) -> Walk | None:
    """The walk as it is (consistent: a run must see the last run's cursor)."""
    try:
        item = HolidayRunItem.get(keys.tenant_pk(tenant), keys.holiday_run_sk(run_id), consistent_read=True)
    except HolidayRunItem.DoesNotExist:
        return None
    counts = {"read": int(item.read or 0), "made": int(item.made or 0), "skipped": int(item.skipped or 0)}
    return Walk(Position.load(item.cursor), bool(item.done), item.lease_until, counts)


def _update(item: HolidayRunItem, actions: list[Any], condition: Any) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def take(tenant: str, run_id: str, *, now: str, lease_until: str, owner: str, day_ends: datetime) -> bool:
    """The walk for this run: new, or not done and its last run's lease passed (or given back)."""
    item = _item(tenant, run_id)
    free = HolidayRunItem.PK.does_not_exist() | (
        (HolidayRunItem.done == False) & (HolidayRunItem.lease_until <= now)  # noqa: E712 - a condition, not a test
    )
    actions = [
        HolidayRunItem.lease_until.set(lease_until),
        HolidayRunItem.lease_owner.set(owner),
        HolidayRunItem.done.set(HolidayRunItem.done | False),
        HolidayRunItem.kind.set(HolidayRunItem),
        HolidayRunItem.expires_at.set(int((day_ends.astimezone(UTC) + RUN_TTL).timestamp())),
    ]
    return _update(item, actions, free)


def advance(tenant: str, run_id: str, owner: str, position: Position, counts: dict[str, int], *, done: bool) -> bool:
    """Keeps how far this run has read (and its counts) if it still holds the walk; `done`
    closes the walk and gives the lease back. False: another run took it (write nothing more)."""
    item = _item(tenant, run_id)
    actions: list[Any] = [HolidayRunItem.cursor.set(position.dump())]
    actions += [getattr(HolidayRunItem, name).add(n) for name, n in counts.items() if n]
    if done:
        actions += [HolidayRunItem.done.set(True), HolidayRunItem.lease_owner.remove()]
    return _update(item, actions, HolidayRunItem.lease_owner == owner)


def release(tenant: str, run_id: str, owner: str, now: str) -> bool:
    """Gives the walk back before it is done (this run's share is read): the next run goes on at once."""
    return _update(
        _item(tenant, run_id),
        [HolidayRunItem.lease_until.set(now), HolidayRunItem.lease_owner.remove()],
        HolidayRunItem.lease_owner == owner,
    )
