"""Bounded, merged pagination over one or more partitions of an index.

A list scope can span several partitions (a supervisor's team is one partition per
consultant; an admin's view is one per campus). Each page reads at most one DynamoDB
page of `limit` items from each partition, merges them in sort order, and emits only
items that no unread part of any partition could precede. The cursor keeps each
partition's position, so every item is returned exactly once across pages, even while
items are being added. Filters trim a page (it may hold fewer than `limit` items and
still carry a cursor); they never make a page read more.

The indexes hold keys and filter attributes only: a page read from one is completed from
the table with one BatchGetItem of the items it emits (db/hydrate.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import Index

from chalicelib.db import cursor as cursors
from chalicelib.db import hydrate, keys
from chalicelib.db.base import BaseItem
from chalicelib.db.convert import values

_DONE = "done"

_Entity = TypeVar("_Entity", bound=BaseModel)
_Item = TypeVar("_Item", bound=BaseItem)


@dataclass
class Page(Generic[_Item]):
    items: list[_Item]
    cursor: str | None


def first_page(result: Any, model: type[_Item], *, whole: bool = True) -> tuple[list[_Item], dict[str, Any] | None]:
    """One DynamoDB page of a pynamodb query (pynamodb's own iteration would keep paging until
    `limit` items passed the filter: unbounded work) and its LastEvaluatedKey. Read from an
    index, the items are completed from the table (`whole=False`: as the index holds them)."""
    raw = next(result.page_iter, None) or {}
    items = [model.from_raw_data(i) for i in raw.get("Items", [])]
    index = hydrate.index_of(result)
    if whole and index:
        items = hydrate.full(items, index)
    return items, raw.get("LastEvaluatedKey")


def page_values(result: Any, model: type[BaseItem], scope: str) -> tuple[list[dict[str, Any]], str | None]:
    """One DynamoDB page of a single-partition query, as plain values, and the cursor on."""
    items, last = first_page(result, model)
    return [values(i) for i in items], cursors.encode(last, scope)


def status_page(
    model: type[_Item],
    partition: str,
    range_condition: Condition,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
    scope: str,
    index: Index[_Item] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of one partition (of the table, or of `index`) within `range_condition`,
    only the items of `status` when one is given, as plain values, and the cursor on."""
    result = (index or model).query(
        partition,
        range_condition,
        filter_condition=(model.get_attributes()["status"] == status) if status else None,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    return page_values(result, model, scope)


def _key_of(item: BaseItem, index: str) -> dict[str, Any]:
    hk, rk = f"{index}PK", f"{index}SK"
    return {
        "PK": {"S": item.PK},
        "SK": {"S": item.SK},
        hk: {"S": getattr(item, hk)},
        rk: {"S": getattr(item, rk)},
    }  # for the table itself (index ""), hk and rk are PK and SK


def query_partitions(
    model: type[_Item],
    index: str,
    partitions: list[str],
    *,
    scope: str,
    limit: int,
    cursor: str | None,
    ascending: bool,
    range_condition: Condition | None = None,
    filter_condition: Condition | None = None,
) -> Page[_Item]:
    state: dict[str, Any] = cursors.decode(cursor, scope) or {}
    index_obj = getattr(model, index.lower()) if index else model  # "": the table's own partitions
    sort_attr = f"{index}SK"
    fetched: dict[str, tuple[list[_Item], dict[str, Any] | None]] = {}
    for part in dict.fromkeys(partitions):
        start = state.get(part)
        if start == _DONE:
            continue
        result = index_obj.query(
            part,
            range_key_condition=range_condition,
            filter_condition=filter_condition,
            scan_index_forward=ascending,
            limit=limit,
            last_evaluated_key=start,
        )
        fetched[part] = first_page(result, model, whole=False)  # only what the page emits is completed

    # The furthest point every partition has been read to: nothing beyond it is safe to emit yet.
    frontiers: list[str] = [lek[sort_attr]["S"] for _, lek in fetched.values() if lek]
    bound = (min(frontiers) if ascending else max(frontiers)) if frontiers else None

    def within(item: _Item) -> bool:
        if bound is None:
            return True
        value: str = getattr(item, sort_attr)
        return value <= bound if ascending else value >= bound

    candidates = [(getattr(i, sort_attr), part, i) for part, (items, _) in fetched.items() for i in items if within(i)]
    candidates.sort(key=lambda c: c[0], reverse=not ascending)
    taken = candidates[:limit]

    new_state = {p: v for p, v in state.items() if v == _DONE and p in partitions}
    for part, (items, lek) in fetched.items():
        mine = [i for _, p, i in taken if p == part]
        if len(mine) == len(items):  # everything read from this partition was emitted
            new_state[part] = lek if lek else _DONE
        elif mine:
            new_state[part] = _key_of(mine[-1], index)
        elif part in state:
            new_state[part] = state[part]
    more = any(v != _DONE for v in new_state.values()) or any(p not in new_state for p in partitions)
    emitted = [i for _, _, i in taken]
    if index:
        emitted = hydrate.full(emitted, index)
    return Page(items=emitted, cursor=cursors.encode(new_state, scope) if more else None)


def single(result: Any, scope: str, entity: type[_Entity]) -> tuple[list[_Entity], str | None]:
    """One page of a one-partition Query (`limit` already applied) as entities and a cursor."""
    found = list(result)
    index = hydrate.index_of(result)
    items = [entity.model_validate(values(i)) for i in (hydrate.full(found, index) if index else found)]
    return items, cursors.encode(result.last_evaluated_key, scope)


@dataclass(frozen=True)
class Scope:
    """Whose items a list reads, as the domain says it: some users' own partitions, the
    public pools of some campuses, or whole campuses. db turns it into partition keys."""

    users: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()
    campuses: tuple[str, ...] = ()

    @property
    def by_campus(self) -> bool:
        return bool(self.campuses)

    @property
    def empty(self) -> bool:
        return not (self.users or self.pools or self.campuses)

    def partitions(
        self,
        user_key: Callable[[str], str],
        campus_key: Callable[[str], str],
        pool_key: Callable[[str], str] | None = None,
    ) -> list[str]:
        """The partition keys of this scope, each built by the family's key function."""
        if self.by_campus:
            return [campus_key(c) for c in self.campuses]
        pools = [pool_key(c) for c in self.pools] if pool_key else []
        return [user_key(u) for u in self.users] + pools


def scoped_page(
    model: type[_Item],
    index: str,
    partitions: list[str],
    *,
    scope: str,
    limit: int,
    cursor: str | None,
    ascending: bool,
    between: tuple[str | None, str | None] | None,
    filters: dict[str, Any],
    clause: Callable[[str, Any], Condition] | None = None,
) -> Page[_Item]:
    """One page of a list over a scope's partitions of `index` (see query_partitions): the
    index's sort key within `between` = (from, to) (an end None: open; None: no range
    condition), and the filters given (not None) ANDed, each built by `clause(name, value)`
    (default: the attribute of that name equals the value)."""
    range_condition = None
    if between is not None:
        range_from, range_to = between
        sort_attr = getattr(model, f"{index}SK")
        range_condition = sort_attr.between(range_from or "0", (range_to or keys.NO_DATE) + "~")
    condition = None
    for name, value in filters.items():
        if value is None:
            continue
        part = clause(name, value) if clause is not None else getattr(model, name) == value
        condition = part if condition is None else condition & part
    return query_partitions(
        model,
        index,
        partitions,
        scope=scope,
        limit=limit,
        cursor=cursor,
        ascending=ascending,
        range_condition=range_condition,
        filter_condition=condition,
    )
