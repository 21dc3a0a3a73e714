"""Payments towards a confirmed enrolment's agreed price (报名收款), covering its receivables
in order (chalicelib/domain/receivables.py)."""

from __future__ import annotations

from chalicelib.db import programmes as programmes_db
from chalicelib.db import receivables as receivables_db
from chalicelib.db.programmes import CohortRecord, EnrolmentRecord
from chalicelib.domain import clock, idempotency, ids, receivables, retry, roles, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.programmes.common import TRIES, _invalid, _today, _zone
from chalicelib.domain.programmes.enrolments import _enrolment_not_found, _enrolment_out
from chalicelib.errors import ConflictError, ForbiddenError
from chalicelib.schemas.cards import PaymentRequest
from chalicelib.schemas.programmes import Enrolment
from chalicelib.schemas.users import Role


def pay_enrolment(principal: Principal, enrolment_id: str, request: PaymentRequest, key: str | None) -> Enrolment:
    """A payment towards a confirmed enrolment's agreed price (finance, managers, admins):
    the enrolment's `paid` (under its version), the payment and the receivables it covers,
    one transaction. Idempotency-Key honoured, as for contracts."""
    if principal.role not in roles.CASHIERS:
        raise ForbiddenError("Only finance, managers and admins record payments.", code="ROLE_FORBIDDEN")
    print_ = idempotency.fingerprint("enrolment-payment", enrolment_id, request.model_dump(mode="json"))
    return idempotency.once(
        principal.tenant, key, print_, Enrolment, lambda guard: _pay_enrolment(principal, enrolment_id, request, guard)
    )


def _pay_enrolment(
    principal: Principal, enrolment_id: str, request: PaymentRequest, guard: idempotency.Guard
) -> Enrolment:
    today = _today(_zone(principal.tenant))
    paid_on = request.paid_on or today
    if paid_on > today:
        raise _invalid("paid_on", "must not be in the future")
    amount = wallets.units(request.amount)

    def attempt() -> Enrolment:
        # the cashier's campuses decide, not whose lead it is: finance for the whole school
        # sees every receivable (GET /receivables) and so may take its payment
        cohort_id, _, lead_id = enrolment_id.partition("-")
        found = programmes_db.get_enrolment(principal.tenant, cohort_id, lead_id) if cohort_id and lead_id else None
        cohort = programmes_db.get_cohort(principal.tenant, cohort_id) if found else None
        if (
            found is None
            or cohort is None
            or (principal.role is not Role.admin and not _cashier_campus(principal, cohort))
        ):
            raise _enrolment_not_found()
        data: EnrolmentRecord = found
        if data["status"] != "confirmed":
            raise ConflictError("Only a confirmed enrolment takes payments.", code="ENROLMENT_NOT_CONFIRMED")
        due = int(data["agreed_price"]) - int(data.get("paid") or 0)
        if amount > due:
            raise ConflictError(
                f"That is more than the {wallets.decimal(due)} still due.",
                code="OVERPAYMENT",
                details=[{"field": "amount", "message": f"at most {wallets.decimal(due)}"}],
            )
        total = int(data.get("paid") or 0) + amount
        changed = receivables.cover(
            receivables_db.of_enrolment(principal.tenant, data["cohort_id"], data["lead_id"]),
            total,
            paid_on.isoformat(),
        )
        now = clock.now()
        payment = {
            "id": ids.new_id(),
            "enrolment_id": enrolment_id,
            "campus_id": cohort["campus_id"],
            "amount": amount,
            "method": request.method,
            "paid_on": paid_on.isoformat(),
            "note": request.note,
            "by": principal.user_id,
            "by_name": principal.display_name,
            "at": clock.iso(now),
        }
        after: EnrolmentRecord = {**data, "paid": total, "version": int(data.get("version") or 0) + 1}
        result = _enrolment_out(after)
        programmes_db.record_enrolment_payment(
            principal.tenant, data, total, payment, changed, claim=guard.claim(result, 201)
        )
        return result

    busy = ConflictError("The enrolment kept changing; try again.", code="EDIT_CONFLICT")
    return retry.until_written(attempt, tries=TRIES, give_up=busy, on_conflict=guard.on_conflict)


def _cashier_campus(principal: Principal, cohort: CohortRecord) -> bool:
    whole_school = principal.role is Role.admin or (principal.role is Role.finance and not principal.campus_ids)
    return whole_school or cohort["campus_id"] in principal.campus_ids
