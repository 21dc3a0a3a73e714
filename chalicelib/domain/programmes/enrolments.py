"""Enrolments (报名): enrolling a lead, listing, confirming (a seat) and declining."""

from __future__ import annotations

from chalicelib.db import leads as leads_db
from chalicelib.db import programmes as programmes_db
from chalicelib.db import receivables as receivables_db
from chalicelib.db import transactions
from chalicelib.db import users as users_db
from chalicelib.db.programmes import CohortRecord, EnrolmentRecord
from chalicelib.db.receivables import ReceivableRecord
from chalicelib.domain import clock, leads, receivables, retry, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.programmes.cohorts import _load_cohort
from chalicelib.domain.programmes.common import ENROLLERS, TRIES, _invalid, _today, _zone
from chalicelib.domain.programmes.reminders import _cancel_reminder, _reminder_plan, _send_reminder
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.programmes import (
    Enrolment,
    EnrolmentRequest,
)
from chalicelib.schemas.users import Role


def _enrolment_not_found() -> NotFoundError:
    return NotFoundError("No such enrolment.", code="ENROLMENT_NOT_FOUND")


def _enrolment_out(data: EnrolmentRecord) -> Enrolment:
    paid = int(data.get("paid") or 0)
    return Enrolment.model_validate(
        {
            **{k: v for k, v in data.items() if not k.startswith("payer_")},
            "agreed_price": wallets.decimal(data["agreed_price"]),
            "paid": wallets.decimal(paid),
            "balance_due": wallets.decimal(int(data["agreed_price"]) - paid),
            "payer": receivables.payer_shown(data),
        }
    )


def _require(principal: Principal) -> None:
    if principal.role not in ENROLLERS:
        raise ForbiddenError("Your role does not enrol learners.", code="ROLE_FORBIDDEN")


def enrol(principal: Principal, cohort_id: str, request: EnrolmentRequest) -> Enrolment:
    _require(principal)
    cohort = _load_cohort(principal.tenant, cohort_id)
    lead = leads.require_live(leads.visible_lead(principal, request.lead_id))
    if cohort["status"] != "open":
        raise ConflictError("The cohort is not open for enrolment.", code="COHORT_NOT_OPEN")
    options = {o["name"]: int(o["count"]) for o in cohort["instalment_options"]}
    instalments = request.instalments or next(iter(options))
    if instalments not in options:
        raise _invalid("instalments", f"not an option of this cohort; use one of {', '.join(options)}")
    price = request.agreed_price if request.agreed_price is not None else wallets.decimal(cohort["price"])
    data: EnrolmentRecord = {
        "id": f"{cohort_id}-{lead.id}",
        "cohort_id": cohort_id,
        "programme_id": cohort["programme_id"],
        "lead_id": lead.id,
        "lead_name": lead.name,
        "status": "pending",
        "agreed_price": wallets.units(price),
        "instalments": instalments,
        "instalment_count": options[instalments],
        "notify_before_minutes": request.notify_before_minutes,
        "note": request.note,
        "created_by": principal.user_id,
        "created_by_name": principal.display_name,
        "created_at": clock.iso(clock.now()),
        "version": 0,
    }
    payer = receivables.payer_fields(request.payer, get_tenant(principal.tenant).phone_region)
    data["payer_name"], data["payer_phone"] = payer["payer_name"], payer["payer_phone"]
    data["payer_relation"] = payer["payer_relation"]
    programmes_db.create_enrolment(principal.tenant, data)
    return _enrolment_out(data)


def _load_enrolment(principal: Principal, enrolment_id: str) -> EnrolmentRecord:
    cohort_id, _, lead_id = enrolment_id.partition("-")
    leads.visible_lead(principal, lead_id)  # 404 for a lead you may not see
    data = programmes_db.get_enrolment(principal.tenant, cohort_id, lead_id) if cohort_id and lead_id else None
    if data is None:
        raise _enrolment_not_found()
    return data


def list_enrolments(principal: Principal, cohort_id: str, query: PageQuery) -> Page[Enrolment]:
    """A cohort's enrolments, of the leads the caller may see (its teacher sees them all)."""
    cohort = _load_cohort(principal.tenant, cohort_id)
    items, cursor = programmes_db.list_enrolments(
        principal.tenant,
        cohort_id,
        status=None,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:enrolments:{cohort_id}",
    )
    if cohort.get("teacher_id") != principal.user_id and principal.role is not Role.admin:
        found = {lead.id: lead for lead in leads_db.batch_get(principal.tenant, [e["lead_id"] for e in items])}
        items = [e for e in items if e["lead_id"] in found and leads.can_see(principal, found[e["lead_id"]])]
    return Page[Enrolment](items=[_enrolment_out(e) for e in items], next_cursor=cursor)


