"""Contracts (合同): signing learners to a package, payments, refunds, voiding, by sub-feature:

- common.py: the roles, a contract's money (`Figures`, `money_state`) and derived status,
  a contract and a payment as shown
- signing.py: signing (签约)
- reading.py: who may see a contract, one contract, a member's contracts, the period lists
- payments.py: payments, refunds (with the credits clawed back from cards), voiding

A contract's totals change only under its `version` (optimistic lock) and together with
the payment or refund that changes them, so two cashiers never overwrite each other and
nothing is paid twice. Its status is derived, never stored. Writes go through
chalicelib/db/cards/contracts.py. Callers use this package's names: `contracts.pay(...)`.
"""

from __future__ import annotations

from chalicelib.domain.contracts.common import (
    CASHIERS,
    SIGNERS,
    TRIES,
    VOIDERS,
    Figures,
    figures,
    money_state,
    status_of,
    to_contract,
    to_payment,
    today_for,
)
from chalicelib.domain.contracts.payments import pay, refund, void
from chalicelib.domain.contracts.reading import can_see, contracts_of, get_contract, list_contracts, list_payments
from chalicelib.domain.contracts.signing import sign

__all__ = [
    "CASHIERS",
    "SIGNERS",
    "TRIES",
    "VOIDERS",
    "Figures",
    "can_see",
    "contracts_of",
    "figures",
    "get_contract",
    "list_contracts",
    "list_payments",
    "money_state",
    "pay",
    "refund",
    "sign",
    "status_of",
    "to_contract",
    "to_payment",
    "today_for",
    "void",
]
