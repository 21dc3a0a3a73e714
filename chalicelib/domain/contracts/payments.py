"""Payments, refunds (clawing unused credits back from the cards) and voiding.

A contract's totals change only under its `version` (optimistic lock) and together with
the payment or refund that changes them, so two cashiers never overwrite each other and
nothing is paid twice.
"""

from __future__ import annotations

from typing import cast

from chalicelib.db import cards as cards_db
from chalicelib.db import receivables as receivables_db
from chalicelib.db import transactions
from chalicelib.db.cards.records import CardRecord, ContractRecord, LotRecord, PaymentRecord
from chalicelib.domain import clock, idempotency, ids, receivables, retry, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.contracts.common import (
    CASHIERS,
    TRIES,
    VOIDERS,
    _busy,
    _invalid,
    figures,
    status_of,
    to_contract,
    to_payment,
    today_for,
)
from chalicelib.domain.contracts.reading import _load
from chalicelib.errors import ConflictError, ForbiddenError
from chalicelib.schemas.cards import Contract, PaymentRequest, PaymentResult, RefundRequest, VoidRequest


def _cashier(principal: Principal) -> None:
    if principal.role not in CASHIERS:
        raise ForbiddenError("Only finance, managers and admins record payments and refunds.", code="ROLE_FORBIDDEN")


def pay(principal: Principal, contract_id: str, request: PaymentRequest, key: str | None) -> PaymentResult:
    _cashier(principal)
    print_ = idempotency.fingerprint("payment", contract_id, request.model_dump(mode="json"))
    return idempotency.once(
        principal.tenant, key, print_, PaymentResult, lambda guard: _pay(principal, contract_id, request, guard)
    )


def _pay(principal: Principal, contract_id: str, request: PaymentRequest, guard: idempotency.Guard) -> PaymentResult:
    today = today_for(principal.tenant)
    paid_on = request.paid_on or today
    if paid_on > today:
        raise _invalid("paid_on", "must not be in the future")
    amount = wallets.units(request.amount)

    def attempt() -> PaymentResult:
        data, version = _load(principal, contract_id)
        state = status_of(data, today)
        if state in ("void", "refunded"):
            raise ConflictError(f"The contract is {state}; it takes no payments.", code="CONTRACT_CLOSED")
        due = figures(data).due
        if amount > due:
            raise ConflictError(
                f"That is more than the {wallets.decimal(due)} still due.",
                code="OVERPAYMENT",
                details=[{"field": "amount", "message": f"at most {wallets.decimal(due)}"}],
            )
        now = clock.now()
        payment = {
            "id": ids.new_id(),
            "contract_id": contract_id,
            "campus_id": data["campus_id"],
            "payment_kind": "payment",
            "amount": amount,
            "method": request.method,
            "paid_on": paid_on.isoformat(),
            "credits": 0,
            "note": request.note,
            "by": principal.user_id,
            "by_name": principal.display_name,
            "at": clock.iso(now),
        }
        changes = {"paid": int(data.get("paid") or 0) + amount}
        # the payment and the contract as written (a None field is not stored: read back, it is absent)
        shown = cast(PaymentRecord, payment), cast(ContractRecord, {**data, **changes})
        result = PaymentResult(payment=to_payment(shown[0]), contract=to_contract(shown[1], today))
        owed = receivables_db.of_contract(principal.tenant, contract_id)  # they change only under the version
        cards_db.record_payment(
            principal.tenant,
            contract_id,
            version,
            changes,
            payment,
            claim=guard.claim(result, 201),
            receivables=receivables.cover(owed, changes["paid"], paid_on.isoformat()),
        )
        return result

    return retry.until_written(attempt, tries=TRIES, give_up=_busy(), on_conflict=guard.on_conflict)


def refund(principal: Principal, contract_id: str, request: RefundRequest, key: str | None) -> PaymentResult:
    _cashier(principal)
    print_ = idempotency.fingerprint("refund", contract_id, request.model_dump(mode="json"))
    return idempotency.once(
        principal.tenant, key, print_, PaymentResult, lambda guard: _refund(principal, contract_id, request, guard)
    )


def _cards_holding(tenant: str, contract_id: str, card_ids: list[str]) -> list[CardRecord]:
    """The cards (following reissues, and sub-cards given a share) holding this contract's credits."""
    seen: dict[str, CardRecord] = {}
    queue = list(card_ids)
    while queue and len(seen) < 50:
        card_id = queue.pop(0)
        if card_id in seen:
            continue
        card = cards_db.get_card(tenant, card_id)
        if card is None:
            continue
        seen[card_id] = card
        queue += [c for c in (card.get("replaced_by"), *(card.get("sub_cards") or {})) if c]
    no_lot = cast(LotRecord, {})  # a card without this contract's lot holds none of it
    return [c for c in seen.values() if int(((c.get("lots") or {}).get(contract_id) or no_lot).get("units") or 0) > 0]


