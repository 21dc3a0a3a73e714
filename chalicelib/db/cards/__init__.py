"""Contracts, payments, cards and their ledger, by sub-feature:

- wallet.py: `WalletChange`, one conditional balance change of a card with its ledger entry
  (the rule that nothing is overdrawn lives here)
- movements.py: wallet changes with what goes with them, in one transaction
- opening.py, lifecycle.py, reading.py, alerts.py: as in chalicelib/domain/cards
- contracts.py: contracts, payments and refunds, the lists by month, learners' links
- idempotency.py: the idempotency claim a guarded write saves with it
- records.py: what the reads return (`CardRecord`, `LedgerRecord`, `ContractRecord`,
  `PaymentRecord`, `HistoryRecord`): TypedDicts, plain dicts at run time

Callers use this package's names: `cards_db.move(...)`.
"""

from __future__ import annotations

from chalicelib.db.cards.alerts import alert_candidates, file_alert
from chalicelib.db.cards.contracts import (
    batch_contracts,
    change_contract,
    contract_with_payments,
    get_contract,
    list_by_month,
    member_links,
    members,
    record_payment,
    sign,
)
from chalicelib.db.cards.idempotency import IDEMPOTENCY_TTL, IdempotencyClaim, Stored, get_idempotent
from chalicelib.db.cards.lifecycle import reissue, set_status
from chalicelib.db.cards.movements import move
from chalicelib.db.cards.opening import open_card
from chalicelib.db.cards.reading import (
    batch_cards,
    card_id_by_number,
    get_card,
    history_page,
    ledger_all,
    ledger_page,
)
from chalicelib.db.cards.wallet import WalletChange

__all__ = [
    "IDEMPOTENCY_TTL",
    "IdempotencyClaim",
    "Stored",
    "WalletChange",
    "alert_candidates",
    "batch_cards",
    "batch_contracts",
    "card_id_by_number",
    "change_contract",
    "contract_with_payments",
    "file_alert",
    "get_card",
    "get_contract",
    "get_idempotent",
    "history_page",
    "ledger_all",
    "ledger_page",
    "list_by_month",
    "member_links",
    "members",
    "move",
    "open_card",
    "record_payment",
    "reissue",
    "set_status",
    "sign",
]
