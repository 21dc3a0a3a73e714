"""Programmes, cohorts and enrolments.

Seats are an invariant of the database: confirming an enrolment is one transaction that
moves the enrolment (conditional on its version) and raises the cohort's `confirmed`
under `confirmed < seats` and `status = open`. A lead's enrolment is keyed by the lead in
the cohort's partition, so it exists at most once. An open cohort carries the sparse
GSI3/GSI4 keys the public list reads; closing or cancelling it removes them.

What a read returns is typed: ProgrammeRecord, CohortRecord (its instalment options
InstalmentOptionRecord) and EnrolmentRecord are TypedDicts describing exactly the dict the
read builds from the item (chalicelib/db/items/programmes.py): every attribute that is not
nullable is always there (a default is set on a read too), a nullable one is there only
when set (pynamodb drops a None), so it is NotRequired. We chose TypedDicts over pydantic
models here on purpose: the runtime objects stay the plain dicts they were (JSON output,
`.get`, `**` unpacking and equality unchanged, nothing converted on each read) while mypy
checks every key the domain reads or writes. A cohort's or an enrolment's optional keys
also allow None: the records the domain builds (a new one, one changed in memory) carry
None for "not set", which these writes store as absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict, cast

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import Index

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, transactions
from chalicelib.db import receivables as receivables_db
from chalicelib.db.cards.idempotency import IdempotencyClaim, _claim
from chalicelib.db.convert import values
from chalicelib.db.items import CohortItem, EnrolmentItem, EnrolmentLinkItem, EnrolmentPaymentItem, ProgrammeItem
from chalicelib.db.paging import page_values, status_page
from chalicelib.db.receivables import ReceivableRecord
from chalicelib.errors import ConflictError

# --- the records the reads return ------------------------------------------------------


class ProgrammeRecord(TypedDict):
    """A ProgrammeItem's values; its `programme_kind` comes back as `kind`."""

    id: str
    name: str
    kind: str  # course | workshop | seminar
    recurrence: str  # one_off | recurring
    description: NotRequired[str]
    active: bool
    created_by: str
    created_at: str
    updated_at: str


class InstalmentOptionRecord(TypedDict):
    """One of a cohort's instalment options (a map in its list)."""

    name: str
    count: int


class CohortRecord(TypedDict):
    """A CohortItem's values, without its key and index attributes. Money is in fen."""

    id: str
    programme_id: str
    programme_name: str
    programme_kind: str
    campus_id: str
    campus_name: str
    name: str
    starts_on: str  # ISO date
    ends_on: NotRequired[str | None]
    starts_at: str  # HH:MM, school time
    schedule: NotRequired[str | None]
    teacher_id: NotRequired[str | None]
    teacher_name: NotRequired[str | None]
    price: int
    instalment_options: list[InstalmentOptionRecord]
    seats: int
    confirmed: int
    pending: int
    declined: int
    status: str  # open | closed | cancelled
    created_by: str
    created_at: str
    updated_at: str
    version: int


class EnrolmentRecord(TypedDict):
    """An EnrolmentItem's values, without its key attributes. Money is in fen."""

    id: str
    cohort_id: str
    programme_id: str
    lead_id: str
    lead_name: str
    status: str  # pending | confirmed | declined
    agreed_price: int
    instalments: str
    instalment_count: int
    notify_before_minutes: NotRequired[int | None]
    reminder_message_id: NotRequired[str | None]
    reminder_at: NotRequired[str | None]
    note: NotRequired[str | None]
    created_by: str
    created_by_name: str
    created_at: str
    decided_by: NotRequired[str | None]
    decided_at: NotRequired[str | None]
    paid: NotRequired[int]  # fen paid towards agreed_price
    payer_name: NotRequired[str | None]  # 代报名: who pays, when not a guardian of the learner
    payer_phone: NotRequired[str | None]  # E.164
    payer_relation: NotRequired[str | None]
    version: int


# `values` is untyped (dict[str, Any]) for any item; these name what it returns for each
# item class, as described above.


def _cohort_record(item: CohortItem) -> CohortRecord:
    return cast(CohortRecord, values(item))


def _enrolment_record(item: EnrolmentItem) -> EnrolmentRecord:
    return cast(EnrolmentRecord, values(item))


# --- programmes (tenant partition) ---------------------------------------------------


