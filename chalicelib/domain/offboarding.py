"""Staff leaving (离职交接): `POST /users/{id}/offboard`.

Disabling an account used to leave its leads, plans and appointments with nobody. An
offboarding disables the account (every token of it dies) and files the handover, in one
transaction; then one resumable run moves, one item at a time, everything the user still
holds:

- every live lead they own: to the taker (history `handed_over`, by the admin, from and
  to), or to the public pool when "pool" was chosen, when the taker is not of the lead's
  campus, or when the taker holds the most leads the school allows;
- every open plan assigned to them: to the taker when the taker is of the lead's campus,
  else cancelled (nobody in the pool can hold a plan);
- every appointment of theirs from now on (booked or waitlisted): to the taker when the
  taker is of its campus, else to nobody (the campus's managers and front desk still see it).

Each move is its own transaction, conditioned on the item still being the user's, and
ADDs its count to the offboarding in that same transaction on the condition that this run
still holds it: counts are exact, a retried or overlapping run moves nothing twice, and a
run whose lease another run took writes nothing more. The request does a first part
(REQUEST_ITEMS); what is left waits on DUE `OFFBOARD#queued` for the `staff_offboarding`
job (every minute), which goes on for JOB_SECONDS a run. A run re-reads the user's lists
(the items moved have left them), so resuming needs no cursor. Done is a run that went
through the three lists and found nothing it could not move.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from chalicelib.db import followups as followups_db
from chalicelib.db import leads as leads_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import staff as staff_db
from chalicelib.db import users as users_db
from chalicelib.db.lead_fields import Snapshot
from chalicelib.db.leads import OwnerCapError
from chalicelib.domain import clock, ids, lead_writes, waiting
from chalicelib.domain.auth import Principal
from chalicelib.domain.leads.pool import change_owner
from chalicelib.domain.leads.visibility import OWNERS
from chalicelib.errors import BusyError, ConflictError, NotFoundError, ValidationFailedError
from chalicelib.observability import logger
from chalicelib.schemas.staff import POOL, Offboarding, OffboardRequest
from chalicelib.schemas.users import UserRecord

REQUEST_ITEMS = 50  # items the request itself moves before leaving the rest to the job
REQUEST_SECONDS = 8.0  # ... or seconds it spends (API Gateway gives a request 29)
JOB_SECONDS = 240.0  # a job run's budget (its Lambda has 300 s)
LEASE = timedelta(seconds=300)  # longer than any run's budget: a live run never loses it


class LeaseLost(Exception):
    """Another run took the offboarding over: this one writes nothing more."""


def _out(record: dict[str, Any]) -> Offboarding:
    return Offboarding.model_validate(record)


def _taker(tenant: str, handover_to: str, leaving: str) -> UserRecord | None:
    if handover_to == POOL:
        return None
    taker = users_db.get(tenant, handover_to)
    if taker is None or not taker.active or taker.role not in OWNERS or taker.id == leaving or taker.frozen_at:
        raise ValidationFailedError(
            'handover_to: an active consultant or supervisor of this school other than the leaving user, or "pool".',
            details=[{"field": "handover_to", "message": "not an active consultant or supervisor"}],
        )
    return taker


def start(principal: Principal, user_id: str, request: OffboardRequest) -> Offboarding:
    """Disables the account and hands its work over (the first part now, the rest by the job)."""
    if user_id == principal.user_id:
        raise ConflictError("You cannot offboard your own account.", code="CANNOT_CHANGE_SELF")
    leaving = users_db.get(principal.tenant, user_id)
    if leaving is None:
        raise NotFoundError("No such user.", code="USER_NOT_FOUND")
    taker = _taker(principal.tenant, request.handover_to, user_id)
    record = {
        "user_id": user_id,
        "user_name": leaving.display_name,
        "handover_to": taker.id if taker else None,
        "handover_to_name": taker.display_name if taker else None,
        "started_by": principal.user_id,
        "started_by_name": principal.display_name,
        "created_at": clock.iso(clock.now()),
    }
    try:
        staff_db.start(principal.tenant, record)
    except staff_db.OffboardingRunning as exc:
        raise ConflictError(
            "This user's handover is still going on; wait for it to finish.", code="OFFBOARDING_RUNNING"
        ) from exc
    run(principal.tenant, user_id, max_items=REQUEST_ITEMS, seconds=REQUEST_SECONDS)
    return get(principal, user_id, consistent=True)


def get(principal: Principal, user_id: str, *, consistent: bool = False) -> Offboarding:
    record = staff_db.get(principal.tenant, user_id, consistent=consistent)
    if record is None:
        raise NotFoundError("This user was never offboarded.", code="OFFBOARDING_NOT_FOUND")
    return _out(record)


# --- the run ------------------------------------------------------------------------


class _Run:
    """One run's hold on one offboarding, and its budget."""

    def __init__(self, tenant: str, record: dict[str, Any], owner: str, max_items: int | None, seconds: float):
        self.tenant, self.record, self.owner = tenant, record, owner
        self.user_id: str = record["user_id"]
        self.by: str = record["started_by"]
        self.left = max_items
        self.until = time.monotonic() + seconds
        self.unmoved = 0  # items that changed under this run: the next run looks again
        taker_id = record.get("handover_to")
        self.taker = users_db.get(tenant, taker_id) if taker_id else None
        if self.taker is not None and (not self.taker.active or self.taker.frozen_at):
            self.taker = None  # the taker left meanwhile: what is left goes to the pool

    def spent(self) -> bool:
        return (self.left is not None and self.left <= 0) or time.monotonic() >= self.until

    def used_one(self) -> None:
        if self.left is not None:
            self.left -= 1

    def handover_counter(self, counter: str) -> Callable[[Any], None]:
        """The transaction step adding one to `counter`, while this run holds the lease (a name of
        its own: the OpenAPI error reach takes an unresolved `x.count(...)` for any method so named)."""
        add: Callable[[Any], None] = staff_db.count_action(self.tenant, self.user_id, self.owner, counter)
        return add

    def takes(self, campus_id: str) -> UserRecord | None:
        return self.taker if self.taker is not None and campus_id in self.taker.campus_ids else None

    def details(self, to: UserRecord | None) -> dict[str, Any]:
        return {
            "from_name": self.record["user_name"],
            "to_name": to.display_name if to else None,
            "offboarding": True,
        }


