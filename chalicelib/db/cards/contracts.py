"""Contracts and their payments: signing (with the learners' leads), payments and refunds
(with the credits clawed back from cards), changes under the contract's version, and the
lists by month.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, cast, overload

from pynamodb.expressions.condition import Condition

from chalicelib.db import keys, transactions
from chalicelib.db import receivables as receivables_db
from chalicelib.db.base import BaseItem
from chalicelib.db.cards.idempotency import IdempotencyClaim, _claim
from chalicelib.db.cards.records import ContractRecord, PaymentRecord, contract_record, payment_record
from chalicelib.db.cards.wallet import WalletChange, _wallet
from chalicelib.db.items import ContractItem, MemberLinkItem, PaymentItem
from chalicelib.db.leads import history_item, lead_item
from chalicelib.db.paging import query_partitions
from chalicelib.db.receivables import ReceivableRecord
from chalicelib.schemas.leads import HistoryEntry, Lead


def _contract_item(tenant: str, data: dict[str, Any]) -> ContractItem:
    item = ContractItem(keys.contract_pk(tenant, data["id"]), keys.CONTRACT_SK, **data)
    item.GSI1PK = keys.contracts_in(tenant, data["signed_on"][:7])
    item.GSI1SK = keys.sort_key(data["signed_at"], data["id"])
    return item


def get_contract(tenant: str, contract_id: str) -> tuple[ContractRecord, int] | None:
    try:
        item = ContractItem.get(keys.contract_pk(tenant, contract_id), keys.CONTRACT_SK, consistent_read=True)
    except ContractItem.DoesNotExist:
        return None
    return contract_record(item), int(item.version or 0)


def contract_with_payments(tenant: str, contract_id: str) -> tuple[ContractRecord | None, list[PaymentRecord]]:
    """The contract and its payments and refunds: one Query of its partition."""
    contract: ContractRecord | None = None
    payments: list[PaymentRecord] = []
    for item in BaseItem.query(keys.contract_pk(tenant, contract_id)):
        if isinstance(item, ContractItem):
            contract = contract_record(item)
        elif isinstance(item, PaymentItem):
            payments.append(payment_record(item))
    return contract, payments


def sign(
    tenant: str,
    contract: dict[str, Any],
    signed: list[tuple[Lead, int, HistoryEntry, str]],
    receivables: Sequence[tuple[ReceivableRecord, str]] = (),
) -> None:
    """The contract, and for each learner: the lead marked signed (under its version), its
    history and its link to the contract; and the contract's receivables (each filed for its
    first reminder): one transaction."""
    with transactions.write() as tx:
        tx.save(_contract_item(tenant, contract), condition=ContractItem.PK.does_not_exist(), label="contract")
        for receivable, remind_on in receivables:
            receivables_db.put(tx, tenant, receivable, remind_on)
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


def _contract_update(
    tx: transactions.Transaction, tenant: str, contract_id: str, version: int, changes: dict[str, Any]
) -> None:
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
    wallets: Sequence[WalletChange] = (),
    receivables: Sequence[ReceivableRecord] = (),
) -> None:
    """A payment or a refund with the contract's totals (under its version) and, for a
    refund, the credits clawed back from cards; for a payment, the receivables it covers:
    one transaction."""
    with transactions.write() as tx:
        _contract_update(tx, tenant, contract_id, version, changes)
        tx.save(_payment_item(tenant, payment), label="payment")
        for change in wallets:
            _wallet(tx, tenant, change)
        for receivable in receivables:
            receivables_db.change(tx, tenant, receivable)
        _claim(tx, tenant, claim)


def change_contract(
    tenant: str,
    contract_id: str,
    version: int,
    changes: dict[str, Any],
    receivables: Sequence[ReceivableRecord] = (),
) -> None:
    """The contract's fields (under its version), with its receivables as they become (voided: cancelled)."""
    with transactions.write() as tx:
        _contract_update(tx, tenant, contract_id, version, changes)
        for receivable in receivables:
            receivables_db.change(tx, tenant, receivable)


def _months(lo: str, hi: str) -> list[str]:
    year, month = int(lo[:4]), int(lo[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= hi[:7]:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


@overload
def list_by_month(
    tenant: str,
    what: Literal["contracts"],
    lo: str,
    hi: str,
    *,
    limit: int,
    cursor: str | None,
    scope: str,
    campus: str | None,
) -> tuple[list[ContractRecord], str | None]: ...


@overload
def list_by_month(
    tenant: str,
    what: Literal["payments"],
    lo: str,
    hi: str,
    *,
    limit: int,
    cursor: str | None,
    scope: str,
    campus: str | None,
) -> tuple[list[PaymentRecord], str | None]: ...


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
) -> tuple[list[ContractRecord], str | None] | tuple[list[PaymentRecord], str | None]:
    """Contracts signed (or payments dated) between two days, newest first: one Query per
    month partition of the range, merged."""
    model: type[ContractItem] | type[PaymentItem]
    model, partition = (ContractItem, keys.contracts_in) if what == "contracts" else (PaymentItem, keys.payments_in)
    parts = [partition(tenant, m) for m in _months(lo, hi)]
    filter_condition: Condition | None
    if what == "contracts":
        # signed_at is UTC; a day's margin either side, then the school date decides
        lo_key = (datetime.fromisoformat(lo) - timedelta(days=1)).date().isoformat()
        hi_key = (datetime.fromisoformat(hi) + timedelta(days=2)).date().isoformat()
        range_condition = model.GSI1SK.between(lo_key, hi_key)
        filter_condition = ContractItem.signed_on.between(lo, hi)  # model is ContractItem here
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
    if what == "contracts":  # the items of `model`
        return [contract_record(item) for item in cast(list[ContractItem], page.items)], page.cursor
    return [payment_record(item) for item in cast(list[PaymentItem], page.items)], page.cursor


def member_links(tenant: str, lead_id: str, prefix: str) -> list[str]:
    """Ids of a learner's contracts or cards (links in the lead's partition): one Query."""
    query = MemberLinkItem.query(keys.lead_pk(tenant, lead_id), MemberLinkItem.SK.startswith(prefix))
    return [i.other_id for i in query]


def members(tenant: str) -> list[str]:
    """Every learner who signed a contract (sparse GSI1 of the contract links), once each."""
    query = MemberLinkItem.gsi1.query(keys.members_of(tenant))
    return list(dict.fromkeys(item.GSI1SK.split("#", 1)[0] for item in query))


def batch_contracts(tenant: str, contract_ids: list[str]) -> list[ContractRecord]:
    keys_ = [(keys.contract_pk(tenant, c), keys.CONTRACT_SK) for c in contract_ids]
    return [contract_record(item) for item in ContractItem.batch_get(keys_)]