def _decide(principal: Principal, enrolment_id: str, status: str) -> tuple[EnrolmentRecord, EnrolmentRecord]:
    """Moves an enrolment to `status` (read, decide, conditional write; again if it lost a
    race). Returns (before, after); before is after when nothing had to change."""
    _require(principal)
    zone = _zone(principal.tenant)

    def attempt() -> tuple[EnrolmentRecord, EnrolmentRecord]:
        before = _load_enrolment(principal, enrolment_id)
        if before["status"] == status:
            return before, before
        if before["status"] == "declined" and status == "pending":
            raise ConflictError("A declined enrolment cannot go back to pending.", code="ENROLMENT_DECIDED")
        after: EnrolmentRecord = {
            **before,
            "status": status,
            "decided_by": principal.user_id,
            "decided_at": clock.iso(clock.now()),
        }
        after["version"] = int(before.get("version") or 0) + 1
        made: list[tuple[ReceivableRecord, str]] = []
        changed: list[ReceivableRecord] = []
        if status == "confirmed":
            cohort = _load_cohort(principal.tenant, before["cohort_id"], consistent=True)
            _check_seat(cohort)
            after["reminder_message_id"], after["reminder_at"] = _reminder_plan(cohort, after, zone)
            made = receivables.for_enrolment(
                principal.tenant, cohort, after, _consultant_of(principal, after), _today(zone)
            )
        else:  # declined: what it still owed is owed no more
            changed = receivables.cancelled(
                r
                for r in receivables_db.of_enrolment(principal.tenant, before["cohort_id"], before["lead_id"])
                if r["status"] == "open"
            )
        programmes_db.move_enrolment(principal.tenant, before, after, made, changed)
        return before, after

    def on_conflict(exc: transactions.TransactionConflict) -> None:
        if "cohort" in exc.failed:
            _check_seat(_load_cohort(principal.tenant, enrolment_id.partition("-")[0], consistent=True))

    busy = ConflictError("The cohort kept changing; try again.", code="EDIT_CONFLICT")
    return retry.until_written(attempt, tries=TRIES, give_up=busy, on_conflict=on_conflict)


def _consultant_of(principal: Principal, enrolment: EnrolmentRecord) -> tuple[str, str]:
    """Whom an enrolment's receivables name: the learner's consultant (its owner), else who confirms."""
    lead = leads_db.get(principal.tenant, enrolment["lead_id"])
    if lead is not None and lead.owner_id:
        owner = users_db.get(principal.tenant, lead.owner_id)
        if owner is not None:
            return owner.id, owner.display_name
    return principal.user_id, principal.display_name


def _check_seat(cohort: CohortRecord) -> None:
    if cohort["status"] != "open":
        raise ConflictError("The cohort is not open for enrolment.", code="COHORT_NOT_OPEN")
    if int(cohort["confirmed"]) >= int(cohort["seats"]):
        raise ConflictError("No seats left in this cohort.", code="COHORT_FULL")


def confirm(principal: Principal, enrolment_id: str) -> Enrolment:
    """Takes a seat. Confirming again changes nothing (and makes sure the reminder exists)."""
    _, after = _decide(principal, enrolment_id, "confirmed")
    if after.get("reminder_message_id"):
        cohort = _load_cohort(principal.tenant, after["cohort_id"], consistent=True)  # a cancel just now counts
        if cohort["status"] != "cancelled":
            _send_reminder(principal.tenant, cohort, after)
            latest = _load_enrolment(principal, enrolment_id)
            if latest.get("reminder_message_id") != after["reminder_message_id"] or latest["status"] != "confirmed":
                _cancel_reminder(principal.tenant, after, "enrolment changed")  # declined meanwhile
    return _enrolment_out(after)


def decline(principal: Principal, enrolment_id: str) -> Enrolment:
    """Declines (a confirmed one gives its seat back) and stops its reminder."""
    _, after = _decide(principal, enrolment_id, "declined")
    _cancel_reminder(principal.tenant, after, "enrolment declined")
    return _enrolment_out(after)
