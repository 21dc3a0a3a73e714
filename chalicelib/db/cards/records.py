"""The records the cards package reads: a card, a ledger entry, a contract, a payment, a
history entry, each exactly as `convert.values` makes it of its item (chalicelib/db/items/).

They are `TypedDict`s, not pydantic models: at run time a record stays the plain dict it
always was (its JSON, `.get`, `**` unpacking and equality are unchanged, and the domain
builds and merges cards and entries as dicts), while mypy checks every key the domain
reads against what storage gives.

What a record holds, read back from DynamoDB: an attribute with a default (`credits`,
`lots`, `course_ids`, ...) is always there (pynamodb sets defaults on reading); a
`null=True` attribute is absent when it was written as None (never None itself: None is not
stored), so it is `NotRequired`; every other attribute was required on saving. Amounts are
whole hundredths (ints); the key and index attributes, `kind` and a contract's `version`
(returned beside it) are not in a record.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict, cast

from chalicelib.db.convert import values
from chalicelib.db.items import CardItem, ContractItem, LedgerItem, PaymentItem


class LotRecord(TypedDict):
    """A card's credits of one contract (or `manual`), in `CardRecord.lots`. A manual lot
    has no dates; lots written before courses were kept have no `courses`."""

    units: int
    starts_on: NotRequired[str]
    ends_on: NotRequired[str]
    courses: NotRequired[list[str]]


class CardRecord(TypedDict):
    """A card (`CardItem`)."""

    id: str
    number: str
    holder_lead_id: str
    holder_name: str
    campus_id: str
    status: str  # active | lost | frozen | replaced
    credits: int
    cash: int
    lots: dict[str, LotRecord]  # contract id -> lot
    sub_cards: dict[str, str]  # sub-card id -> holder lead id
    primary_card_id: NotRequired[str]
    shared: NotRequired[bool]
    holder_phone: NotRequired[str]
    holder_note: NotRequired[str]
    frozen_reason: NotRequired[str]
    frozen_on: NotRequired[str]
    frozen_until: NotRequired[str]
    replaced_by: NotRequired[str]
    replaces: NotRequired[str]
    created_by: str
    created_at: str
    updated_at: str


class LedgerRecord(TypedDict):
    """One movement of a card's wallets (`LedgerItem`)."""

    id: str
    card_id: str
    movement: str
    credits: int  # signed hundredths
    amount: int  # signed fen
    lots: dict[str, int]  # contract id -> signed hundredths
    at: str
    by: NotRequired[str]
    by_name: NotRequired[str]
    reason: NotRequired[str]
    lead_id: NotRequired[str]
    used_card_id: NotRequired[str]
    contract_id: NotRequired[str]
    session_id: NotRequired[str]
    event_id: NotRequired[str]
    method: NotRequired[str]
    idempotency_key: NotRequired[str]


class InstalmentRecord(TypedDict):
    """One instalment of a contract's price."""

    due_on: str
    amount: int  # fen


class ContractRecord(TypedDict):
    """A contract (`ContractItem`) without its `version`."""

    id: str
    lead_ids: list[str]
    lead_names: list[str]
    campus_id: str
    course_ids: list[str]
    credits: int
    gift_credits: int
    price: int
    discount: int
    starts_on: str
    ends_on: str
    instalments: list[InstalmentRecord]
    signed_by: str
    signed_by_name: str
    signed_at: str
    signed_on: str
    paid: int
    refunded: int
    clawed_back: int
    unallocated: int
    card_ids: list[str]
    conversions: dict[str, int]  # lead id -> days from lead to first contract
    referrers: NotRequired[dict[str, str]]  # a referred learner's id -> `<campus>|<referrer>` (keys.referrer_dimension)
    note: NotRequired[str]
    voided_at: NotRequired[str]
    void_reason: NotRequired[str]
    payer_name: NotRequired[str]  # 代报名: who pays, when not a guardian of the learner
    payer_phone: NotRequired[str]  # E.164
    payer_relation: NotRequired[str]


class PaymentRecord(TypedDict):
    """A payment or a refund of a contract (`PaymentItem`)."""

    id: str
    contract_id: str
    campus_id: str
    payment_kind: str  # payment | refund
    amount: int
    method: NotRequired[str]
    paid_on: str
    credits: int
    reason: NotRequired[str]
    note: NotRequired[str]
    by: str
    by_name: str
    at: str


class HistoryRecord(TypedDict):
    """A card's history entry (`LeadHistoryItem` in the card's partition)."""

    at: str
    by: NotRequired[str]
    action: str
    details: dict[str, Any]


# `values` is untyped (any item); these name what it gives for each item class.


def card_record(item: CardItem) -> CardRecord:
    return cast(CardRecord, values(item))


def ledger_record(item: LedgerItem) -> LedgerRecord:
    return cast(LedgerRecord, values(item))


def contract_record(item: ContractItem) -> ContractRecord:
    """The contract's values less `version` (the caller reads it from the item)."""
    data = values(item)
    data.pop("version", None)
    return cast(ContractRecord, data)


def payment_record(item: PaymentItem) -> PaymentRecord:
    return cast(PaymentRecord, values(item))
