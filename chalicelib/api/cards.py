"""Contracts, payments and refunds; membership cards, movements, check-in and lifecycle.

Money-moving POSTs honour an `Idempotency-Key` header: sent again with the same key, the
request is applied once and answers the same.
"""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.schemas.cards import (
    Card,
    CardContractRequest,
    CardListQuery,
    CardOpenRequest,
    CardPatchRequest,
    CheckInRequest,
    CheckInResult,
    Contract,
    ContractCreateRequest,
    ContractDetail,
    FreezeRequest,
    LedgerQuery,
    Movement,
    MovementRequest,
    Payment,
    PaymentRequest,
    PaymentResult,
    PeriodQuery,
    RefundRequest,
    ReissueRequest,
    SubCardRequest,
    VoidRequest,
)
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.leads import HistoryEntry

bp = Blueprint(__name__)
CONTRACTS = ["contracts"]
CARDS = ["cards"]
IDEMPOTENT = ["Idempotency-Key"]  # the request header these routes honour (the OpenAPI document lists it)


def _key(call: Call) -> str | None:
    return call.headers.get("idempotency-key")


# --- contracts ---------------------------------------------------------------------


@endpoint(
    bp,
    "POST",
    "/contracts",
    summary="Sign a contract (签约) for one or more learners",
    tags=CONTRACTS,
    body=ContractCreateRequest,
    response=Contract,
    status=201,
)
def create_contract(call: Call[ContractCreateRequest, None]) -> Contract:
    from chalicelib.domain import contracts

    return contracts.sign(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/contracts",
    summary="Contracts signed in a period (finance, managers, admins)",
    tags=CONTRACTS,
    query=PeriodQuery,
    response=Page[Contract],
    reads_customers=True,
)
def list_contracts(call: Call[None, PeriodQuery]) -> Page[Contract]:
    from chalicelib.domain import contracts

    return contracts.list_contracts(call.principal, call.query)


@endpoint(
    bp,
    "GET",
    "/contracts/{contract_id}",
    summary="A contract with its payments and refunds",
    tags=CONTRACTS,
    response=ContractDetail,
    reads_customers=True,
)
def get_contract(call: Call[None, None]) -> ContractDetail:
    from chalicelib.domain import contracts

    return contracts.get_contract(call.principal, call.params["contract_id"])


@endpoint(
    bp,
    "POST",
    "/contracts/{contract_id}/payments",
    summary="Record a payment (Idempotency-Key honoured)",
    tags=CONTRACTS,
    body=PaymentRequest,
    response=PaymentResult,
    status=201,
    honours_headers=IDEMPOTENT,
)
def pay_contract(call: Call[PaymentRequest, None]) -> PaymentResult:
    from chalicelib.domain import contracts

    return contracts.pay(call.principal, call.params["contract_id"], call.body, _key(call))


@endpoint(
    bp,
    "POST",
    "/contracts/{contract_id}/refunds",
    summary="Refund money and claw back unused credits (Idempotency-Key honoured)",
    tags=CONTRACTS,
    body=RefundRequest,
    response=PaymentResult,
    status=201,
    honours_headers=IDEMPOTENT,
)
def refund_contract(call: Call[RefundRequest, None]) -> PaymentResult:
    from chalicelib.domain import contracts

    return contracts.refund(call.principal, call.params["contract_id"], call.body, _key(call))


