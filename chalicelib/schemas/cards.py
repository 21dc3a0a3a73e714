"""Contracts (合同), payments and refunds; membership cards (会员卡), movements and the ledger.

Money and lesson credits are decimal strings with at most two places, never floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from chalicelib.schemas.common import DecimalString, Entity, PageQuery, StrictModel, decimal_string
from chalicelib.schemas.receivables import Payer, PayerShown


def _no_float(value: object) -> object:
    """JSON numbers with a fraction arrive as binary floats, already inexact: refuse them."""
    if isinstance(value, float):
        raise ValueError('send amounts as decimal strings, e.g. "9600.00"')
    return value


Exact = BeforeValidator(_no_float)
ID = Annotated[str, Field(min_length=1, max_length=64)]
# decimal strings in both directions and in the OpenAPI document (docs/api-contract.md)
Money = Annotated[
    Decimal,
    *decimal_string(r"^\d{1,8}(\.\d{1,2})?$"),
    Field(ge=0, le=Decimal("99999999.99"), decimal_places=2, examples=["9600.00"]),
]
Credits = Annotated[
    Decimal, *decimal_string(r"^\d{1,6}(\.\d{1,2})?$", "48"), Field(ge=0, le=100000, decimal_places=2, examples=["48"])
]
Signed = Annotated[
    Decimal,
    *decimal_string(r"^-?\d{1,8}(\.\d{1,2})?$", "-48.00"),
    Field(ge=Decimal("-99999999.99"), le=Decimal("99999999.99"), decimal_places=2),
]
CardNumber = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{4,32}$", examples=["8800012345"])]
Day = date  # a calendar date in the school's time zone

PAYMENT_METHODS = Literal["cash", "bank_card", "wechat", "alipay", "transfer", "other"]
CONTRACT_STATUSES = Literal["unpaid", "partly_paid", "paid", "partly_refunded", "refunded", "expired", "void"]
CARD_STATUSES = Literal["active", "lost", "frozen", "replaced"]
MOVEMENT_KINDS = Literal[
    "contract_credit",
    "deduction",
    "attendance",
    "purchase",
    "event_fee",
    "top_up",
    "exchange",
    "refund",
    "adjustment",
    "expiry",
    "share",
    "reissue",
]


# --- contracts ---------------------------------------------------------------------


class Instalment(StrictModel):
    due_on: Day
    amount: Money


class ContractCreateRequest(StrictModel):
    lead_ids: list[ID] = Field(min_length=1, max_length=6, description="The learners signed (twins, siblings, 拼课)")
    course_ids: list[ID] = Field(default_factory=list, max_length=20)
    credits: Credits = Field(description="Lesson credits bought (课时)")
    gift_credits: Credits = Field(default=Decimal(0), description="Free credits (赠送课时)")
    price: Money
    discount: Money = Decimal(0)
    starts_on: Day
    ends_on: Day
    instalments: list[Instalment] = Field(
        default_factory=list, max_length=24, description="Payment plan; its amounts add up to price − discount"
    )
    signed_by: ID | None = Field(default=None, description="The consultant who signed it; default: you")
    note: str | None = Field(default=None, max_length=1000)
    payer: Payer | None = Field(default=None, description="代报名: who pays, when not a guardian of the learner")

    @model_validator(mode="after")
    def _consistent(self) -> ContractCreateRequest:
        if len(set(self.lead_ids)) != len(self.lead_ids):
            raise ValueError("lead_ids: a learner is listed twice")
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on: before starts_on")
        if self.discount > self.price:
            raise ValueError("discount: more than the price")
        if self.credits + self.gift_credits <= 0:
            raise ValueError("credits: a contract needs lesson credits")
        if self.instalments and sum(i.amount for i in self.instalments) != self.price - self.discount:
            raise ValueError("instalments: the amounts must add up to price − discount")
        return self


class Contract(Entity):
    id: str
    lead_ids: list[str]
    lead_names: list[str]
    campus_id: str
    course_ids: list[str]
    credits: DecimalString
    gift_credits: DecimalString
    price: DecimalString
    discount: DecimalString
    net_price: DecimalString
    starts_on: date
    ends_on: date
    instalments: list[Instalment]
    next_instalment: Instalment | None = Field(default=None, description="The first instalment not yet covered")
    signed_by: str
    signed_by_name: str
    signed_at: datetime
    signed_on: date
    paid: DecimalString
    refunded: DecimalString
    balance_due: DecimalString
    clawed_back: DecimalString = Field(description="Credits taken back by refunds")
    unallocated_credits: DecimalString = Field(description="Credits not yet on any card")
    card_ids: list[str]
    conversions: dict[str, int] = Field(
        default_factory=dict, description="Learner → days from lead to signing (转化周期)"
    )
    status: CONTRACT_STATUSES
    note: str | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None
    payer: PayerShown | None = Field(default=None, description="代报名: who pays (payment reminders go to them)")


class PaymentRequest(StrictModel):
    amount: Money = Field(gt=0)
    method: PAYMENT_METHODS
    paid_on: Day | None = Field(default=None, description="Default: today")
    note: str | None = Field(default=None, max_length=500)


class RefundRequest(StrictModel):
    amount: Money = Field(description="Money returned (may be 0 for a credits-only clawback)")
    reason: str = Field(min_length=1, max_length=500)
    credits: Credits | None = Field(default=None, description="Credits clawed back; default: every unused one")
    method: PAYMENT_METHODS | None = None
    refunded_on: Day | None = None


class VoidRequest(StrictModel):
    reason: str = Field(min_length=1, max_length=500)


class Payment(Entity):
    id: str
    contract_id: str
    campus_id: str
    kind: Literal["payment", "refund"]
    amount: DecimalString
    method: str | None = None
    paid_on: date
    credits: DecimalString = Decimal(0)
    reason: str | None = None
    note: str | None = None
    by: str
    by_name: str
    at: datetime


class PaymentResult(Entity):
    payment: Payment
    contract: Contract


class ContractDetail(Contract):
    payments: list[Payment] = Field(default_factory=list, description="Payments and refunds, oldest first")


class PeriodQuery(PageQuery):
    from_: Day = Field(alias="from")
    to: Day
    campus: ID | None = None

    @model_validator(mode="after")
    def _range(self) -> PeriodQuery:
        if (self.to - self.from_).days > 366:  # a backwards range is StrictModel's refusal
            raise ValueError("to: at most a year after from")
        return self


# --- cards -------------------------------------------------------------------------


class CardOpenRequest(StrictModel):
    holder_lead_id: ID
    number: CardNumber | None = Field(default=None, description="Printed card number; default: one is issued")
    contract_ids: list[ID] = Field(default_factory=list, max_length=10)
    credits: dict[str, Credits] | None = Field(
        default=None, description="Credits to put on the card per contract; default: all not yet allocated"
    )
    holder_phone: str | None = Field(default=None, max_length=40)
    holder_note: str | None = Field(default=None, max_length=500)


class CardContractRequest(StrictModel):
    contract_id: ID
    credits: Credits | None = Field(default=None, description="Default: all of the contract's unallocated credits")


class SubCardRequest(StrictModel):
    holder_lead_id: ID
    shared: bool = Field(description="true: spends the primary's wallets; false: holds its own share of credits")
    credits: Credits | None = Field(default=None, description="Unshared sub-cards: credits moved from the primary")
    number: CardNumber | None = None

    @model_validator(mode="after")
    def _share(self) -> SubCardRequest:
        if self.shared and self.credits:
            raise ValueError("credits: a shared sub-card spends the primary's credits; give none")
        if not self.shared and not self.credits:
            raise ValueError("credits: an unshared sub-card needs its share of credits")
        return self


class CardPatchRequest(StrictModel):
    holder_phone: str | None = Field(default=None, max_length=40)
    holder_note: str | None = Field(default=None, max_length=500)


class FreezeRequest(StrictModel):
    reason: str = Field(min_length=1, max_length=500)
    until: Day | None = Field(default=None, description="Last frozen day; the card thaws by itself after it")


class ReissueRequest(StrictModel):
    number: CardNumber | None = Field(default=None, description="The new card's number; default: one is issued")
    reason: str | None = Field(default=None, max_length=500)


class Lot(Entity):
    contract_id: str = Field(description="The contract the credits came from, or `manual` for adjustments")
    credits: DecimalString
    starts_on: date | None = None
    ends_on: date | None = None
    usable: bool


class Card(Entity):
    id: str
    number: str
    holder_lead_id: str
    holder_name: str
    campus_id: str
    status: CARD_STATUSES = Field(description="Frozen cards past their end date show as active")
    credits: DecimalString = Field(description="Every credit on the card")
    usable_credits: DecimalString = Field(description="Credits of contracts in force today")
    cash: DecimalString
    lots: list[Lot] = Field(description="Credits per contract, in the order deductions take them")
    primary_card_id: str | None = None
    shared: bool | None = None
    sub_card_ids: list[str] = Field(default_factory=list)
    holder_phone: str | None = None
    holder_note: str | None = None
    frozen_reason: str | None = None
    frozen_on: date | None = None
    frozen_until: date | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    created_at: datetime
    updated_at: datetime


class CardListQuery(PageQuery):
    number: CardNumber | None = None
    lead_id: ID | None = None

    @model_validator(mode="after")
    def _one(self) -> CardListQuery:
        if (self.number is None) == (self.lead_id is None):
            raise ValueError("number: give a card number or a lead_id")
        return self


class MovementRequest(StrictModel):
    kind: Literal["deduction", "purchase", "top_up", "exchange", "adjustment", "event_fee"]
    credits: Signed | None = Field(
        default=None, description="deduction, exchange: credits to take; adjustment: signed change"
    )
    amount: Signed | None = Field(default=None, description="purchase, top_up: cash; adjustment: signed change")
    reason: str | None = Field(default=None, max_length=500, description="Required for adjustments")
    contract_id: ID | None = Field(default=None, description="adjustment: the contract whose credits change")
    event_id: ID | None = Field(default=None, description="event_fee: the paid event")
    pay_with: Literal["credits", "cash"] | None = Field(default=None, description="event_fee: which wallet pays")
    method: PAYMENT_METHODS | None = Field(default=None, description="top_up: how the money came in")
    lead_id: ID | None = Field(
        default=None,
        description="The learner using the card (default: its holder): its holder, or on a primary card the learner"
        " of one of its shared sub-cards; anyone else is 400 LEARNER_NOT_ON_CARD, an unknown lead 404",
    )

    @model_validator(mode="after")
    def _fields(self) -> MovementRequest:
        need = {"deduction": "credits", "exchange": "credits", "purchase": "amount", "top_up": "amount"}
        field = need.get(self.kind)
        if field and (getattr(self, field) is None or getattr(self, field) <= 0):
            raise ValueError(f"{field}: a positive {field} is required for {self.kind}")
        if self.kind == "adjustment":
            if not self.reason:
                raise ValueError("reason: an adjustment needs a reason")
            if not (self.credits or self.amount):
                raise ValueError("credits: an adjustment changes credits or amount")
        if self.kind == "event_fee" and not self.event_id:
            raise ValueError("event_id: which event is paid")
        if self.kind == "top_up" and not self.method:
            raise ValueError("method: how was the money paid")
        return self


class Movement(Entity):
    id: str
    card_id: str = Field(description="The card whose wallets moved")
    kind: MOVEMENT_KINDS
    credits: DecimalString = Field(description="Signed change of the credit wallet")
    amount: DecimalString = Field(description="Signed change of the cash wallet")
    lots: dict[str, DecimalString] = Field(
        default_factory=dict, description="Contract → credits taken (−) or given (+)"
    )
    at: datetime
    by: str | None = None
    by_name: str | None = None
    reason: str | None = None
    lead_id: str | None = None
    used_card_id: str | None = Field(default=None, description="The shared sub-card that spent this wallet")
    contract_id: str | None = None
    session_id: str | None = None
    event_id: str | None = None
    method: str | None = None
    idempotency_key: str | None = None


class LedgerQuery(PageQuery):
    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    kind: MOVEMENT_KINDS | None = None


class CheckInRequest(StrictModel):
    lead_id: ID
    card_id: ID | None = Field(default=None, description="Default: the learner's only usable card")


class CheckInResult(Entity):
    session_id: str
    lead_id: str
    movement: Movement