def _lost(exc: ConflictError) -> bool:
    return exc.code == "OFFBOARDING_TAKEN"


def _lead(run: _Run, lead_id: str) -> None:
    def work(read: Snapshot) -> None:
        lead = read.lead
        if lead.owner_id != run.user_id or lead.deleted_at is not None:
            return  # moved meanwhile (or an index copy not yet updated): not ours to move
        to = run.takes(lead.campus_id)
        if to is not None:
            try:
                counter = run.handover_counter("leads_handed_over")
                change_owner(run.tenant, run.by, read, to, "handed_over", details=run.details(to), also=counter)
                return
            except OwnerCapError:
                pass  # the taker is full: this one goes to the pool
        counter = run.handover_counter("leads_to_pool")
        change_owner(run.tenant, run.by, read, None, "handed_over", details=run.details(None), also=counter)

    try:
        lead_writes.change(run.tenant, lead_id, work, lambda: NotFoundError("gone", code="LEAD_NOT_FOUND"))
    except NotFoundError:
        return
    except ConflictError as exc:  # EDIT_CONFLICT: the owner changed meanwhile; BUSY: the next run
        if _lost(exc):
            raise LeaseLost() from exc
        run.unmoved += 1


def _plan_campus(run: _Run, lead_id: str, cache: dict[str, str | None]) -> str | None:
    if lead_id not in cache:
        lead = leads_db.get(run.tenant, lead_id)
        cache[lead_id] = lead.campus_id if lead is not None else None
    return cache[lead_id]


