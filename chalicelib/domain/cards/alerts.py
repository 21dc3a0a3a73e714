"""Card alerts: the day a card is next looked at for credits about to expire, and filing a
card for today's low-credit run when a movement crosses the school's threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from chalicelib.db import cards as cards_db
from chalicelib.db.cards.records import CardRecord, LotRecord
from chalicelib.domain import wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.cards.common import Context


def alert_on(lots: Mapping[str, LotRecord], warning_days: int, after: date) -> str | None:
    """The next day a card should be looked at for credits about to expire: the earliest
    (end − warning days) of a lot still holding credits, not before `after`."""
    days = [
        max(date.fromisoformat(lot["ends_on"]) - timedelta(days=warning_days), after)
        for lot in lots.values()
        if lot.get("ends_on") and int(lot.get("units") or 0) > 0 and lot["ends_on"] >= after.isoformat()
    ]
    return min(days).isoformat() if days else None


def _after_movement(principal: Principal, wallet: CardRecord, change: cards_db.WalletChange, ctx: Context) -> None:
    """A movement that takes usable credits below the school's threshold files the card for
    today's card_alerts run (an extra write only when the threshold is crossed)."""
    if change.credits >= 0:
        return
    threshold = wallets.units(ctx.alerts.low_credit_threshold)
    before = wallets.available(wallet.get("lots") or {}, ctx.day)
    if before >= threshold > before + change.credits:
        cards_db.file_alert(principal.tenant, wallet["id"], ctx.now.date().isoformat())