def _programme(data: dict[str, Any]) -> ProgrammeRecord:
    out = dict(data)
    out["kind"] = out.pop("programme_kind")
    return cast(ProgrammeRecord, out)  # a ProgrammeItem's values, programme_kind renamed


def put_programme(tenant: str, data: dict[str, Any]) -> None:
    fields = {k: v for k, v in data.items() if k != "kind"}
    item = ProgrammeItem(keys.tenant_pk(tenant), keys.programme_sk(data["id"]), programme_kind=data["kind"], **fields)
    item.save(condition=ProgrammeItem.PK.does_not_exist())


def get_programme(tenant: str, programme_id: str) -> ProgrammeRecord | None:
    try:
        return _programme(values(ProgrammeItem.get(keys.tenant_pk(tenant), keys.programme_sk(programme_id))))
    except ProgrammeItem.DoesNotExist:
        return None


def list_programmes(
    tenant: str, *, active: bool | None, limit: int, cursor: str | None, scope: str
) -> tuple[list[ProgrammeRecord], str | None]:
    result = ProgrammeItem.query(
        keys.tenant_pk(tenant),
        ProgrammeItem.SK.startswith(keys.PROGRAMME_PREFIX),
        filter_condition=(ProgrammeItem.active == active) if active is not None else None,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    found, next_cursor = page_values(result, ProgrammeItem, scope)
    return [_programme(v) for v in found], next_cursor


def update_programme(tenant: str, programme_id: str, changes: dict[str, Any]) -> ProgrammeRecord | None:
    item = ProgrammeItem(keys.tenant_pk(tenant), keys.programme_sk(programme_id))
    actions = []
    for name, value in changes.items():
        attr = getattr(ProgrammeItem, "programme_kind" if name == "kind" else name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    try:
        item.update(actions=actions, condition=ProgrammeItem.PK.exists())
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return None
        raise
    return _programme(values(item))


# --- cohorts (own partition) -----------------------------------------------------------


class _CohortIndexKeys(TypedDict):
    """A cohort's index keys; GSI3/GSI4 (the open cohorts) only while it is open."""

    GSI1PK: str
    GSI1SK: str
    GSI2PK: str
    GSI2SK: str
    GSI3PK: str | None
    GSI3SK: str | None
    GSI4PK: str | None
    GSI4SK: str | None


def _index_keys(tenant: str, data: CohortRecord) -> _CohortIndexKeys:
    sort = keys.cohort_sort(data["starts_on"], data["id"])
    is_open = data["status"] == "open"
    return {
        "GSI1PK": keys.cohorts_of(tenant),
        "GSI1SK": sort,
        "GSI2PK": keys.cohorts_of_programme(tenant, data["programme_id"]),
        "GSI2SK": sort,
        "GSI3PK": keys.open_cohorts(tenant) if is_open else None,
        "GSI3SK": sort if is_open else None,
        "GSI4PK": keys.open_cohorts_of_programme(tenant, data["programme_id"]) if is_open else None,
        "GSI4SK": sort if is_open else None,
    }


def put_cohort(tenant: str, data: CohortRecord) -> None:
    item = CohortItem(keys.cohort_pk(tenant, data["id"]), keys.COHORT_SK, **data, **_index_keys(tenant, data))
    item.save(condition=CohortItem.PK.does_not_exist())


def get_cohort(tenant: str, cohort_id: str, *, consistent: bool = False) -> CohortRecord | None:
    try:
        item = CohortItem.get(keys.cohort_pk(tenant, cohort_id), keys.COHORT_SK, consistent_read=consistent)
    except CohortItem.DoesNotExist:
        return None
    return _cohort_record(item)


def list_cohorts(
    tenant: str,
    *,
    programme_id: str | None,
    status: str | None,
    from_day: str,
    limit: int,
    cursor: str | None,
    scope: str,
) -> tuple[list[CohortRecord], str | None]:
    """A school's (or a programme's) cohorts starting on or after a day, earliest first."""
    index: Index[CohortItem]
    if programme_id:
        index, part, sort = CohortItem.gsi2, keys.cohorts_of_programme(tenant, programme_id), CohortItem.GSI2SK
    else:
        index, part, sort = CohortItem.gsi1, keys.cohorts_of(tenant), CohortItem.GSI1SK
    found, next_cursor = status_page(
        CohortItem, part, sort >= from_day, status=status, limit=limit, cursor=cursor, scope=scope, index=index
    )
    return cast(list[CohortRecord], found), next_cursor  # CohortItems' values


def open_cohorts(
    tenant: str, *, programme_id: str | None, from_day: str, limit: int, cursor: str | None, scope: str
) -> tuple[list[CohortRecord], str | None]:
    """Open cohorts (the sparse index) starting on or after a day, with seats left."""
    index: Index[CohortItem]
    if programme_id:
        index, part, sort = CohortItem.gsi4, keys.open_cohorts_of_programme(tenant, programme_id), CohortItem.GSI4SK
    else:
        index, part, sort = CohortItem.gsi3, keys.open_cohorts(tenant), CohortItem.GSI3SK
    result = index.query(
        part,
        sort >= from_day,
        filter_condition=CohortItem.confirmed < CohortItem.seats,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    found, next_cursor = page_values(result, CohortItem, scope)
    return cast(list[CohortRecord], found), next_cursor  # CohortItems' values


def update_cohort(tenant: str, before: CohortRecord, after: CohortRecord) -> CohortRecord:
    """Writes the changed fields if nobody changed the cohort since `before` was read, and
    never leaves fewer seats than confirmed enrolments (a condition, not a Python check)."""
    item = CohortItem(keys.cohort_pk(tenant, before["id"]), keys.COHORT_SK)
    actions = []
    for name, value in after.items():
        if name in ("confirmed", "pending", "declined", "version") or before.get(name) == value:
            continue
        attr = getattr(CohortItem, name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    for name, value in _index_keys(tenant, after).items():
        attr = getattr(CohortItem, name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    actions.append(CohortItem.version.add(1))
    condition = CohortItem.version == int(before.get("version") or 0)
    if after["seats"] != before["seats"]:
        condition &= CohortItem.confirmed <= after["seats"]
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if not transactions.condition_failed(exc):
            raise
        now = get_cohort(tenant, before["id"], consistent=True)
        if now is not None and int(now.get("version") or 0) == int(before.get("version") or 0):
            raise ConflictError(
                f"{now['confirmed']} enrolments are confirmed: seats cannot go below that.",
                code="SEATS_BELOW_CONFIRMED",
            ) from exc
        raise ConflictError("The cohort changed meanwhile; try again.", code="EDIT_CONFLICT") from exc
    return _cohort_record(item)


# --- enrolments (in the cohort's partition) ------------------------------------------


def _enrolment(tenant: str, data: EnrolmentRecord) -> EnrolmentItem:
    return EnrolmentItem(keys.cohort_pk(tenant, data["cohort_id"]), keys.enrolment_sk(data["lead_id"]), **data)


def create_enrolment(tenant: str, data: EnrolmentRecord) -> None:
    """The enrolment (one per lead and cohort), the cohort's pending count and the lead's link."""
    cohort = CohortItem(keys.cohort_pk(tenant, data["cohort_id"]), keys.COHORT_SK)
    link = EnrolmentLinkItem(
        keys.lead_pk(tenant, data["lead_id"]),
        keys.enrolment_link_sk(data["cohort_id"]),
        other_id=data["id"],
        at=data["created_at"],
    )
    try:
        with transactions.write() as tx:
            tx.save(_enrolment(tenant, data), condition=EnrolmentItem.PK.does_not_exist(), label="enrolled")
            tx.save(link)
            tx.update(
                cohort,
                [CohortItem.pending.add(1)],
                condition=CohortItem.PK.exists() & (CohortItem.status == "open"),
                label="cohort",
            )
    except transactions.TransactionConflict as exc:
        if "enrolled" in exc.failed:
            raise ConflictError("This lead is already enrolled in this cohort.", code="ALREADY_ENROLLED") from exc
        raise ConflictError("The cohort is no longer open.", code="COHORT_NOT_OPEN") from exc


def get_enrolment(tenant: str, cohort_id: str, lead_id: str) -> EnrolmentRecord | None:
    try:
        item = EnrolmentItem.get(keys.cohort_pk(tenant, cohort_id), keys.enrolment_sk(lead_id), consistent_read=True)
    except EnrolmentItem.DoesNotExist:
        return None
    return _enrolment_record(item)


def list_enrolments(
    tenant: str, cohort_id: str, *, status: str | None, limit: int, cursor: str | None, scope: str
) -> tuple[list[EnrolmentRecord], str | None]:
    found, next_cursor = status_page(
        EnrolmentItem,
        keys.cohort_pk(tenant, cohort_id),
        EnrolmentItem.SK.startswith(keys.ENROLMENT_PREFIX),
        status=status,
        limit=limit,
        cursor=cursor,
        scope=scope,
    )
    return cast(list[EnrolmentRecord], found), next_cursor  # EnrolmentItems' values


def confirmed_enrolments(tenant: str, cohort_id: str) -> list[EnrolmentRecord]:
    """Every confirmed enrolment of a cohort (at most its seats): one Query."""
    query = EnrolmentItem.query(
        keys.cohort_pk(tenant, cohort_id),
        EnrolmentItem.SK.startswith(keys.ENROLMENT_PREFIX),
        filter_condition=EnrolmentItem.status == "confirmed",
    )
    return [_enrolment_record(i) for i in query]


def move_enrolment(
    tenant: str,
    before: EnrolmentRecord,
    after: EnrolmentRecord,
    made: Sequence[tuple[ReceivableRecord, str]] = (),
    changed: Sequence[ReceivableRecord] = (),
) -> None:
    """Moves an enrolment to another status with the cohort's counters and its receivables
    (confirmed: `made`, each filed for its first reminder; declined: `changed`, cancelled),
    all or nothing. Raises TransactionConflict with "enrolment" (it changed meanwhile) or
    "cohort" (the cohort is full or not open) among the failed labels."""
    cohort = CohortItem(keys.cohort_pk(tenant, before["cohort_id"]), keys.COHORT_SK)
    old, new = before["status"], after["status"]
    counters = [getattr(CohortItem, new).add(1), getattr(CohortItem, old).add(-1)]
    condition = CohortItem.PK.exists()
    if new == "confirmed":
        condition &= (CohortItem.confirmed < CohortItem.seats) & (CohortItem.status == "open")
    item = _enrolment(tenant, {**after, "version": int(before.get("version") or 0) + 1})
    with transactions.write() as tx:
        tx.save(item, condition=EnrolmentItem.version == int(before.get("version") or 0), label="enrolment")
        tx.update(cohort, counters, condition=condition, label="cohort")
        for receivable, remind_on in made:
            receivables_db.put(tx, tenant, receivable, remind_on)
        for receivable in changed:
            receivables_db.change(tx, tenant, receivable)


def record_enrolment_payment(
    tenant: str,
    before: EnrolmentRecord,
    paid: int,
    payment: dict[str, Any],
    changed: Sequence[ReceivableRecord],
    claim: IdempotencyClaim | None = None,
) -> None:
    """A payment towards an enrolment: its `paid` (under its version, still confirmed), the
    payment item and the receivables it covers, one transaction. Raises TransactionConflict
    ("enrolment" among the failed labels when it changed meanwhile)."""
    item = EnrolmentItem(keys.cohort_pk(tenant, before["cohort_id"]), keys.enrolment_sk(before["lead_id"]))
    version = int(before.get("version") or 0)
    record = EnrolmentPaymentItem(
        keys.cohort_pk(tenant, before["cohort_id"]),
        keys.enrolment_payment_sk(before["lead_id"], payment["at"], payment["id"]),
        **payment,
    )
    with transactions.write() as tx:
        tx.update(
            item,
            [EnrolmentItem.paid.set(paid), EnrolmentItem.version.set(version + 1)],
            condition=(EnrolmentItem.version == version) & (EnrolmentItem.status == "confirmed"),
            label="enrolment",
        )
        tx.save(record, label="payment")
        for receivable in changed:
            receivables_db.change(tx, tenant, receivable)
        _claim(tx, tenant, claim)


def set_reminder(tenant: str, enrolment: EnrolmentRecord, message_id: str | None, at: str | None) -> bool:
    """Records a rescheduled reminder if the enrolment is still as read (False if not)."""
    item = EnrolmentItem(keys.cohort_pk(tenant, enrolment["cohort_id"]), keys.enrolment_sk(enrolment["lead_id"]))
    actions: list[Action] = [
        EnrolmentItem.reminder_message_id.set(message_id) if message_id else EnrolmentItem.reminder_message_id.remove(),
        EnrolmentItem.reminder_at.set(at) if at else EnrolmentItem.reminder_at.remove(),
        EnrolmentItem.version.add(1),
    ]
    try:
        item.update(actions=actions, condition=EnrolmentItem.version == int(enrolment.get("version") or 0))
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True
