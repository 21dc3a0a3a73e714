"""Card alerts: filing a card on the DUE index for a day, and the cards filed for a day."""

from __future__ import annotations

from pynamodb.expressions.update import Action

from chalicelib.db import keys
from chalicelib.db.items import CardItem


def file_alert(tenant: str, card_id: str, day: str | None) -> None:
    """Files a card to be looked at on a UTC date (or takes it off the DUE index)."""
    pk = keys.card_pk(tenant, card_id)
    item = CardItem(pk, keys.CARD_SK)
    actions: list[Action]
    if day is None:
        actions = [CardItem.DUEPK.remove(), CardItem.DUESK.remove()]
    else:
        due_pk, due_sk = keys.card_alert_due(day, pk)
        actions = [CardItem.DUEPK.set(due_pk), CardItem.DUESK.set(due_sk)]
    item.update(actions=actions, condition=CardItem.PK.exists())


def alert_candidates(day: str) -> list[tuple[str, str]]:
    """(tenant, card id) of every card filed under a UTC date, every tenant."""
    from chalicelib.db import due as due_db

    return [(tenant, item.id) for tenant, item in due_db.items("CARDALERT", day) if isinstance(item, CardItem)]
