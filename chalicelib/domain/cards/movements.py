"""Movements: spending, topping up, exchanges, event fees, adjustments and check-in.

A movement reads the card, decides which contract lots it takes from (wallets.py), and
writes the balance change with its ledger entry in one transaction whose conditions keep
every balance at or above zero and the card usable. When a condition fails (another
movement got there first) it reads again and decides again, so concurrent deductions
either fit the balance or are refused with INSUFFICIENT_BALANCE; nothing is overdrawn.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeAlias, cast

from chalicelib.db import cards as cards_db
from chalicelib.db import event_fees as event_fees_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import transactions
from chalicelib.db.cards.records import CardRecord, LedgerRecord, LotRecord
from chalicelib.db.event_fees import BookingRecord, FeeCharge
from chalicelib.domain import attendance, idempotency, leads, retry, teaching, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.cards.alerts import _after_movement
from chalicelib.domain.cards.common import (
    ADJUSTERS,
    CASH_DESK,
    Context,
    _entry,
    _insufficient,
    _invalid,
    _load,
    _not_found,
    _require_usable,
    _spender,
    effective_status,
    to_movement,
)
from chalicelib.domain.cards.lifecycle import _thaw
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError
from chalicelib.schemas.cards import CheckInRequest, CheckInResult, Movement, MovementRequest
from chalicelib.schemas.users import Role

TRIES = 25  # concurrent movements on one card retry after losing a race; each retry re-reads

# a movement's plan: (card, its wallet's card, ctx) -> the WalletChange and extra write arguments
Planned: TypeAlias = tuple[cards_db.WalletChange, dict[str, Any]]
Plan: TypeAlias = Callable[[CardRecord, CardRecord, Context], Planned]


def _settle(principal: Principal, card: CardRecord, ctx: Context) -> CardRecord:
    """Before spending: thaw a card whose freeze has ended, and write off the credits of
    contracts that have ended (an `expiry` movement). Returns the card as it now is."""
    changed = False
    if card["status"] == "frozen" and effective_status(card, ctx.today) == "active":
        _thaw(principal, card, ctx, automatic=True)
        changed = True
    gone = wallets.expired(card.get("lots") or {}, ctx.day)
    if gone and card["status"] != "replaced":
        total = sum(gone.values())
        entry = _entry(ctx, None, card["id"], "expiry", credits=total, lots=gone, reason="contract ended")
        change = cards_db.WalletChange(card["id"], entry, credits=total, lots=gone, usable=False)
        # someone else may write them off (or move them) first; the re-read below shows it
        with contextlib.suppress(transactions.TransactionConflict, transactions.TransactionBusy):
            cards_db.move(principal.tenant, [change])
        changed = True
    if not changed:
        return card
    settled = cards_db.get_card(principal.tenant, card["id"])
    if settled is None:  # cards are never deleted: the one just read is there (None crashed the plan)
        raise RuntimeError(f"card {card['id']} vanished while settling")
    return settled


def _wallet(principal: Principal, card: CardRecord, ctx: Context) -> CardRecord:
    """The card whose wallets a movement of `card` changes: its primary for a shared sub-card."""
    _require_usable(card, ctx)
    if not card.get("shared"):
        return _settle(principal, card, ctx)
    primary = cards_db.get_card(principal.tenant, card["primary_card_id"])
    if primary is None:
        raise _not_found()
    _require_usable(primary, ctx)
    return _settle(principal, primary, ctx)


def _run(
    principal: Principal, card_id: str, guard: idempotency.Guard, plan: Plan, *, holder_visible: bool = True
) -> Movement:
    """Reads, plans (`plan(card, wallet, ctx)` → a WalletChange and extra write arguments),
    writes; on a lost race reads again. Conditions, not this loop, keep balances >= 0.
    `holder_visible=False`: the caller may use the card without seeing its holder (a teacher
    checking in a learner of their roster; the plan's `_spender` still asks that the learner
    may use the card)."""
    ctx = Context(principal.tenant)
    first = [holder_visible]

    def attempt() -> Movement:
        ctx.tick()
        card = _load(principal, card_id, visible=first[0])
        first[0] = False
        wallet = _wallet(principal, card, ctx)
        change, extra = plan(card, wallet, ctx)
        if card["id"] != wallet["id"]:
            change.entry["used_card_id"] = card["id"]
            extra = {**extra, "usable_cards": [card["id"]]}
        change.entry.setdefault("lead_id", card["holder_lead_id"])
        if guard.key:
            change.entry["idempotency_key"] = guard.key
        movement = to_movement(cast(LedgerRecord, change.entry))  # as written (a None field is not stored)
        cards_db.move(principal.tenant, [change], claim=guard.claim(movement, 201), **extra)
        _after_movement(principal, wallet, change, ctx)
        return movement

    def on_conflict(exc: transactions.TransactionConflict) -> None:
        guard.check(exc.failed)
        for label in exc.failed:
            if label.startswith("conflict:"):
                _, code, message = label.split(":", 2)
                raise ConflictError(message, code=code) from exc

    give_up = ConflictError("The card is busy; try again.", code="CARD_BUSY")
    return retry.until_written(attempt, tries=TRIES, give_up=give_up, on_conflict=on_conflict)


def _take(wallet: CardRecord, wanted: int, ctx: Context, course_id: str | None = None) -> dict[str, int]:
    try:
        return wallets.take(wallet.get("lots") or {}, wanted, ctx.day, ctx.rules.deduction_order, course_id)
    except wallets.Insufficient as exc:
        raise _insufficient(exc) from exc


def _spend_cash(wallet: CardRecord, amount: int) -> None:
    if int(wallet.get("cash") or 0) < amount:
        raise _insufficient(wallets.Insufficient(amount, int(wallet.get("cash") or 0)), "cash")


def _plan(principal: Principal, request: MovementRequest) -> Plan:
    kind = request.kind
    credits = wallets.units(request.credits) if request.credits is not None else 0
    amount = wallets.units(request.amount) if request.amount is not None else 0

    def plan(card: CardRecord, wallet: CardRecord, ctx: Context) -> Planned:
        entry: dict[str, Any] = {"reason": request.reason}
        via = None
        if request.lead_id:
            via = _spender(principal.tenant, card, request.lead_id, ctx, "lead_id")
            entry["lead_id"] = request.lead_id
            entry["used_card_id"] = via["id"] if via else None
        lots: dict[str, int] = {}
        new_lots: dict[str, dict[str, Any]] = {}
        delta_credits = delta_cash = 0
        if kind == "deduction":
            lots = _take(wallet, credits, ctx)
            delta_credits = -credits
        elif kind == "purchase":
            _spend_cash(wallet, amount)
            delta_cash = -amount
        elif kind == "top_up":
            delta_cash = amount
            entry["method"] = request.method
        elif kind == "exchange":
            rate = ctx.rules.exchange_rate
            if not rate:
                raise ConflictError("This school does not exchange lessons for cash.", code="EXCHANGE_DISABLED")
            lots = _take(wallet, credits, ctx)
            delta_credits = -credits
            delta_cash = wallets.units(wallets.decimal(credits) * rate)
        elif kind == "event_fee":
            event_id = cast(str, request.event_id)  # MovementRequest: an event_fee names its event
            event = schedule_db.get_event(principal.tenant, event_id)
            if event is None:
                raise _invalid("event_id", "unknown event")
            pay_with = request.pay_with or ("credits" if event.get("fee_credits") else "cash")
            fee = event.get("fee_credits") if pay_with == "credits" else event.get("fee_amount")
            if not fee:
                raise _invalid("pay_with", f"the event has no fee in {pay_with}")
            entry["event_id"] = event_id
            learner = entry.get("lead_id") or card["holder_lead_id"]
            booked = event_fees_db.get_booking(principal.tenant, event_id, learner)
            if booked is None or booked["state"] != "booked":
                raise ConflictError("The learner has no booked place at this event.", code="EVENT_NOT_BOOKED")
            if pay_with == "credits":
                lots = _take(wallet, wallets.units(fee), ctx)
                delta_credits = -wallets.units(fee)
            else:
                _spend_cash(wallet, wallets.units(fee))
                delta_cash = -wallets.units(fee)
        elif kind == "adjustment":
            delta_cash = amount
            if delta_cash < 0:
                _spend_cash(wallet, -delta_cash)
            delta_credits = credits
            target = request.contract_id or wallets.MANUAL
            have = wallet.get("lots") or {}
            if credits > 0:
                if target in have:
                    lots = {target: credits}
                elif target == wallets.MANUAL:
                    new_lots = {target: {"units": credits, "starts_on": None, "ends_on": None, "courses": []}}
                else:
                    raise _invalid("contract_id", "the card holds no credits of this contract")
            elif credits < 0:
                if request.contract_id:
                    held = int((have.get(target) or cast(LotRecord, {})).get("units") or 0)  # no lot: none held
                    if held < -credits:
                        raise _insufficient(wallets.Insufficient(-credits, held))
                    lots = {target: credits}
                else:
                    lots = _take(wallet, -credits, ctx)
            entry["contract_id"] = request.contract_id
        entry = _entry(
            ctx,
            principal,
            wallet["id"],
            kind,
            credits=delta_credits,
            amount=delta_cash,
            lots=lots | {cid: lot["units"] for cid, lot in new_lots.items()},
            **{k: v for k, v in entry.items() if v is not None},
        )
        change = cards_db.WalletChange(
            wallet["id"], entry, credits=delta_credits, cash=delta_cash, lots=lots, new_lots=new_lots, today=ctx.day
        )
        extra: dict[str, Any] = {"usable_cards": [via["id"]]} if via else {}
        if kind == "event_fee":  # once per booking: its fee item, and the booking still booked, in this transaction
            booked = cast(BookingRecord, booked)  # the event_fee branch above refused a missing booking
            fee = {
                "appointment_id": booked["appointment_id"],
                "lead_id": booked["lead_id"],
                "card_id": wallet["id"],
                "credits": -delta_credits,
                "amount": -delta_cash,
                "lots": {cid: -units for cid, units in lots.items()},
                "charged_at": entry["at"],
            }
            marker, still_booked = event_fees_db.fee_ops(principal.tenant, event_id, cast(FeeCharge, fee))
            extra |= {"new_items": [marker], "updates": [still_booked]}
        return change, extra

    return plan


def move(principal: Principal, card_id: str, request: MovementRequest, key: str | None) -> Movement:
    if request.kind in ("top_up", "exchange") and principal.role not in CASH_DESK:
        raise ForbiddenError("Top-ups and exchanges are for the front desk and finance.", code="ROLE_FORBIDDEN")
    if request.kind == "adjustment" and principal.role not in ADJUSTERS:
        raise ForbiddenError("Only managers and admins adjust balances.", code="ROLE_FORBIDDEN")
    if principal.role is Role.teacher:
        raise ForbiddenError("Teachers do not move card balances.", code="ROLE_FORBIDDEN")
    if request.lead_id:  # the learner named must exist, as at check-in; whether they may use the card: _spender
        leads.require_live(leads.visible_lead(principal, request.lead_id))
    print_ = idempotency.fingerprint("movement", card_id, request.model_dump(mode="json"))
    plan = _plan(principal, request)
    return idempotency.once(principal.tenant, key, print_, Movement, lambda g: _run(principal, card_id, g, plan))


def check_in(principal: Principal, session_id: str, request: CheckInRequest, key: str | None) -> CheckInResult:
    """A member arrives for a class: a regular seat, their booking and the course's lesson
    cost off their card, all in one transaction (a second check-in is refused). A teacher
    checks in the enrolled members of their own sessions only (domain/teaching.py)."""
    session = schedule_db.get_session(principal.tenant, session_id)
    if session is None:
        raise NotFoundError("No such session.", code="SESSION_NOT_FOUND")
    teacher = principal.role is Role.teacher
    # a teacher learns nothing of a session not theirs (not even that it was cancelled)
    on_roster = teaching.check_in_learner(principal, session, request.lead_id) if teacher else None
    if session.get("cancelled"):
        raise ConflictError("The session was cancelled.", code="SESSION_CANCELLED")
    lead = leads.require_live(on_roster or leads.visible_lead(principal, request.lead_id))
    attendance.check_open(principal.tenant, attendance.session_start(session), field="session_id")
    course = schedule_db.get_course(principal.tenant, session["course_id"]) or {}
    cost = wallets.units(course.get("lesson_cost") or 0)
    card_id = request.card_id or _only_card(principal, lead.id)

    def plan(card: CardRecord, wallet: CardRecord, ctx: Context) -> Planned:
        via = _spender(principal.tenant, card, lead.id, ctx, "card_id")
        lots = _take(wallet, cost, ctx, session["course_id"])
        entry = _entry(
            ctx,
            principal,
            wallet["id"],
            "attendance",
            credits=-cost,
            lots=lots,
            session_id=session_id,
            lead_id=lead.id,
            reason=f"{session['course_name']} {session['date']} {session['start']}",
            **({"used_card_id": via["id"]} if via else {}),
        )
        booking, seat = schedule_db.check_in_ops(
            principal.tenant, session_id, lead.id, lead.name, entry["id"], entry["at"]
        )
        change = cards_db.WalletChange(wallet["id"], entry, credits=-cost, lots=lots, today=ctx.day)
        return change, {"new_items": [booking], "updates": [seat], **({"usable_cards": [via["id"]]} if via else {})}

    print_ = idempotency.fingerprint("check-in", session_id, request.model_dump(mode="json"))

    def run(guard: idempotency.Guard) -> CheckInResult:
        movement = _run(principal, card_id, guard, plan, holder_visible=not teacher)
        return CheckInResult(session_id=session_id, lead_id=lead.id, movement=movement)

    return idempotency.once(principal.tenant, key, print_, CheckInResult, run)


def _only_card(principal: Principal, lead_id: str) -> str:
    today = Context(principal.tenant).today
    found = cards_db.batch_cards(principal.tenant, cards_db.member_links(principal.tenant, lead_id, "CARD#"))
    live = [c for c in found if effective_status(c, today) in ("active", "frozen", "lost")]
    if not live:
        raise ConflictError("This learner has no card.", code="NO_CARD")
    if len(live) > 1:
        raise _invalid("card_id", "the learner has several cards; choose one")
    card_id: str = live[0]["id"]
    return card_id
