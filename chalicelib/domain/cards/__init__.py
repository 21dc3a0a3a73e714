"""Membership cards (会员卡), by sub-feature:

- common.py: the roles, the tenant's `Context`, a card and a movement as shown, loading a
  card, the checks a card takes movements and a learner may use it
- opening.py: opening a card or a sub-card, putting a contract's credits on a card
- movements.py: spending, top-ups, exchanges, event fees, adjustments, check-in
- lifecycle.py: lost, freeze and thaw, the holder's details, reissue
- reading.py: one card, finding cards, the ledger and the history
- alerts.py: when a card is next looked at (expiring credits, low credit)

Writes go through chalicelib/db/cards (the same file names); which lots a movement takes
from is decided in wallets.py. Callers use this package's names: `cards.move(...)`.
"""

from __future__ import annotations

from chalicelib.domain.cards.alerts import alert_on
from chalicelib.domain.cards.common import (
    ADJUSTERS,
    CASH_DESK,
    ISSUERS,
    Context,
    _entry,
    effective_status,
    to_card,
    to_movement,
)
from chalicelib.domain.cards.lifecycle import freeze, patch_holder, reissue, report_lost, unfreeze
from chalicelib.domain.cards.movements import TRIES, _only_card, check_in, move
from chalicelib.domain.cards.opening import add_contract, open_card, open_sub_card
from chalicelib.domain.cards.reading import find_cards, get_card, history, ledger

__all__ = [
    "ADJUSTERS",
    "CASH_DESK",
    "ISSUERS",
    "TRIES",
    "Context",
    "_entry",
    "_only_card",
    "add_contract",
    "alert_on",
    "check_in",
    "effective_status",
    "find_cards",
    "freeze",
    "get_card",
    "history",
    "ledger",
    "move",
    "open_card",
    "open_sub_card",
    "patch_holder",
    "reissue",
    "report_lost",
    "to_card",
    "to_movement",
    "unfreeze",
]