def _plans(run: _Run, plans: Iterator[Any]) -> bool:
    campuses: dict[str, str | None] = {}
    for listed in plans:
        if run.spent():
            return False
        plan = followups_db.get_plan(run.tenant, listed.lead_id, listed.id)  # as it is now (consistent)
        if plan is None or plan.status != "open" or plan.assignee_id != run.user_id:
            continue
        campus = _plan_campus(run, plan.lead_id, campuses)
        to = run.takes(campus) if campus else None
        if to is not None:
            updated = plan.model_copy(update={"assignee_id": to.id, "assignee_name": to.display_name})
            counter = run.handover_counter("plans_handed_over")
        else:
            updated = plan.model_copy(update={"status": "cancelled", "done_at": clock.now()})
            counter = run.handover_counter("plans_cancelled")
        try:
            followups_db.save_plan(run.tenant, updated, new=False, before=plan, also=counter)
        except ConflictError as exc:  # closed or handed over meanwhile: not ours any more
            if _lost(exc):
                raise LeaseLost() from exc
            if isinstance(exc, BusyError):
                run.unmoved += 1  # DynamoDB stayed busy: the next run tries it again
        run.used_one()
    return True


def _appointments(run: _Run, appointments: Iterator[Any]) -> bool:
    for appointment in appointments:
        if run.spent():
            return False
        to = run.takes(appointment.campus_id)
        counter = run.handover_counter("appointments_handed_over" if to else "appointments_unassigned")
        try:
            staff_db.hand_over_appointment(run.tenant, appointment, to.id if to else None, counter)
        except ConflictError as exc:
            if _lost(exc):
                raise LeaseLost() from exc
            run.unmoved += 1
        run.used_one()
    return True


def _leads(run: _Run) -> bool:
    for lead_id in staff_db.owned_lead_ids(run.tenant, run.user_id):
        if run.spent():
            return False
        _lead(run, lead_id)
        run.used_one()
    return True


def run(tenant: str, user_id: str, *, max_items: int | None = None, seconds: float = JOB_SECONDS) -> bool | None:
    """One run: takes the offboarding (None if another run holds it or there is none), moves
    what it can within its budget, then finishes it (True) or queues it again (False)."""
    now = clock.now()
    owner = ids.new_id()
    if not staff_db.take(tenant, user_id, clock.iso(now), clock.iso(now + LEASE), owner):
        return None
    record = staff_db.get(tenant, user_id, consistent=True)
    if record is None:  # pragma: no cover - taken by a conditional update, so it exists
        return None
    current = _Run(tenant, record, owner, max_items, seconds)
    try:
        whole = (
            _leads(current)
            and _plans(current, staff_db.open_plans(tenant, user_id))
            and _appointments(current, staff_db.future_appointments(tenant, user_id, clock.iso(clock.now())))
        )
        if not whole or current.unmoved:
            staff_db.put_back(tenant, user_id, owner)
            return False
        if not staff_db.finish(tenant, user_id, owner, clock.iso(clock.now())):
            raise LeaseLost()
    except LeaseLost:
        logger.warning("offboarding taken over by another run", extra={"tenant": tenant, "user": user_id})
        return None
    _tell(tenant, user_id)
    return True


def _tell(tenant: str, user_id: str) -> None:
    """The admin who started it, and the taker, learn what moved (once: a fixed id)."""
    record = staff_db.get(tenant, user_id, consistent=True)
    if record is None:  # pragma: no cover - finished just now
        return
    c = record["counts"]
    text = (
        f"{record['user_name']} 离职交接完成 Handover done → {record.get('handover_to_name') or '公海 pool'}: "
        f"客户 leads {c['leads_handed_over']} (+{c['leads_to_pool']} 公海 pool), "
        f"计划 plans {c['plans_handed_over']} (+{c['plans_cancelled']} cancelled), "
        f"预约 appointments {c['appointments_handed_over']} (+{c['appointments_unassigned']} unassigned)"
    )
    at = clock.iso(clock.now())
    for whom in dict.fromkeys(filter(None, (record["started_by"], record.get("handover_to")))):
        schedule_db.notify(tenant, whom, f"offboard-{user_id}-{record['created_at']}", text, None, at)


def run_waiting(at: datetime, tenant: str | None = None) -> dict[str, Any]:
    """The `staff_offboarding` job: every offboarding with work left (or whose run died)."""
    done, not_done, broken = waiting.run_each(
        staff_db.waiting(), run, tenant=tenant, what="offboarding", logged_as="user"
    )
    return {"offboardings": done, "not_done": not_done, "broken": broken}
