"""A card's lifecycle writes: a status or holder change under what was read, and reissue."""

from __future__ import annotations

from typing import Any

from chalicelib.db import keys, transactions
from chalicelib.db.cards.opening import _new_card
from chalicelib.db.cards.records import CardRecord
from chalicelib.db.cards.wallet import _lot
from chalicelib.db.items import CardItem, LedgerItem
from chalicelib.db.leads import history_item
from chalicelib.schemas.leads import HistoryEntry


def set_status(
    tenant: str,
    card_id: str,
    changes: dict[str, Any],
    *,
    expect: dict[str, Any],
    history: tuple[HistoryEntry, str],
    lot_ends: dict[str, str] | None = None,
) -> None:
    """A lifecycle change (lost, frozen, thawed, holder details) conditional on the fields in
    `expect` still holding, with its history entry: one transaction."""
    item = CardItem(keys.card_pk(tenant, card_id), keys.CARD_SK)
    actions = [
        getattr(CardItem, k).set(v) if v is not None else getattr(CardItem, k).remove() for k, v in changes.items()
    ]
    for contract_id, ends_on in (lot_ends or {}).items():
        actions.append(_lot(contract_id, "ends_on").set(ends_on))
    condition = CardItem.PK.exists()
    for name, value in expect.items():
        attr = getattr(CardItem, name)
        condition &= attr.does_not_exist() if value is None else attr == value
    with transactions.write() as tx:
        tx.update(item, actions, condition=condition, label="card")
        tx.save(history_item(keys.card_pk(tenant, card_id), *history), label="history")


def reissue(
    tenant: str,
    old: CardRecord,
    new: dict[str, Any],
    out_entry: dict[str, Any] | None,
    in_entry: dict[str, Any] | None,
    histories: list[tuple[str, HistoryEntry, str]],
) -> None:
    """The old card emptied and marked replaced (only if its balances and status are still
    what was read), the new card with them, its number claim and the holder's link, the
    two ledger entries, the sub-cards pointed at the new card, and the primary (for a
    sub-card) pointed at it too: one transaction."""
    old_pk = keys.card_pk(tenant, old["id"])
    with transactions.write() as tx:
        condition = (
            (CardItem.status == old["status"]) & (CardItem.credits == old["credits"]) & (CardItem.cash == old["cash"])
        )
        tx.update(
            CardItem(old_pk, keys.CARD_SK),
            [
                CardItem.status.set("replaced"),
                CardItem.replaced_by.set(new["id"]),
                CardItem.credits.set(0),
                CardItem.cash.set(0),
                CardItem.lots.set({}),
                CardItem.sub_cards.set({}),
                CardItem.updated_at.set(new["created_at"]),
            ],
            condition=condition,
            label="old",
        )
        _new_card(tx, tenant, new)
        for entry, pk in ((out_entry, old_pk), (in_entry, keys.card_pk(tenant, new["id"]))):
            if entry is not None:
                tx.save(LedgerItem(pk, keys.ledger_sk(entry["at"], entry["id"]), **entry), label="ledger")
        for sub_id in new.get("sub_cards") or {}:
            tx.update(
                CardItem(keys.card_pk(tenant, sub_id), keys.CARD_SK),
                [CardItem.primary_card_id.set(new["id"])],
                condition=CardItem.primary_card_id == old["id"],
                label="sub",
            )
        if new.get("primary_card_id"):
            tx.update(
                CardItem(keys.card_pk(tenant, new["primary_card_id"]), keys.CARD_SK),
                [CardItem.sub_cards[old["id"]].remove(), CardItem.sub_cards[new["id"]].set(new["holder_lead_id"])],
                condition=CardItem.sub_cards[old["id"]].exists(),
                label="primary",
            )
        for card_id, history, entry_id in histories:
            tx.save(history_item(keys.card_pk(tenant, card_id), history, entry_id), label="history")
