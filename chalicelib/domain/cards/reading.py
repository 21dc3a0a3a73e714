"""Reading cards: one card, a search by number or learner, its ledger (消费记录) and history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from chalicelib.db import cards as cards_db
from chalicelib.domain import clock, leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.cards.common import Context, _load, to_card, to_movement
from chalicelib.errors import NotFoundError
from chalicelib.schemas.cards import Card, CardListQuery, LedgerQuery, Movement
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.leads import HistoryEntry


def get_card(principal: Principal, card_id: str) -> Card:
    return to_card(_load(principal, card_id), Context(principal.tenant))


def find_cards(principal: Principal, query: CardListQuery) -> Page[Card]:
    """By number (the old number of a reissued card still finds it, marked replaced), or a
    learner's cards."""
    ctx = Context(principal.tenant)
    if query.number:
        card_id = cards_db.card_id_by_number(principal.tenant, query.number)
        if card_id is None:
            return Page[Card](items=[])
        try:
            return Page[Card](items=[to_card(_load(principal, card_id), ctx)])
        except NotFoundError:
            return Page[Card](items=[])
    lead_id = cast(str, query.lead_id)  # CardListQuery takes a number or a lead_id: no number, a lead_id
    leads.visible_lead(principal, lead_id)
    ids_ = cards_db.member_links(principal.tenant, lead_id, "CARD#")
    found = cards_db.batch_cards(principal.tenant, ids_[:100])
    return Page[Card](items=[to_card(c, ctx) for c in sorted(found, key=lambda c: c["created_at"], reverse=True)])


def _day_bounds(ctx: Context, lo: date | None, hi: date | None) -> tuple[str | None, str | None]:
    start = clock.iso(ctx.day_start(lo)) if lo else None
    end = clock.iso(ctx.day_start(hi + timedelta(days=1)) - timedelta(milliseconds=1)) if hi else None
    return start, end


def ledger(principal: Principal, card_id: str, query: LedgerQuery) -> Page[Movement]:
    """消费记录: the card's movements, newest first. A shared sub-card shows the movements it
    made on its primary's wallet."""
    card = _load(principal, card_id)
    ctx = Context(principal.tenant)
    wallet_id, used = (card["primary_card_id"], card_id) if card.get("shared") else (card_id, None)
    lo, hi = _day_bounds(ctx, query.from_, query.to)
    items, cursor = cards_db.ledger_page(
        principal.tenant,
        wallet_id,
        lo=lo,
        hi=hi,
        kind=query.kind,
        used_card_id=used,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:ledger:{card_id}:{query.from_}:{query.to}:{query.kind}",
    )
    return Page[Movement](items=[to_movement(e) for e in items], next_cursor=cursor)


def history(principal: Principal, card_id: str, query: PageQuery) -> Page[HistoryEntry]:
    _load(principal, card_id)
    scope = f"{principal.tenant}:cardhist:{card_id}"
    items, cursor = cards_db.history_page(
        principal.tenant, card_id, limit=query.limit, cursor=query.cursor, scope=scope
    )
    return Page[HistoryEntry](items=[HistoryEntry.model_validate(i) for i in items], next_cursor=cursor)
