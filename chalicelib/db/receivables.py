"""Receivables (应收): their items, written inside the transactions of the contract, payment or
enrolment that makes or changes them; the lists by due date; the reminders' DUE filing.

A receivable's list keys follow its status: open (unpaid, in whole or in part) in the
`open` partitions of the school (GSI1), its consultant (GSI2) and its campus (GSI3); paid in
the `paid` ones; cancelled in none. The sort key is `<due_on>#<id>#<outstanding fen>`, so a
list is ordered by due date, "due" and "overdue" are ranges of the open partition either
side of today, and the ageing report needs nothing but the index (`outstanding`). The DUE
index holds a receivable only while a reminder is still to come, under the school-local day
it is for (`reminders` reads the buckets of the days around now).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NotRequired, TypedDict, cast

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import due as due_db
from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import ReceivableItem
from chalicelib.db.paging import query_partitions


class ReceivableRecord(TypedDict):
    """A ReceivableItem's values. Money in fen; dates are school dates."""

    id: str
    source: str  # contract | enrolment
    source_id: str
    n: int
    of: int
    title: str
    lead_ids: list[str]
    lead_names: list[str]
    campus_id: str
    consultant_id: str
    consultant_name: str
    due_on: str
    amount: int
    paid: int
    paid_on: NotRequired[str | None]
    status: str  # open | paid | cancelled
    payer_name: NotRequired[str | None]
    payer_phone: NotRequired[str | None]
    payer_relation: NotRequired[str | None]
    created_at: str


def _record(item: ReceivableItem) -> ReceivableRecord:
    return cast(ReceivableRecord, values(item))


def key_of(tenant: str, data: ReceivableRecord) -> tuple[str, str]:
    """(PK, SK): in the contract's partition, or the cohort's (enrolment ids are `<cohort>-<lead>`)."""
    if data["source"] == "contract":
        return keys.contract_pk(tenant, data["source_id"]), keys.contract_receivable_sk(int(data["n"]))
    cohort_id, _, lead_id = data["source_id"].partition("-")
    return keys.cohort_pk(tenant, cohort_id), keys.enrolment_receivable_sk(lead_id, int(data["n"]))


def _list_keys(tenant: str, data: ReceivableRecord) -> dict[str, str | None]:
    status = data["status"]
    if status not in keys.RECEIVABLE_STATES:  # cancelled: in no list
        return dict.fromkeys(("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"))
    sort = keys.receivable_sort(data["due_on"], data["id"], int(data["amount"]) - int(data["paid"]))
    return {
        "GSI1PK": keys.receivables_of(tenant, status),
        "GSI1SK": sort,
        "GSI2PK": keys.receivables_by(tenant, data["consultant_id"], status),
        "GSI2SK": sort,
        "GSI3PK": keys.receivables_in(tenant, data["campus_id"], status),
        "GSI3SK": sort,
    }


def put(tx: transactions.Transaction, tenant: str, data: ReceivableRecord, remind_on: str | None) -> None:
    """A receivable as it is now (made, or made again by a new confirmation), filed for its
    next reminder on `remind_on` (a school date) while open."""
    pk, sk = key_of(tenant, data)
    item = ReceivableItem(pk, sk, **data)
    for name, value in _list_keys(tenant, data).items():
        setattr(item, name, value)
    if remind_on and data["status"] == "open":
        item.DUEPK, item.DUESK = keys.receivable_due(remind_on, data["id"])
    tx.save(item, label=f"receivable:{data['n']}")


