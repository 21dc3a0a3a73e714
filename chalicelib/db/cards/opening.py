"""Opening a card: the card, its number's claim, the holder's link and history, the
contracts it takes credits from, and a sub-card's primary, in one transaction.
"""

from __future__ import annotations

from typing import Any

from chalicelib.db import keys, transactions
from chalicelib.db.cards.contracts import _contract_update
from chalicelib.db.cards.wallet import WalletChange, _wallet
from chalicelib.db.items import CardItem, LedgerItem, MemberLinkItem, UniqueItem
from chalicelib.db.leads import history_item
from chalicelib.schemas.leads import HistoryEntry


def _card_item(tenant: str, data: dict[str, Any]) -> CardItem:
    alert_on = data.pop("alert_on", None)
    item = CardItem(keys.card_pk(tenant, data["id"]), keys.CARD_SK, **data)
    if alert_on:
        item.DUEPK, item.DUESK = keys.card_alert_due(alert_on, item.PK)
    return item


def _new_card(tx: transactions.Transaction, tenant: str, card: dict[str, Any]) -> None:
    """A card that must not exist yet, its number's claim, and the link in its holder's partition."""
    tx.save(_card_item(tenant, card), condition=CardItem.PK.does_not_exist(), label="card")
    claim = UniqueItem(keys.card_number_pk(tenant, card["number"]), keys.UNIQUE_SK, owner_id=card["id"])
    tx.save(claim, condition=UniqueItem.PK.does_not_exist(), label="number")
    link = MemberLinkItem(
        keys.lead_pk(tenant, card["holder_lead_id"]),
        keys.card_link_sk(card["id"]),
        other_id=card["id"],
        at=card["created_at"],
    )
    tx.save(link, label="link")


def open_card(
    tenant: str,
    card: dict[str, Any],
    history: tuple[HistoryEntry, str],
    credit: WalletChange | None,
    allocations: list[tuple[str, int, dict[str, Any]]],
    *,
    funding: WalletChange | None = None,
    primary_id: str | None = None,
) -> None:
    """A new card with its number claim, the holder's link and history; the contracts whose
    credits it takes (each under its version) and the credit movement; for a sub-card, the
    primary's entry (and, for an unshared one, the credits it hands over). One transaction."""
    with transactions.write() as tx:
        _new_card(tx, tenant, card)
        tx.save(history_item(keys.card_pk(tenant, card["id"]), *history), label="history")
        for contract_id, version, changes in allocations:
            _contract_update(tx, tenant, contract_id, version, changes)
        if credit is not None:
            # the card is created in this same transaction: no update of it, only its entry
            entry = credit.entry
            tx.save(
                LedgerItem(keys.card_pk(tenant, card["id"]), keys.ledger_sk(entry["at"], entry["id"]), **entry),
                label="ledger",
            )
        if primary_id is not None:
            primary = CardItem(keys.card_pk(tenant, primary_id), keys.CARD_SK)
            if funding is not None:  # one operation per item: the link rides on the funding update
                funding.also.append(CardItem.sub_cards[card["id"]].set(card["holder_lead_id"]))
                _wallet(tx, tenant, funding)
            else:
                tx.update(
                    primary,
                    [CardItem.sub_cards[card["id"]].set(card["holder_lead_id"])],
                    condition=CardItem.status == "active",
                    label="primary",
                )
