"""Staff leaving (离职交接) and employee records (员工档案): the offboarding item and its
lease, the leaving user's work read page by page from the indexes that already list it
(GSI1 `OWNER#<user>`, GSI1 `PLANS#<user>`, GSI2 `APPTBY#<user>`), an appointment handed
over, and the employee record written with the user's phone and e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import due, keys, transactions
from chalicelib.db import users as users_db
from chalicelib.db.convert import values
from chalicelib.db.followups import to_plan
from chalicelib.db.items import (
    AppointmentItem,
    EmployeeRecordItem,
    LeadItem,
    OffboardingItem,
    PlanItem,
    UserItem,
)
from chalicelib.db.items.staff import OFFBOARDING_COUNTS
from chalicelib.db.paging import first_page
from chalicelib.db.schedule.appointments import to_appointment
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.schemas.followups import Plan
from chalicelib.schemas.schedule import Appointment

PAGE = 25  # items read from an index at a time: a run stops between pages and items, never inside one
LEASE_LABEL = "conflict:OFFBOARDING_TAKEN:Another run took this handover over."


class OffboardingRunning(Exception):
    """An offboarding of this user is queued or running already."""


def _item(tenant: str, user_id: str) -> OffboardingItem:
    return OffboardingItem(keys.users_pk(tenant), keys.offboarding_sk(user_id))


def _record(item: OffboardingItem) -> dict[str, Any]:
    data = values(item)
    data["user_id"] = data.pop("id")
    for name in ("handover_to", "handover_to_name", "finished_at", "lease_until", "lease_owner"):
        data.setdefault(name, None)
    data["counts"] = {name: int(data.pop(name, 0) or 0) for name in OFFBOARDING_COUNTS}
    return data


def get(tenant: str, user_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    try:
        item = OffboardingItem.get(keys.users_pk(tenant), keys.offboarding_sk(user_id), consistent_read=consistent)
    except OffboardingItem.DoesNotExist:
        return None
    return _record(item)


def start(tenant: str, record: dict[str, Any]) -> None:
    """One transaction: the offboarding (new, or over a finished one) filed on DUE, and the
    user disabled with every token of theirs dead (token_version + 1)."""
    user_id = record["user_id"]
    item = _item(tenant, user_id)
    item.id = user_id
    for name in ("user_name", "handover_to", "handover_to_name", "started_by", "started_by_name", "created_at"):
        setattr(item, name, record[name])
    item.status = "queued"
    item.DUEPK, item.DUESK = keys.offboarding_due(tenant, user_id)
    user = UserItem(keys.users_pk(tenant), keys.user_sk(user_id))
    try:
        with transactions.write() as tx:
            tx.save(
                item,
                condition=OffboardingItem.PK.does_not_exist() | (OffboardingItem.status == "done"),
                label="running",
            )
            tx.update(
                user,
                actions=[
                    UserItem.active.set(False),
                    UserItem.token_version.add(1),
                    UserItem.updated_at.set(record["created_at"]),
                ],
                condition=UserItem.PK.exists(),
                label="user",
            )
    except transactions.TransactionConflict as exc:
        if "running" in exc.failed:
            raise OffboardingRunning() from exc
        raise NotFoundError("No such user.", code="USER_NOT_FOUND") from exc
    finally:
        users_db.forget(tenant, user_id)


def waiting() -> Iterator[tuple[str, str]]:
    """(tenant, user id) of every offboarding with work left, every tenant (DUE, 4 Query)."""
    for tenant, item in due.items("OFFBOARD", "queued"):
        yield tenant, cast(OffboardingItem, item).id


def _conditional(tenant: str, user_id: str, actions: list[Action], condition: Condition) -> bool:
    try:
        _item(tenant, user_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def take(tenant: str, user_id: str, now: str, lease_until: str, owner: str) -> bool:
    """The offboarding for one run: queued, or running with its lease passed (a run that
    died). Two overlapping runs cannot both take it."""
    actions: list[Action] = [
        OffboardingItem.status.set("running"),
        OffboardingItem.lease_until.set(lease_until),
        OffboardingItem.lease_owner.set(owner),
        OffboardingItem.runs.add(1),
    ]
    free = (OffboardingItem.status == "queued") | (
        (OffboardingItem.status == "running") & (OffboardingItem.lease_until < now)
    )
    return _conditional(tenant, user_id, actions, free)


def _held_by(owner: str) -> Condition:
    held: Condition = (OffboardingItem.status == "running") & (OffboardingItem.lease_owner == owner)
    return held


def put_back(tenant: str, user_id: str, owner: str) -> bool:
    """The run stops with work left (its budget spent): queued again for the next run."""
    actions: list[Action] = [
        OffboardingItem.status.set("queued"),
        OffboardingItem.lease_until.remove(),
        OffboardingItem.lease_owner.remove(),
    ]
    return _conditional(tenant, user_id, actions, _held_by(owner))


def finish(tenant: str, user_id: str, owner: str, at: str) -> bool:
    """Nothing left to move: done, off the DUE index. Only by the run holding the lease."""
    actions: list[Action] = [
        OffboardingItem.status.set("done"),
        OffboardingItem.finished_at.set(at),
        OffboardingItem.lease_until.remove(),
        OffboardingItem.lease_owner.remove(),
        OffboardingItem.DUEPK.remove(),
        OffboardingItem.DUESK.remove(),
    ]
    return _conditional(tenant, user_id, actions, _held_by(owner))


def count_action(tenant: str, user_id: str, owner: str, counter: str) -> Any:
    """For the transaction that moves an item: its count ADDed on the offboarding, on the
    condition that this run still holds it (a run that lost its lease moves nothing more)."""
    if counter not in OFFBOARDING_COUNTS:
        raise ValueError(counter)

    def add(tx: Any) -> None:
        tx.update(
            _item(tenant, user_id),
            actions=[getattr(OffboardingItem, counter).add(1)],
            condition=_held_by(owner),
            label=LEASE_LABEL,
        )

    return add


# --- the leaving user's work, a page at a time ----------------------------------------


def owned_lead_ids(tenant: str, user_id: str) -> Iterator[str]:
    """The live leads the user owns (GSI1 `OWNER#<user>`: keys only, no BatchGetItem; each
    lead is read consistently before it moves)."""
    last: dict[str, Any] | None = None
    while True:
        result = LeadItem.gsi1.query(keys.owner_scope(tenant, user_id, ""), limit=PAGE, last_evaluated_key=last)
        items, last = first_page(result, LeadItem, whole=False)
        for item in items:
            yield item.PK.rsplit("#", 1)[1]
        if last is None:
            return


def open_plans(tenant: str, user_id: str) -> Iterator[Plan]:
    """The user's open plans (GSI1 `PLANS#<user>`, sparse: open only), whole."""
    last: dict[str, Any] | None = None
    while True:
        result = PlanItem.gsi1.query(keys.plans_of(tenant, user_id), limit=PAGE, last_evaluated_key=last)
        items, last = first_page(result, PlanItem)
        yield from (to_plan(i) for i in items if i.status == "open")
        if last is None:
            return


