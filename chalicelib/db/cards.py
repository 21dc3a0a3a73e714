"""Contracts, payments, cards and their ledger.

Every change of a balance is a `WalletChange`: one UpdateItem of the card whose condition
keeps each wallet and each contract's credits from going below zero (and the card
usable), plus the ledger entry, in one transaction. So the sum of a card's ledger always
equals its balance, and concurrent movements can never overdraw it: DynamoDB refuses the
condition, not Python. Amounts are whole hundredths (see items.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.expressions.operand import Path
from pynamodb.models import Model

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, transactions
from chalicelib.db.base import BaseItem
from chalicelib.db.convert import values
from chalicelib.db.items import (
    CardItem,
    ContractItem,
    IdempotencyItem,
    LeadHistoryItem,
    LedgerItem,
    MemberLinkItem,
    PaymentItem,
    UniqueItem,
)
from chalicelib.db.leads import history_item, lead_item
from chalicelib.db.paging import page_values, query_partitions
from chalicelib.schemas.leads import HistoryEntry, Lead

IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass
class IdempotencyClaim:
    """Written in the same transaction as the change it guards: a replay finds it."""

    key: str
    fingerprint: str
    response: str
    status: int = 200


@dataclass
class Stored:
    fingerprint: str
    response: str
    status: int


def get_idempotent(tenant: str, key: str) -> Stored | None:
    try:
        item = IdempotencyItem.get(keys.idempotency_pk(tenant, key), keys.IDEMPOTENCY_SK, consistent_read=True)
    except IdempotencyItem.DoesNotExist:
        return None
    return Stored(item.fingerprint, item.response, int(item.status))


def _claim(tx: transactions.Transaction, tenant: str, claim: IdempotencyClaim | None) -> None:
    if claim is None:
        return
    item = IdempotencyItem(
        keys.idempotency_pk(tenant, claim.key),
        keys.IDEMPOTENCY_SK,
        fingerprint=claim.fingerprint,
        response=claim.response,
        status=claim.status,
    )
    item.expires_at = int((datetime.now(UTC) + IDEMPOTENCY_TTL).timestamp())
    tx.save(item, condition=IdempotencyItem.PK.does_not_exist(), label="idempotency")


# --- contracts ---------------------------------------------------------------------


def _contract_item(tenant: str, data: dict[str, Any]) -> ContractItem:
    item = ContractItem(keys.contract_pk(tenant, data["id"]), keys.CONTRACT_SK, **data)
    item.GSI1PK = keys.contracts_in(tenant, data["signed_on"][:7])
    item.GSI1SK = keys.sort_key(data["signed_at"], data["id"])
    return item


def get_contract(tenant: str, contract_id: str) -> tuple[dict[str, Any], int] | None:
    try:
        item = ContractItem.get(keys.contract_pk(tenant, contract_id), keys.CONTRACT_SK, consistent_read=True)
    except ContractItem.DoesNotExist:
        return None
    data = values(item)
    return data, int(data.pop("version") or 0)


def contract_with_payments(tenant: str, contract_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The contract and its payments and refunds: one Query of its partition."""
    contract, payments = None, []
    for item in BaseItem.query(keys.contract_pk(tenant, contract_id)):
        if isinstance(item, ContractItem):
            contract = values(item)
            contract.pop("version", None)
        elif isinstance(item, PaymentItem):
            payments.append(values(item))
    return contract, payments


def sign(
    tenant: str,
    contract: dict[str, Any],
    signed: list[tuple[Lead, int, HistoryEntry, str]],
) -> None:
    """The contract, and for each learner: the lead marked signed (under its version), its
    history and its link to the contract, in one transaction."""
    with transactions.write() as tx:
        tx.save(_contract_item(tenant, contract), condition=ContractItem.PK.does_not_exist(), label="contract")
        for lead, version, entry, entry_id in signed:
            item = lead_item(tenant, lead)
            item.version = version + 1
            tx.save(item, condition=type(item).version == version, label=f"lead:{lead.id}")
            tx.save(history_item(keys.lead_pk(tenant, lead.id), entry, entry_id), label="history")
            link = MemberLinkItem(
                keys.lead_pk(tenant, lead.id),
                keys.contract_link_sk(contract["id"]),
                other_id=contract["id"],
                at=contract["signed_at"],
            )
            link.GSI1PK, link.GSI1SK = keys.members_of(tenant), f"{lead.id}#{contract['id']}"
            tx.save(link, label="link")


def _payment_item(tenant: str, data: dict[str, Any]) -> PaymentItem:
    item = PaymentItem(keys.contract_pk(tenant, data["contract_id"]), keys.payment_sk(data["at"], data["id"]), **data)
    item.GSI1PK = keys.payments_in(tenant, data["paid_on"][:7])
    item.GSI1SK = f"{data['paid_on']}#{data['id']}"
    return item