def change(tx: transactions.Transaction, tenant: str, after: ReceivableRecord) -> None:
    """Paid (in part or whole) or cancelled: its amount paid, status and list keys; once not
    open, no more reminders. The reminder fields the job wrote are left as they are."""
    pk, sk = key_of(tenant, after)
    actions: list[Action] = [
        ReceivableItem.paid.set(int(after["paid"])),
        ReceivableItem.status.set(after["status"]),
    ]
    paid_on = after.get("paid_on")
    actions.append(ReceivableItem.paid_on.set(paid_on) if paid_on else ReceivableItem.paid_on.remove())
    for name, value in _list_keys(tenant, after).items():
        attr = getattr(ReceivableItem, name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    if after["status"] != "open":
        actions += [ReceivableItem.DUEPK.remove(), ReceivableItem.DUESK.remove()]
    tx.update(ReceivableItem(pk, sk), actions, label=f"receivable:{after['n']}")


def of_contract(tenant: str, contract_id: str) -> list[ReceivableRecord]:
    """A contract's receivables, in instalment order: one Query of its partition."""
    query = ReceivableItem.query(
        keys.contract_pk(tenant, contract_id), ReceivableItem.SK.startswith(keys.RECEIVABLE_PREFIX)
    )
    return [_record(i) for i in query]


def of_enrolment(tenant: str, cohort_id: str, lead_id: str) -> list[ReceivableRecord]:
    """An enrolment's receivables, in instalment order: one Query of the cohort's partition."""
    query = ReceivableItem.query(
        keys.cohort_pk(tenant, cohort_id), ReceivableItem.SK.startswith(f"{keys.RECEIVABLE_PREFIX}{lead_id}#")
    )
    return [_record(i) for i in query]


_INDEX = {"school": "GSI1", "consultant": "GSI2", "campus": "GSI3"}


def partitions(tenant: str, family: str, owners: list[str], status: str) -> tuple[str, list[str]]:
    """(index, partition keys) of the lists of a family (school | consultant | campus)."""
    if family == "school":
        return "GSI1", [keys.receivables_of(tenant, status)]
    build = keys.receivables_by if family == "consultant" else keys.receivables_in
    return _INDEX[family], [build(tenant, owner, status) for owner in owners]


def list_page(
    index: str,
    parts: list[str],
    *,
    before: str | None,
    from_: str | None,
    campuses: list[str] | None,
    limit: int,
    cursor: str | None,
    scope: str,
) -> tuple[list[ReceivableRecord], str | None]:
    """One page, by due date, of the partitions' receivables due before a day (`before`),
    or from a day on (`from_`); `campuses` a filter on the index (it holds `campus_id`)."""
    sort_attr = getattr(ReceivableItem, f"{index}SK")
    range_condition: Condition | None = None
    if before is not None:
        range_condition = sort_attr < before
    elif from_ is not None:
        range_condition = sort_attr >= from_
    filter_condition = ReceivableItem.campus_id.is_in(*campuses) if campuses else None
    page = query_partitions(
        ReceivableItem,
        index,
        parts,
        scope=scope,
        limit=limit,
        cursor=cursor,
        ascending=True,
        range_condition=range_condition,
        filter_condition=filter_condition,
    )
    return [_record(i) for i in page.items], page.cursor


def outstanding(index: str, part: str, before: str | None = None) -> Iterator[tuple[str, int]]:
    """(due_on, fen still owed) of every open receivable of a partition (due before a day):
    the index alone, every page (the ageing report)."""
    sort_attr = getattr(ReceivableItem, f"{index}SK")
    index_obj = getattr(ReceivableItem, index.lower())
    condition = sort_attr < before if before else None
    query = index_obj.query(part, condition, attributes_to_get=["PK", "SK", "type", f"{index}SK"])
    for item in query:
        due_on, _, rest = getattr(item, f"{index}SK").partition("#")
        yield due_on, int(rest.rsplit("#", 1)[1])


def reminder_candidates(day: str) -> list[tuple[str, str, str]]:
    """(tenant, PK, SK) of the receivables filed for a reminder on a school-local day, every tenant."""
    return [(tenant, item.PK, item.SK) for tenant, item in due_db.items("RECEIVABLE", day)]


def batch_get(wanted: list[tuple[str, str]]) -> list[tuple[ReceivableRecord, str | None]]:
    """The receivables (with the DUE key each is filed under, or None), 100 a BatchGetItem."""
    found: list[tuple[ReceivableRecord, str | None]] = []
    for item in ReceivableItem.batch_get(list(dict.fromkeys(wanted))):
        found.append((_record(item), item.DUEPK))
    return found


def refile(tenant: str, data: ReceivableRecord, filed_under: str, day: str | None) -> bool:
    """Files an open receivable for its next reminder (a school date), or for none, if it is
    still open and filed where the job found it (a payment meanwhile wins). False if not."""
    pk, sk = key_of(tenant, data)
    actions: list[Action]
    if day:
        due_pk, due_sk = keys.receivable_due(day, data["id"])
        actions = [ReceivableItem.DUEPK.set(due_pk), ReceivableItem.DUESK.set(due_sk)]
    else:
        actions = [ReceivableItem.DUEPK.remove(), ReceivableItem.DUESK.remove()]
    condition = (ReceivableItem.status == "open") & (filed_under == ReceivableItem.DUEPK)
    try:
        ReceivableItem(pk, sk).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def as_values(data: dict[str, Any]) -> ReceivableRecord:
    """A record the domain built (its optional fields may be None: not stored)."""
    return cast(ReceivableRecord, data)
