"""Movements: wallet changes with their ledger entries and what must change with them, in
one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import keys, transactions
from chalicelib.db.base import BaseItem
from chalicelib.db.cards.contracts import _contract_update
from chalicelib.db.cards.idempotency import IdempotencyClaim, _claim
from chalicelib.db.cards.wallet import WalletChange, _wallet
from chalicelib.db.items import CardItem


def move(
    tenant: str,
    changes: list[WalletChange],
    *,
    claim: IdempotencyClaim | None = None,
    usable_cards: Sequence[str] = (),
    new_items: Sequence[tuple[BaseItem, str]] = (),
    updates: Sequence[tuple[BaseItem, list[Action], Condition | None, str]] = (),
    contracts: Sequence[tuple[str, int, dict[str, Any]]] = (),
) -> None:
    """Wallet changes with their ledger entries, and what must change with them: cards that
    must still be usable (a shared sub-card spending its primary's wallet), new items (a
    booking), updates (a session's seats), contracts (under their versions) and the
    idempotency claim. One transaction."""
    today = next((c.today for c in changes if c.today), None) or datetime.now(UTC).date().isoformat()
    with transactions.write() as tx:
        for change in changes:
            _wallet(tx, tenant, change)
        for card_id in usable_cards:
            tx.condition_check(
                CardItem,
                keys.card_pk(tenant, card_id),
                keys.CARD_SK,
                condition=(CardItem.status == "active")
                | ((CardItem.status == "frozen") & (CardItem.frozen_until < today)),
                label="card",
            )
        for model, label in new_items:
            tx.save(model, condition=type(model).PK.does_not_exist(), label=label)
        for model, actions, condition, label in updates:
            tx.update(model, actions, condition=condition, label=label)
        for contract_id, version, changed in contracts:
            _contract_update(tx, tenant, contract_id, version, changed)
        _claim(tx, tenant, claim)
