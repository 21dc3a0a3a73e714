"""Contracts and cards: payments, wallets and their ledger, event fees, idempotent requests.

Money and lesson credits are stored as whole hundredths (fen; 1/100 of a credit) in
DynamoDB numbers, so sums and conditions are exact integers; the API speaks decimal strings."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.db.base import BaseItem
from chalicelib.db.items.attributes import raw_map, unicode_list


class ContractItem(BaseItem, discriminator="Contract"):
    """A contract (合同) signing one or more learners to a package; `version` locks changes."""

    id = UnicodeAttribute()
    lead_ids = unicode_list()
    lead_names = unicode_list()
    campus_id = UnicodeAttribute()
    course_ids = unicode_list(default=list)
    credits = NumberAttribute()  # hundredths of a credit
    gift_credits = NumberAttribute(default=0)
    price = NumberAttribute()  # fen
    discount = NumberAttribute(default=0)
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute()
    instalments: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps: due_on, amount (fen)
    signed_by = UnicodeAttribute()
    signed_by_name = UnicodeAttribute()
    signed_at = UnicodeAttribute()
    signed_on = UnicodeAttribute()
    paid = NumberAttribute(default=0)
    refunded = NumberAttribute(default=0)
    clawed_back = NumberAttribute(default=0)
    unallocated = NumberAttribute()  # credits not yet put on a card
    card_ids = unicode_list(default=list)
    conversions = raw_map()  # lead id -> days from lead to first contract
    referrers = raw_map()  # a referred learner's id -> its referral dimension value (money signed per referrer)
    note = UnicodeAttribute(null=True)
    voided_at = UnicodeAttribute(null=True)
    void_reason = UnicodeAttribute(null=True)
    payer_name = UnicodeAttribute(null=True)  # 代报名: who pays, when not a guardian of the learner
    payer_phone = UnicodeAttribute(null=True)  # E.164
    payer_relation = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class PaymentItem(BaseItem, discriminator="Payment"):
    """A payment or a refund of a contract, in the contract's partition; listed by month."""

    id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    payment_kind = UnicodeAttribute()  # payment | refund
    amount = NumberAttribute()  # fen, positive for both kinds
    method = UnicodeAttribute(null=True)
    paid_on = UnicodeAttribute()
    credits = NumberAttribute(default=0)  # refunds: credits clawed back
    reason = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    by = UnicodeAttribute()
    by_name = UnicodeAttribute()
    at = UnicodeAttribute()


class CardItem(BaseItem, discriminator="Card"):
    """A membership card (会员卡) and its two wallets.

    `credits` is the sum of `lots` (credits per contract: units, starts_on, ends_on) and
    `cash` the cash wallet, both in hundredths. A shared sub-card has no wallet of its own:
    its movements land on its primary card."""

    id = UnicodeAttribute()
    number = UnicodeAttribute()
    holder_lead_id = UnicodeAttribute()
    holder_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    status = UnicodeAttribute()  # active | lost | frozen | replaced
    credits = NumberAttribute(default=0)
    cash = NumberAttribute(default=0)
    lots = raw_map()
    primary_card_id = UnicodeAttribute(null=True)
    shared = BooleanAttribute(null=True)  # sub-cards: spends the primary's wallets
    sub_cards = raw_map()  # primary cards: sub-card id -> holder lead id
    holder_phone = UnicodeAttribute(null=True)
    holder_note = UnicodeAttribute(null=True)
    frozen_reason = UnicodeAttribute(null=True)
    frozen_on = UnicodeAttribute(null=True)
    frozen_until = UnicodeAttribute(null=True)
    replaced_by = UnicodeAttribute(null=True)
    replaces = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class LedgerItem(BaseItem, discriminator="Ledger"):
    """One movement of a card's wallets (消费记录), written in the balance's transaction."""

    id = UnicodeAttribute()
    card_id = UnicodeAttribute()
    movement = UnicodeAttribute()  # contract_credit | deduction | purchase | ...
    credits = NumberAttribute(default=0)  # signed hundredths
    amount = NumberAttribute(default=0)  # signed fen
    lots = raw_map()  # contract id -> signed hundredths taken or given
    at = UnicodeAttribute()
    by = UnicodeAttribute(null=True)
    by_name = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    lead_id = UnicodeAttribute(null=True)  # the learner who used it
    used_card_id = UnicodeAttribute(null=True)  # a shared sub-card that spent this wallet
    contract_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    method = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)


class MemberLinkItem(BaseItem, discriminator="MemberLink"):
    """In a learner's partition: one of their contracts (CONTRACT#id) or cards (CARD#id)."""

    other_id = UnicodeAttribute()
    at = UnicodeAttribute()


class IdempotencyItem(BaseItem, discriminator="Idempotency"):
    """A request that was applied once, by its Idempotency-Key; expires by TTL."""

    fingerprint = UnicodeAttribute()
    response = UnicodeAttribute()
    status = NumberAttribute()


class EventFeeItem(BaseItem, discriminator="EventFee"):
    """The fee of one event booking, charged once (written with the wallet movement) and
    refunded at most once (`state` charged -> refunded)."""

    appointment_id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    card_id = UnicodeAttribute()  # the card whose wallets paid (a shared sub-card's primary)
    state = UnicodeAttribute()  # charged | refunded
    credits = NumberAttribute(default=0)  # hundredths taken
    amount = NumberAttribute(default=0)  # fen taken
    lots = raw_map()  # contract id -> hundredths taken (positive)
    charged_at = UnicodeAttribute()
    refunded_at = UnicodeAttribute(null=True)