@endpoint(
    bp,
    "POST",
    "/contracts/{contract_id}/void",
    summary="Void a contract nothing was paid or used on",
    tags=CONTRACTS,
    body=VoidRequest,
    response=Contract,
)
def void_contract(call: Call[VoidRequest, None]) -> Contract:
    from chalicelib.domain import contracts

    return contracts.void(call.principal, call.params["contract_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/leads/{lead_id}/contracts",
    summary="A member's contracts, newest first",
    tags=CONTRACTS,
    response=Page[Contract],
    reads_customers=True,
)
def lead_contracts(call: Call[None, None]) -> Page[Contract]:
    from chalicelib.domain import contracts

    return contracts.contracts_of(call.principal, call.params["lead_id"])


@endpoint(
    bp,
    "GET",
    "/payments",
    summary="Payments and refunds by date (finance, managers, admins)",
    tags=CONTRACTS,
    query=PeriodQuery,
    response=Page[Payment],
)
def list_payments(call: Call[None, PeriodQuery]) -> Page[Payment]:
    from chalicelib.domain import contracts

    return contracts.list_payments(call.principal, call.query)


# --- cards -------------------------------------------------------------------------


@endpoint(
    bp,
    "POST",
    "/cards",
    summary="Open a card (会员卡) with contracts' credits",
    tags=CARDS,
    body=CardOpenRequest,
    response=Card,
    status=201,
)
def open_card(call: Call[CardOpenRequest, None]) -> Card:
    from chalicelib.domain import cards

    return cards.open_card(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/cards",
    summary="Find a card by number, or a learner's cards",
    tags=CARDS,
    query=CardListQuery,
    response=Page[Card],
    reads_customers=True,
)
def find_cards(call: Call[None, CardListQuery]) -> Page[Card]:
    from chalicelib.domain import cards

    return cards.find_cards(call.principal, call.query)


@endpoint(
    bp,
    "GET",
    "/cards/{card_id}",
    summary="Balances and status (会员卡资费查询)",
    tags=CARDS,
    response=Card,
    reads_customers=True,
)
def get_card(call: Call[None, None]) -> Card:
    from chalicelib.domain import cards

    return cards.get_card(call.principal, call.params["card_id"])


@endpoint(
    bp,
    "PATCH",
    "/cards/{card_id}",
    summary="Change the holder's contact details",
    tags=CARDS,
    body=CardPatchRequest,
    response=Card,
)
def patch_card(call: Call[CardPatchRequest, None]) -> Card:
    from chalicelib.domain import cards

    return cards.patch_holder(call.principal, call.params["card_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/cards/{card_id}/ledger",
    summary="Movements (消费记录), newest first",
    tags=CARDS,
    query=LedgerQuery,
    response=Page[Movement],
    reads_customers=True,
)
def card_ledger(call: Call[None, LedgerQuery]) -> Page[Movement]:
    from chalicelib.domain import cards

    call.records = 1  # one member's movements, however many
    return cards.ledger(call.principal, call.params["card_id"], call.query)


@endpoint(
    bp,
    "GET",
    "/cards/{card_id}/history",
    summary="Lifecycle changes, newest first",
    tags=CARDS,
    query=PageQuery,
    response=Page[HistoryEntry],
)
def card_history(call: Call[None, PageQuery]) -> Page[HistoryEntry]:
    from chalicelib.domain import cards

    return cards.history(call.principal, call.params["card_id"], call.query)


@endpoint(
    bp,
    "POST",
    "/cards/{card_id}/movements",
    summary="Deduct, purchase, top up, exchange, pay an event, adjust (Idempotency-Key honoured)",
    tags=CARDS,
    body=MovementRequest,
    response=Movement,
    status=201,
    honours_headers=IDEMPOTENT,
)
def card_movement(call: Call[MovementRequest, None]) -> Movement:
    from chalicelib.domain import cards

    return cards.move(call.principal, call.params["card_id"], call.body, _key(call))


@endpoint(
    bp,
    "POST",
    "/cards/{card_id}/contracts",
    summary="Put a contract's credits on the card (Idempotency-Key honoured)",
    tags=CARDS,
    body=CardContractRequest,
    response=Movement,
    status=201,
    honours_headers=IDEMPOTENT,
)
def card_add_contract(call: Call[CardContractRequest, None]) -> Movement:
    from chalicelib.domain import cards

    return cards.add_contract(call.principal, call.params["card_id"], call.body, _key(call))


@endpoint(
    bp,
    "POST",
    "/cards/{card_id}/sub-cards",
    summary="Open a sub-card (附属卡), shared or with its own share of credits",
    tags=CARDS,
    body=SubCardRequest,
    response=Card,
    status=201,
)
def open_sub_card(call: Call[SubCardRequest, None]) -> Card:
    from chalicelib.domain import cards

    return cards.open_sub_card(call.principal, call.params["card_id"], call.body)


@endpoint(
    bp,
    "POST",
    "/cards/{card_id}/report-lost",
    summary="Report the card lost (挂失); it refuses movements",
    tags=CARDS,
    response=Card,
)
def report_lost(call: Call[None, None]) -> Card:
    from chalicelib.domain import cards

    return cards.report_lost(call.principal, call.params["card_id"])


@endpoint(
    bp,
    "POST",
    "/cards/{card_id}/reissue",
    summary="Reissue (补办): a new number with the balances; the old number is dead",
    tags=CARDS,
    body=ReissueRequest,
    response=Card,
    status=201,
)
def reissue_card(call: Call[ReissueRequest, None]) -> Card:
    from chalicelib.domain import cards

    return cards.reissue(call.principal, call.params["card_id"], call.body)


@endpoint(
    bp,
    "POST",
    "/cards/{card_id}/freeze",
    summary="Freeze (冻结) with a reason and an optional last day",
    tags=CARDS,
    body=FreezeRequest,
    response=Card,
)
def freeze_card(call: Call[FreezeRequest, None]) -> Card:
    from chalicelib.domain import cards

    return cards.freeze(call.principal, call.params["card_id"], call.body)


@endpoint(
    bp,
    "POST",
    "/cards/{card_id}/unfreeze",
    summary="Unfreeze; validity extended by the days frozen (a setting)",
    tags=CARDS,
    response=Card,
)
def unfreeze_card(call: Call[None, None]) -> Card:
    from chalicelib.domain import cards

    return cards.unfreeze(call.principal, call.params["card_id"])


@endpoint(
    bp,
    "POST",
    "/sessions/{session_id}/check-ins",
    summary="Check a member into a class: a seat and the lesson's credits",
    tags=CARDS,
    body=CheckInRequest,
    response=CheckInResult,
    status=201,
    honours_headers=IDEMPOTENT,
)
def check_in(call: Call[CheckInRequest, None]) -> CheckInResult:
    from chalicelib.domain import cards

    return cards.check_in(call.principal, call.params["session_id"], call.body, _key(call))
