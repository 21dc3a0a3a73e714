"""Who may spend through a card: the one rule for every movement that names a learner
(deductions, purchases, event fees, ... and check-in)."""

from __future__ import annotations

from chalicelib.db import cards as cards_db
from chalicelib.db.cards.records import CardRecord
from chalicelib.errors import ValidationFailedError


def card_user(tenant: str, card: CardRecord, lead_id: str) -> CardRecord | None:
    """The card a learner spends `card` through, or None when they may not use it.

    Its holder may (the card itself). On a primary card, so may the learner of one of its
    shared sub-cards (that sub-card is returned: the movement is shown in its ledger). A
    sub-card, shared or holding a fixed share, is spent by its own learner only."""
    if lead_id == card["holder_lead_id"]:
        return card
    if card.get("primary_card_id"):
        return None
    theirs = [sub_id for sub_id, holder in (card.get("sub_cards") or {}).items() if holder == lead_id]
    shared = [sub for sub in cards_db.batch_cards(tenant, theirs) if sub.get("shared")] if theirs else []
    shared.sort(key=lambda sub: (sub["status"] != "active", sub["id"]))  # an active one first, if several
    return shared[0] if shared else None


def not_on_card(field: str) -> ValidationFailedError:
    message = "this learner may not use this card (only its holder, or the learner of a shared sub-card)"
    return ValidationFailedError(
        f"{field}: {message}", code="LEARNER_NOT_ON_CARD", details=[{"field": field, "message": message}]
    )