def _refund(principal: Principal, contract_id: str, request: RefundRequest, guard: idempotency.Guard) -> PaymentResult:
    today = today_for(principal.tenant)
    refunded_on = request.refunded_on or today
    amount = wallets.units(request.amount)

    def attempt() -> PaymentResult:
        data, version = _load(principal, contract_id)
        if data.get("voided_at"):
            raise ConflictError("The contract is void.", code="CONTRACT_CLOSED")
        refundable = figures(data).kept
        if amount > refundable:
            raise ConflictError(
                f"At most {wallets.decimal(refundable)} can be refunded.",
                code="REFUND_TOO_LARGE",
                details=[{"field": "amount", "message": f"at most {wallets.decimal(refundable)}"}],
            )
        holding = _cards_holding(principal.tenant, contract_id, data.get("card_ids") or [])
        unallocated = int(data.get("unallocated") or 0)
        on_cards = [(c, int(c["lots"][contract_id]["units"])) for c in holding]
        available = unallocated + sum(units for _, units in on_cards)
        wanted = available if request.credits is None else wallets.units(request.credits)
        if wanted > available:
            raise ConflictError(
                f"Only {wallets.decimal(available)} credits of this contract are unused.",
                code="INSUFFICIENT_BALANCE",
                details=[{"field": "credits", "message": f"at most {wallets.decimal(available)}"}],
            )
        now = clock.now()
        at = clock.iso(now)
        from_pool = min(unallocated, wanted)
        left = wanted - from_pool
        changes_on_cards = []
        for card, units in on_cards:
            part = min(units, left)
            if part == 0:
                break
            left -= part
            entry = {
                "id": ids.new_id(),
                "card_id": card["id"],
                "movement": "refund",
                "credits": -part,
                "amount": 0,
                "lots": {contract_id: -part},
                "at": at,
                "by": principal.user_id,
                "by_name": principal.display_name,
                "reason": request.reason,
                "contract_id": contract_id,
            }
            changes_on_cards.append(
                cards_db.WalletChange(card["id"], entry, credits=-part, lots={contract_id: -part}, usable=False)
            )
        payment = {
            "id": ids.new_id(),
            "contract_id": contract_id,
            "campus_id": data["campus_id"],
            "payment_kind": "refund",
            "amount": amount,
            "method": request.method,
            "paid_on": refunded_on.isoformat(),
            "credits": wanted,
            "reason": request.reason,
            "by": principal.user_id,
            "by_name": principal.display_name,
            "at": at,
        }
        changes = {
            "refunded": int(data.get("refunded") or 0) + amount,
            "clawed_back": int(data.get("clawed_back") or 0) + wanted,
            "unallocated": unallocated - from_pool,
        }
        # the payment and the contract as written (a None field is not stored: read back, it is absent)
        shown = cast(PaymentRecord, payment), cast(ContractRecord, {**data, **changes})
        result = PaymentResult(payment=to_payment(shown[0]), contract=to_contract(shown[1], today))
        cards_db.record_payment(
            principal.tenant,
            contract_id,
            version,
            changes,
            payment,
            claim=guard.claim(result, 201),
            wallets=changes_on_cards,
        )
        return result

    # the contract or a card may move meanwhile: then everything is read and decided again
    return retry.until_written(attempt, tries=TRIES, give_up=_busy(), on_conflict=guard.on_conflict)


def void(principal: Principal, contract_id: str, request: VoidRequest) -> Contract:
    if principal.role not in VOIDERS:
        raise ForbiddenError("Only managers and admins void contracts.", code="ROLE_FORBIDDEN")
    data, version = _load(principal, contract_id)
    total = int(data["credits"]) + int(data.get("gift_credits") or 0)
    if data.get("voided_at"):
        return to_contract(data, today_for(principal.tenant))
    if figures(data).kept or int(data.get("unallocated") or 0) != total:
        raise ConflictError(
            "Only a contract with no money kept and no credits on a card can be voided; refund it instead.",
            code="CONTRACT_IN_USE",
        )
    changes = {"voided_at": clock.iso(clock.now()), "void_reason": request.reason, "unallocated": 0}
    owed = receivables.cancelled(receivables_db.of_contract(principal.tenant, contract_id))
    try:
        cards_db.change_contract(principal.tenant, contract_id, version, changes, owed)
    except transactions.TransactionConflict as exc:
        raise ConflictError("The contract changed meanwhile; reload it.", code="EDIT_CONFLICT") from exc
    return to_contract(cast(ContractRecord, {**data, **changes}), today_for(principal.tenant))  # as written