def future_appointments(tenant: str, user_id: str, from_iso: str) -> Iterator[Appointment]:
    """The user's appointments from `from_iso` on (GSI2 `APPTBY#<user>`, by time), whole;
    cancelled ones left out."""
    last: dict[str, Any] | None = None
    while True:
        result = AppointmentItem.gsi2.query(
            keys.appointments_by(tenant, user_id),
            AppointmentItem.GSI2SK.between(keys.sort_key(from_iso, ""), "~"),
            limit=PAGE,
            last_evaluated_key=last,
        )
        items, last = first_page(result, AppointmentItem)
        yield from (a for a in (to_appointment(i) for i in items) if a.status != "cancelled")
        if last is None:
            return


def hand_over_appointment(tenant: str, appointment: Appointment, to: str | None, also: Any) -> bool:
    """The appointment's owner (and its place in GSI2 `APPTBY#<owner>`) set to `to` (None:
    the campus's, nobody's), if it is still the old owner's; nothing else of it is written, so
    attendance marked meanwhile stays. With `also(tx)` (the count). False: it changed."""
    item = AppointmentItem(keys.lead_pk(tenant, appointment.lead_id), keys.appointment_sk(appointment.id))
    actions: list[Action]
    if to:
        sort = keys.sort_key(appointment.at, appointment.id)
        actions = [
            AppointmentItem.owner_id.set(to),
            AppointmentItem.GSI2PK.set(keys.appointments_by(tenant, to)),
            AppointmentItem.GSI2SK.set(sort),
        ]
    else:
        actions = [AppointmentItem.owner_id.remove(), AppointmentItem.GSI2PK.remove(), AppointmentItem.GSI2SK.remove()]
    try:
        with transactions.write() as tx:
            tx.update(item, actions=actions, condition=AppointmentItem.owner_id == appointment.owner_id, label="moved")
            also(tx)
    except transactions.TransactionConflict as exc:
        if LEASE_LABEL in exc.failed:
            raise ConflictError("Another run took this handover over.", code="OFFBOARDING_TAKEN") from exc
        return False
    return True


# --- employee records ---------------------------------------------------------------


def employee_record(tenant: str, user_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    try:
        item = EmployeeRecordItem.get(
            keys.users_pk(tenant), keys.employee_record_sk(user_id), consistent_read=consistent
        )
    except EmployeeRecordItem.DoesNotExist:
        return None
    return values(item)


def save_employee_record(
    tenant: str, user_id: str, record: dict[str, Any], phone: str | None, email: str | None
) -> None:
    """The record and the user's phone and e-mail, in one transaction (404 if the user is gone)."""
    item = EmployeeRecordItem(keys.users_pk(tenant), keys.employee_record_sk(user_id), id=user_id, **record)
    user = UserItem(keys.users_pk(tenant), keys.user_sk(user_id))
    contact = [
        UserItem.phone.remove() if phone is None else UserItem.phone.set(phone),
        UserItem.email.remove() if email is None else UserItem.email.set(email),
        UserItem.updated_at.set(record["updated_at"]),
    ]
    try:
        with transactions.write() as tx:
            tx.update(user, actions=contact, condition=UserItem.PK.exists(), label="user")
            tx.save(item)
    except transactions.TransactionConflict as exc:
        raise NotFoundError("No such user.", code="USER_NOT_FOUND") from exc
    finally:
        users_db.forget(tenant, user_id)