def _contract_update(tx: transactions.Transaction, tenant: str, contract_id: str, version: int, changes: dict) -> None:
    item = ContractItem(keys.contract_pk(tenant, contract_id), keys.CONTRACT_SK)
    actions = [getattr(ContractItem, k).set(v) for k, v in changes.items()]
    actions.append(ContractItem.version.set(version + 1))
    tx.update(item, actions, condition=ContractItem.version == version, label="contract")


def record_payment(
    tenant: str,
    contract_id: str,
    version: int,
    changes: dict[str, Any],
    payment: dict[str, Any],
    claim: IdempotencyClaim | None = None,
    wallets: list[WalletChange] = (),
) -> None:
    """A payment or a refund with the contract's totals (under its version) and, for a
    refund, the credits clawed back from cards: one transaction."""
    with transactions.write() as tx:
        _contract_update(tx, tenant, contract_id, version, changes)
        tx.save(_payment_item(tenant, payment), label="payment")
        for change in wallets:
            _wallet(tx, tenant, change)
        _claim(tx, tenant, claim)


def change_contract(tenant: str, contract_id: str, version: int, changes: dict[str, Any]) -> None:
    with transactions.write() as tx:
        _contract_update(tx, tenant, contract_id, version, changes)


def _months(lo: str, hi: str) -> list[str]:
    year, month = int(lo[:4]), int(lo[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= hi[:7]:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def list_by_month(
    tenant: str,
    what: str,
    lo: str,
    hi: str,
    *,
    limit: int,
    cursor: str | None,
    scope: str,
    campus: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Contracts signed (or payments dated) between two days, newest first: one Query per
    month partition of the range, merged."""
    model, partition = (ContractItem, keys.contracts_in) if what == "contracts" else (PaymentItem, keys.payments_in)
    parts = [partition(tenant, m) for m in _months(lo, hi)]
    if what == "contracts":
        # signed_at is UTC; a day's margin either side, then the school date decides
        lo_key = (datetime.fromisoformat(lo) - timedelta(days=1)).date().isoformat()
        hi_key = (datetime.fromisoformat(hi) + timedelta(days=2)).date().isoformat()
        range_condition = model.GSI1SK.between(lo_key, hi_key)
        filter_condition = model.signed_on.between(lo, hi)
    else:
        range_condition = model.GSI1SK.between(lo, hi + "~")
        filter_condition = None
    if campus:
        clause = model.campus_id == campus
        filter_condition = clause if filter_condition is None else filter_condition & clause
    page = query_partitions(
        model,
        "GSI1",
        parts,
        scope=scope,
        limit=limit,
        cursor=cursor,
        ascending=False,
        range_condition=range_condition,
        filter_condition=filter_condition,
    )
    found = []
    for item in page.items:
        data = values(item)
        data.pop("version", None)
        found.append(data)
    return found, page.cursor


def member_links(tenant: str, lead_id: str, prefix: str) -> list[str]:
    """Ids of a learner's contracts or cards (links in the lead's partition): one Query."""
    query = MemberLinkItem.query(keys.lead_pk(tenant, lead_id), MemberLinkItem.SK.startswith(prefix))
    return [i.other_id for i in query]


def members(tenant: str) -> list[str]:
    """Every learner who signed a contract (sparse GSI1 of the contract links), once each."""
    query = MemberLinkItem.gsi1.query(keys.members_of(tenant))
    return list(dict.fromkeys(item.GSI1SK.split("#", 1)[0] for item in query))


def batch_contracts(tenant: str, contract_ids: list[str]) -> list[dict[str, Any]]:
    found = []
    for item in ContractItem.batch_get([(keys.contract_pk(tenant, c), keys.CONTRACT_SK) for c in contract_ids]):
        data = values(item)
        data.pop("version", None)
        found.append(data)
    return found


# --- cards -------------------------------------------------------------------------


@dataclass
class WalletChange:
    """One movement of one card's wallets and its ledger entry (amounts in hundredths).

    `lots` are signed changes of existing contract lots; `new_lots` are lots the card does
    not have yet. Taking from a lot requires it to hold enough and, when `today` is given,
    to be in force; `usable` requires the card to be active (or frozen past its end date)."""

    card_id: str
    entry: dict[str, Any]
    credits: int = 0
    cash: int = 0
    lots: dict[str, int] = field(default_factory=dict)
    new_lots: dict[str, dict[str, Any]] = field(default_factory=dict)
    today: str | None = None
    usable: bool = True
    label: str = "wallet"
    also: list[Any] = field(default_factory=list)  # more update actions on the same card


def _lot(contract_id: str, name: str) -> Path:
    return Path(["lots", contract_id, name])


def _wallet(tx: transactions.Transaction, tenant: str, change: WalletChange) -> None:
    pk = keys.card_pk(tenant, change.card_id)
    item = CardItem(pk, keys.CARD_SK)
    actions: list[Any] = [CardItem.updated_at.set(change.entry["at"]), *change.also]
    condition = CardItem.PK.exists()
    if change.credits:
        actions.append(CardItem.credits.add(change.credits))
    if change.cash:
        actions.append(CardItem.cash.add(change.cash))
        if change.cash < 0:
            condition &= CardItem.cash >= -change.cash
    for contract_id, delta in change.lots.items():
        units = _lot(contract_id, "units")
        actions.append(units.set(units + delta))
        if delta < 0:
            condition &= units >= -delta
            if change.today:
                ends = _lot(contract_id, "ends_on")
                condition &= ends.does_not_exist() | (ends >= change.today)
        else:
            condition &= units.exists()
    for contract_id, lot in change.new_lots.items():
        # no NULLs in a lot: `ends_on` absent means "no end" to the conditions above
        actions.append(CardItem.lots[contract_id].set({k: v for k, v in lot.items() if v is not None}))
        condition &= CardItem.lots[contract_id].does_not_exist()
    if change.usable:
        today = change.today or datetime.now(UTC).date().isoformat()
        condition &= (CardItem.status == "active") | (
            (CardItem.status == "frozen") & CardItem.frozen_until.exists() & (CardItem.frozen_until < today)
        )
    tx.update(item, actions, condition=condition, label=change.label)
    entry = change.entry
    tx.save(
        LedgerItem(pk, keys.ledger_sk(entry["at"], entry["id"]), **entry),
        condition=LedgerItem.PK.does_not_exist(),
        label="ledger",
    )


def move(
    tenant: str,
    changes: list[WalletChange],
    *,
    claim: IdempotencyClaim | None = None,
    usable_cards: list[str] = (),
    new_items: list[tuple[Model, str]] = (),
    updates: list[tuple[Model, list[Any], Any, str]] = (),
    contracts: list[tuple[str, int, dict[str, Any]]] = (),
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


def get_card(tenant: str, card_id: str) -> dict[str, Any] | None:
    try:
        return values(CardItem.get(keys.card_pk(tenant, card_id), keys.CARD_SK, consistent_read=True))
    except CardItem.DoesNotExist:
        return None


def batch_cards(tenant: str, card_ids: list[str]) -> list[dict[str, Any]]:
    return [values(i) for i in CardItem.batch_get([(keys.card_pk(tenant, c), keys.CARD_SK) for c in card_ids])]


def card_id_by_number(tenant: str, number: str) -> str | None:
    try:
        return UniqueItem.get(keys.card_number_pk(tenant, number), keys.UNIQUE_SK).owner_id
    except UniqueItem.DoesNotExist:
        return None


def _card_item(tenant: str, data: dict[str, Any]) -> CardItem:
    alert_on = data.pop("alert_on", None)
    item = CardItem(keys.card_pk(tenant, data["id"]), keys.CARD_SK, **data)
    if alert_on:
        item.DUEPK, item.DUESK = keys.card_alert_due(alert_on, item.PK)
    return item


def file_alert(tenant: str, card_id: str, day: str | None) -> None:
    """Files a card to be looked at on a UTC date (or takes it off the DUE index)."""
    pk = keys.card_pk(tenant, card_id)
    item = CardItem(pk, keys.CARD_SK)
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
    old: dict[str, Any],
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
        for card_id, entry, entry_id in histories:
            tx.save(history_item(keys.card_pk(tenant, card_id), entry, entry_id), label="history")


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
) -> tuple[list[dict[str, Any]], str | None]:
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
    return page_values(result, LedgerItem, scope)


def ledger_all(tenant: str, card_id: str) -> list[dict[str, Any]]:
    """Every entry of a card's ledger (tests and the self-check; pages through)."""
    return [values(i) for i in LedgerItem.query(keys.card_pk(tenant, card_id), LedgerItem.SK.startswith("LEDGER#"))]


def history_page(
    tenant: str, card_id: str, *, limit: int, cursor: str | None, scope: str
) -> tuple[list[dict[str, Any]], str | None]:
    result = LeadHistoryItem.query(
        keys.card_pk(tenant, card_id),
        LeadHistoryItem.SK.startswith(keys.HISTORY_PREFIX),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    return page_values(result, LeadHistoryItem, scope)
