"""Opening cards (开卡): a card with a learner's contract credits, a sub-card (附属卡)
sharing or holding a share of a primary's credits, and more of a contract put on a card.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeAlias, cast

from chalicelib.db import cards as cards_db
from chalicelib.db import transactions
from chalicelib.db.cards.records import CardRecord, LedgerRecord, LotRecord
from chalicelib.domain import clock, contracts, idempotency, ids, leads, phones, retry, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.cards.alerts import alert_on
from chalicelib.domain.cards.common import (
    ISSUERS,
    Context,
    _entry,
    _history,
    _insufficient,
    _invalid,
    _load,
    _require_usable,
    to_card,
    to_movement,
)
from chalicelib.errors import ConflictError, ForbiddenError
from chalicelib.schemas.cards import Card, CardContractRequest, CardOpenRequest, Movement, SubCardRequest
from chalicelib.schemas.leads import HistoryEntry, Lead

# what a card's `build(number)` gives `_open` to write: the card, its history entry, its credit
# movement, the contracts' changes, the primary's funding movement and the primary's id
Built: TypeAlias = tuple[
    dict[str, Any],
    tuple[HistoryEntry, str],
    cards_db.WalletChange | None,
    list[tuple[str, int, dict[str, Any]]],
    cards_db.WalletChange | None,
    str | None,
]


def _new_number() -> str:
    return str(10**9 + secrets.randbelow(9 * 10**9))  # ten digits, unguessable


def _allocate(
    principal: Principal,
    ctx: Context,
    card_id: str,
    holder_id: str,
    contract_ids: list[str],
    wanted: dict[str, Any] | None,
) -> tuple[dict[str, LotRecord], list[tuple[str, int, dict[str, Any]]]]:
    """Credits each contract puts on the card, and the contract changes that go with them."""
    lots: dict[str, LotRecord] = {}
    changes: list[tuple[str, int, dict[str, Any]]] = []
    for contract_id in dict.fromkeys(contract_ids):
        loaded = cards_db.get_contract(principal.tenant, contract_id)
        if loaded is None or not contracts.can_see(principal, loaded[0]):
            raise _invalid("contract_ids", f"unknown contract {contract_id}")
        data, version = loaded
        if holder_id not in data["lead_ids"]:
            raise _invalid("contract_ids", f"contract {contract_id} does not sign this learner")
        if contracts.status_of(data, ctx.today) in ("void", "refunded", "expired"):
            raise ConflictError(
                f"Contract {contract_id} is closed; its credits cannot go on a card.", code="CONTRACT_CLOSED"
            )
        free = int(data.get("unallocated") or 0)
        amount = wallets.units(wanted[contract_id]) if wanted and contract_id in wanted else free
        if amount > free:
            raise ConflictError(
                f"Contract {contract_id} has only {wallets.decimal(free)} credits left to put on a card.",
                code="INSUFFICIENT_BALANCE",
                details=[{"field": "credits", "message": f"{wallets.decimal(free)} available"}],
            )
        lots[contract_id] = {
            "units": amount,
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "courses": data.get("course_ids") or [],
        }
        fed = data.get("card_ids") or []
        card_ids = fed if card_id in fed else [*fed, card_id]
        changes.append((contract_id, version, {"unallocated": free - amount, "card_ids": card_ids}))
    return lots, changes


def _card_data(ctx: Context, principal: Principal, holder: Lead, number: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": ids.new_id(),
        "number": number,
        "holder_lead_id": holder.id,
        "holder_name": holder.name,
        "campus_id": holder.campus_id,
        "status": "active",
        "credits": 0,
        "cash": 0,
        "lots": {},
        "sub_cards": {},
        "created_by": principal.user_id,
        "created_at": clock.iso(ctx.now),
        "updated_at": clock.iso(ctx.now),
        **fields,
    }


def _number_taken(number: str | None) -> Callable[[transactions.TransactionConflict], None]:
    """A failed number claim: the number asked for is someone else's; an issued one is re-drawn."""

    def check(exc: transactions.TransactionConflict) -> None:
        if "number" in exc.failed and number:
            raise ConflictError(f"Card number {number} is taken.", code="CARD_NUMBER_TAKEN") from exc

    return check


def _open(principal: Principal, build: Callable[[str], Built], number: str | None) -> CardRecord:
    """Writes a new card built by `build(number)`; contracts changed meanwhile are read again."""

    def attempt() -> CardRecord:
        card, history, credit, allocations, funding, primary_id = build(number or _new_number())
        cards_db.open_card(principal.tenant, card, history, credit, allocations, funding=funding, primary_id=primary_id)
        return cast(CardRecord, card)  # as written (a None field is not stored; open_card took `alert_on` out)

    def on_conflict(exc: transactions.TransactionConflict) -> None:
        _number_taken(number)(exc)
        if "primary" in exc.failed or "wallet" in exc.failed:
            raise ConflictError(
                "The primary card changed meanwhile (not active, or its credits moved); try again.",
                code="CARD_CONFLICT",
            ) from exc

    give_up = ConflictError("The contracts kept changing; try again.", code="EDIT_CONFLICT")
    return retry.until_written(attempt, tries=contracts.TRIES, give_up=give_up, on_conflict=on_conflict)


