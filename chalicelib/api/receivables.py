"""Receivables (应收/欠费): what families owe by due date, and payments towards an enrolment."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.cards import PaymentRequest
from chalicelib.schemas.common import Page
from chalicelib.schemas.programmes import Enrolment
from chalicelib.schemas.receivables import Receivable, ReceivableQuery

bp = Blueprint(__name__)
TAGS = ["receivables"]


@endpoint(
    bp,
    "GET",
    "/receivables",
    summary="Amounts owed (应收/欠费) by due date: due, overdue or paid; by campus or consultant",
    tags=TAGS,
    roles_allowed=roles.READ_RECEIVABLES,
    query=ReceivableQuery,
    response=Page[Receivable],
    reads_customers=True,
)
def list_receivables(call: Call[None, ReceivableQuery]) -> Page[Receivable]:
    from chalicelib.domain import receivables

    return receivables.list_receivables(call.principal, call.query)


@endpoint(
    bp,
    "POST",
    "/enrolments/{enrolment_id}/payments",
    summary="Record a payment towards a confirmed enrolment's agreed price (Idempotency-Key honoured)",
    tags=TAGS,
    roles_allowed=roles.CASHIERS,
    body=PaymentRequest,
    response=Enrolment,
    status=201,
    honours_headers=["Idempotency-Key"],
)
def pay_enrolment(call: Call[PaymentRequest, None]) -> Enrolment:
    from chalicelib.domain import programmes

    key = call.headers.get("idempotency-key")
    return programmes.pay_enrolment(call.principal, call.params["enrolment_id"], call.body, key)
