"""One change of one card's balances: a `WalletChange` is one UpdateItem of the card whose
condition keeps each wallet and each contract's credits from going below zero (and the
card usable), plus the ledger entry. Every write that moves a balance adds these to its
transaction, so the sum of a card's ledger always equals its balance and concurrent
movements can never overdraw it: DynamoDB refuses the condition, not Python. Amounts are
whole hundredths (see items.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pynamodb.expressions.operand import Path

from chalicelib.db import keys, transactions
from chalicelib.db.items import CardItem, LedgerItem


@dataclass
class WalletChange:
    """One movement of one card's wallets and its ledger entry (amounts in hundredths).

    `lots` are signed changes of existing contract lots; `new_lots` are lots the card does
    not have yet. Taking from a lot requires it to hold enough and, when `today` is given,
    to be in force; `usable` requires the card to be active (or frozen past its end date)."""

    card_id: str
    entry: dict[str, Any]
    credits: int = 0
    cash: int = 0
    lots: dict[str, int] = field(default_factory=dict)
    new_lots: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    today: str | None = None
    usable: bool = True
    label: str = "wallet"
    also: list[Any] = field(default_factory=list)  # more update actions on the same card


def _lot(contract_id: str, name: str) -> Path:
    return Path(["lots", contract_id, name])


def _wallet(tx: transactions.Transaction, tenant: str, change: WalletChange) -> None:
    pk = keys.card_pk(tenant, change.card_id)
    item = CardItem(pk, keys.CARD_SK)
    actions: list[Any] = [CardItem.updated_at.set(change.entry["at"]), *change.also]
    condition = CardItem.PK.exists()
    if change.credits:
        actions.append(CardItem.credits.add(change.credits))
    if change.cash:
        actions.append(CardItem.cash.add(change.cash))
        if change.cash < 0:
            condition &= CardItem.cash >= -change.cash
    for contract_id, delta in change.lots.items():
        units = _lot(contract_id, "units")
        actions.append(units.set(units + delta))
        if delta < 0:
            condition &= units >= -delta
            if change.today:
                ends = _lot(contract_id, "ends_on")
                condition &= ends.does_not_exist() | (ends >= change.today)
        else:
            condition &= units.exists()
    for contract_id, lot in change.new_lots.items():
        # no NULLs in a lot: `ends_on` absent means "no end" to the conditions above
        actions.append(CardItem.lots[contract_id].set({k: v for k, v in lot.items() if v is not None}))
        condition &= CardItem.lots[contract_id].does_not_exist()
    if change.usable:
        today = change.today or datetime.now(UTC).date().isoformat()
        condition &= (CardItem.status == "active") | (
            (CardItem.status == "frozen") & CardItem.frozen_until.exists() & (CardItem.frozen_until < today)
        )
    tx.update(item, actions, condition=condition, label=change.label)
    entry = change.entry
    tx.save(
        LedgerItem(pk, keys.ledger_sk(entry["at"], entry["id"]), **entry),
        condition=LedgerItem.PK.does_not_exist(),
        label="ledger",
    )