def open_card(principal: Principal, request: CardOpenRequest) -> Card:
    if principal.role not in ISSUERS:
        raise ForbiddenError("Your role may not open cards.", code="ROLE_FORBIDDEN")
    holder = leads.require_live(leads.visible_lead(principal, request.holder_lead_id))
    ctx = Context(principal.tenant)
    unknown = set(request.credits or {}) - set(request.contract_ids)
    if unknown:
        raise _invalid("credits", f"not among contract_ids: {', '.join(sorted(unknown))}")
    holder_phone = phones.normalise(request.holder_phone, ctx.region, "holder_phone") if request.holder_phone else None

    def build(number: str) -> Built:
        card_id = ids.new_id()
        lots, allocations = _allocate(principal, ctx, card_id, holder.id, request.contract_ids, request.credits)
        total = sum(lot["units"] for lot in lots.values())
        card = _card_data(
            ctx,
            principal,
            holder,
            number,
            id=card_id,
            credits=total,
            lots=lots,
            holder_phone=holder_phone,
            holder_note=request.holder_note,
            alert_on=alert_on(lots, ctx.alerts.expiry_warning_days, ctx.today),
        )
        credit = None
        if total:
            entry = _entry(
                ctx,
                principal,
                card["id"],
                "contract_credit",
                credits=total,
                lots={cid: lot["units"] for cid, lot in lots.items()},
            )
            credit = cards_db.WalletChange(card["id"], entry, credits=total)
        history = _history(principal, ctx, "opened", number=number, contracts=list(lots))
        return card, history, credit, allocations, None, None

    return to_card(_open(principal, build, request.number), ctx)


def open_sub_card(principal: Principal, primary_id: str, request: SubCardRequest) -> Card:
    """A sub-card (附属卡) for another learner: sharing the primary's wallets, or holding a
    fixed share of its credits that only the sub-card's learner can use."""
    if principal.role not in ISSUERS:
        raise ForbiddenError("Your role may not open cards.", code="ROLE_FORBIDDEN")
    ctx = Context(principal.tenant)
    primary = _load(principal, primary_id)
    if primary.get("primary_card_id"):
        raise ConflictError("A sub-card cannot have sub-cards of its own.", code="NOT_A_PRIMARY_CARD")
    _require_usable(primary, ctx)
    if len(primary.get("sub_cards") or {}) >= ctx.rules.max_sub_cards:
        raise ConflictError(f"A card has at most {ctx.rules.max_sub_cards} sub-cards.", code="TOO_MANY_SUB_CARDS")
    holder = leads.require_live(leads.visible_lead(principal, request.holder_lead_id))
    if holder.id == primary["holder_lead_id"]:
        raise _invalid("holder_lead_id", "the primary card's own holder")

    def build(number: str) -> Built:
        fields = {"primary_card_id": primary_id, "shared": request.shared}
        card = _card_data(ctx, principal, holder, number, **fields)
        history = _history(principal, ctx, "opened", number=number, primary=primary_id, shared=request.shared)
        if request.shared:
            return card, history, None, [], None, primary_id
        fresh = _load(principal, primary_id, visible=False)
        wanted = wallets.units(cast(Decimal, request.credits))  # SubCardRequest: an unshared sub-card has credits
        try:
            taken = wallets.take(fresh.get("lots") or {}, wanted, ctx.day, ctx.rules.deduction_order)
        except wallets.Insufficient as exc:
            raise _insufficient(exc) from exc
        lots: dict[str, LotRecord] = {cid: {**fresh["lots"][cid], "units": -delta} for cid, delta in taken.items()}
        card |= {"credits": wanted, "lots": lots, "alert_on": alert_on(lots, ctx.alerts.expiry_warning_days, ctx.today)}
        out = _entry(ctx, principal, primary_id, "share", credits=-wanted, lots=taken, reason=f"sub-card {number}")
        funding = cards_db.WalletChange(primary_id, out, credits=-wanted, lots=taken, today=ctx.day)
        into = _entry(ctx, principal, card["id"], "share", credits=wanted, lots={c: -d for c, d in taken.items()})
        credit = cards_db.WalletChange(card["id"], into, credits=wanted)
        return card, history, credit, [], funding, primary_id

    return to_card(_open(principal, build, request.number), ctx)


def add_contract(principal: Principal, card_id: str, request: CardContractRequest, key: str | None) -> Movement:
    """Puts (more of) a contract's credits on an existing card."""
    if principal.role not in ISSUERS:
        raise ForbiddenError("Your role may not change cards.", code="ROLE_FORBIDDEN")
    print_ = idempotency.fingerprint("card-contract", card_id, request.model_dump(mode="json"))

    def run(guard: idempotency.Guard) -> Movement:
        def attempt() -> Movement:
            ctx = Context(principal.tenant)
            card = _load(principal, card_id)
            _require_usable(card, ctx)
            if card.get("shared"):
                raise ConflictError(
                    "A shared sub-card has no wallet; add the contract to its primary.", code="SHARED_CARD"
                )
            wanted = {request.contract_id: request.credits} if request.credits is not None else None
            lots, allocations = _allocate(
                principal, ctx, card_id, card["holder_lead_id"], [request.contract_id], wanted
            )
            (cid, lot), (_, version, changes) = next(iter(lots.items())), allocations[0]
            units = lot["units"]
            entry = _entry(
                ctx, principal, card_id, "contract_credit", credits=units, lots={cid: units}, contract_id=cid
            )
            existing = cid in (card.get("lots") or {})
            change = cards_db.WalletChange(
                card_id,
                entry,
                credits=units,
                lots={cid: units} if existing else {},
                new_lots={} if existing else {cid: lot},
                today=ctx.day,
            )
            movement = to_movement(cast(LedgerRecord, entry))  # as written (a None field is not stored)
            claim = guard.claim(movement, 201)
            cards_db.move(principal.tenant, [change], claim=claim, contracts=[(cid, version, changes)])
            return movement

        give_up = ConflictError("The card or contract kept changing; try again.", code="EDIT_CONFLICT")
        return retry.until_written(attempt, tries=contracts.TRIES, give_up=give_up, on_conflict=guard.on_conflict)

    return idempotency.once(principal.tenant, key, print_, Movement, run)
