"""Reading cards: one card, a batch, by number, and a card's ledger and history pages."""

from __future__ import annotations

from typing import cast

from chalicelib.db import cursor as cursors
from chalicelib.db import keys
from chalicelib.db.cards.records import CardRecord, HistoryRecord, LedgerRecord, card_record, ledger_record
from chalicelib.db.items import CardItem, LeadHistoryItem, LedgerItem, UniqueItem
from chalicelib.db.paging import page_values


def get_card(tenant: str, card_id: str) -> CardRecord | None:
    try:
        return card_record(CardItem.get(keys.card_pk(tenant, card_id), keys.CARD_SK, consistent_read=True))
    except CardItem.DoesNotExist:
        return None


def batch_cards(tenant: str, card_ids: list[str]) -> list[CardRecord]:
    return [card_record(i) for i in CardItem.batch_get([(keys.card_pk(tenant, c), keys.CARD_SK) for c in card_ids])]


def card_id_by_number(tenant: str, number: str) -> str | None:
    try:
        return UniqueItem.get(keys.card_number_pk(tenant, number), keys.UNIQUE_SK).owner_id
    except UniqueItem.DoesNotExist:
        return None


def ledger_page(
    tenant: str,
    card_id: str,
    *,
    lo: str | None,
    hi: str | None,
    kind: str | None,
    used_card_id: str | None,
    limit: int,
    cursor: str | None,
    scope: str,
) -> tuple[list[LedgerRecord], str | None]:
    """A card's ledger, newest first, one bounded Query page (filters trim it)."""
    start = keys.ledger_sk(lo, "") if lo else keys.LEDGER_PREFIX
    end = keys.ledger_sk(hi, "~") if hi else keys.LEDGER_PREFIX + "~"
    condition = None
    if kind:
        condition = LedgerItem.movement == kind
    if used_card_id:
        clause = LedgerItem.used_card_id == used_card_id
        condition = clause if condition is None else condition & clause
    result = LedgerItem.query(
        keys.card_pk(tenant, card_id),
        LedgerItem.SK.between(start, end),
        filter_condition=condition,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    items, next_cursor = page_values(result, LedgerItem, scope)
    return cast(list[LedgerRecord], items), next_cursor  # page_values: the values of LedgerItems


def ledger_all(tenant: str, card_id: str) -> list[LedgerRecord]:
    """Every entry of a card's ledger (tests and the self-check; pages through)."""
    return [
        ledger_record(i) for i in LedgerItem.query(keys.card_pk(tenant, card_id), LedgerItem.SK.startswith("LEDGER#"))
    ]


def history_page(
    tenant: str, card_id: str, *, limit: int, cursor: str | None, scope: str
) -> tuple[list[HistoryRecord], str | None]:
    result = LeadHistoryItem.query(
        keys.card_pk(tenant, card_id),
        LeadHistoryItem.SK.startswith(keys.HISTORY_PREFIX),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    items, next_cursor = page_values(result, LeadHistoryItem, scope)
    return cast(list[HistoryRecord], items), next_cursor  # page_values: the values of LeadHistoryItems
