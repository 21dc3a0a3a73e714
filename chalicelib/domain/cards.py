"""Membership cards (会员卡): opening, sub-cards, movements, check-in, lifecycle.

A movement reads the card, decides which contract lots it takes from (wallets.py), and
writes the balance change with its ledger entry in one transaction whose conditions keep
every balance at or above zero and the card usable. When a condition fails (another
movement got there first) it reads again and decides again, so concurrent deductions
either fit the balance or are refused with INSUFFICIENT_BALANCE; nothing is overdrawn.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import cards as cards_db
from chalicelib.db import event_fees as event_fees_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import transactions
from chalicelib.domain import attendance, clock, config, contracts, idempotency, ids, leads, phones, retry, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.card_users import card_user, not_on_card
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.cards import (
    Card,
    CardContractRequest,
    CardListQuery,
    CardOpenRequest,
    CardPatchRequest,
    CheckInRequest,
    CheckInResult,
    FreezeRequest,
    LedgerQuery,
    Lot,
    Movement,
    MovementRequest,
    ReissueRequest,
    SubCardRequest,
)
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.leads import HistoryEntry
from chalicelib.schemas.users import Role

CASH_DESK = frozenset({Role.frontdesk, Role.finance, Role.manager, Role.admin})
ADJUSTERS = frozenset({Role.manager, Role.admin})
ISSUERS = frozenset({Role.frontdesk, Role.finance, Role.manager, Role.admin, Role.supervisor, Role.consultant})
TRIES = 25  # concurrent movements on one card retry after losing a race; each retry re-reads


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _not_found() -> NotFoundError:
    return NotFoundError("No such card.", code="CARD_NOT_FOUND")


class Context:
    """What a card operation needs of its tenant: today in school time, and the card rules."""

    def __init__(self, tenant: str):
        self.tenant = tenant
        record = get_tenant(tenant)
        self.zone = ZoneInfo(record.timezone)
        self.region = record.phone_region  # a holder phone is stored as E.164
        self.now = clock.now()
        self.today = self.now.astimezone(self.zone).date()
        loaded = config.load(tenant)
        self.rules = loaded.card_settings
        self.alerts = loaded.messaging  # low-credit threshold, expiry warning days

    def tick(self) -> Context:
        """The same tenant and rules, the time read again (for a retry)."""
        self.now = clock.now()
        self.today = self.now.astimezone(self.zone).date()
        return self

    @property
    def day(self) -> str:
        return self.today.isoformat()

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone)


def alert_on(lots: dict[str, dict[str, Any]], warning_days: int, after: date) -> str | None:
    """The next day a card should be looked at for credits about to expire: the earliest
    (end − warning days) of a lot still holding credits, not before `after`."""
    days = [
        max(date.fromisoformat(lot["ends_on"]) - timedelta(days=warning_days), after)
        for lot in lots.values()
        if lot.get("ends_on") and int(lot.get("units") or 0) > 0 and lot["ends_on"] >= after.isoformat()
    ]
    return min(days).isoformat() if days else None


def _after_movement(principal: Principal, wallet: dict[str, Any], change: Any, ctx: Context) -> None:
    """A movement that takes usable credits below the school's threshold files the card for
    today's card_alerts run (an extra write only when the threshold is crossed)."""
    if change.credits >= 0:
        return
    threshold = wallets.units(ctx.alerts.low_credit_threshold)
    before = wallets.available(wallet.get("lots") or {}, ctx.day)
    if before >= threshold > before + change.credits:
        cards_db.file_alert(principal.tenant, wallet["id"], ctx.now.date().isoformat())


def effective_status(card: dict[str, Any], today: date) -> str:
    """A frozen card past its last frozen day is active again."""
    if card["status"] == "frozen" and card.get("frozen_until") and card["frozen_until"] < today.isoformat():
        return "active"
    return card["status"]


_COMPUTED = ("credits", "cash", "lots", "status", "sub_cards", "holder_phone")  # not copied as stored


def to_card(card: dict[str, Any], ctx: Context) -> Card:
    lots = card.get("lots") or {}
    return Card(
        **{k: v for k, v in card.items() if k not in _COMPUTED},
        holder_phone=phones.mask(card["holder_phone"]) if card.get("holder_phone") else None,  # like every phone
        status=effective_status(card, ctx.today),
        credits=wallets.decimal(card.get("credits")),
        usable_credits=wallets.decimal(wallets.available(lots, ctx.day)),
        cash=wallets.decimal(card.get("cash")),
        lots=[
            Lot(
                contract_id=contract_id,
                credits=wallets.decimal(lot.get("units")),
                starts_on=lot.get("starts_on"),
                ends_on=lot.get("ends_on"),
                usable=wallets.usable(lot, ctx.day),
            )
            for contract_id, lot in wallets.ordered(lots, ctx.rules.deduction_order)
        ],
        sub_card_ids=sorted(card.get("sub_cards") or {}),
    )


def to_movement(entry: dict[str, Any]) -> Movement:
    return Movement(
        **{k: v for k, v in entry.items() if k not in ("movement", "credits", "amount", "lots")},
        kind=entry["movement"],
        credits=wallets.decimal(entry.get("credits")),
        amount=wallets.decimal(entry.get("amount")),
        lots={k: wallets.decimal(v) for k, v in (entry.get("lots") or {}).items()},
    )


def _entry(ctx: Context, principal: Principal | None, card_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": ids.new_id(),
        "card_id": card_id,
        "movement": kind,
        "credits": 0,
        "amount": 0,
        "lots": {},
        "at": clock.iso(ctx.now),
        "by": principal.user_id if principal else None,
        "by_name": principal.display_name if principal else None,
        **fields,
    }


def _history(principal: Principal | None, ctx: Context, action: str, **details: Any) -> tuple[HistoryEntry, str]:
    entry = HistoryEntry(at=ctx.now, by=principal.user_id if principal else None, action=action, details=details)
    return entry, ids.new_id()


def _load(principal: Principal, card_id: str, *, visible: bool = True) -> dict[str, Any]:
    card = cards_db.get_card(principal.tenant, card_id)
    if card is None:
        raise _not_found()
    if visible:
        try:
            leads.visible_lead(principal, card["holder_lead_id"])
        except NotFoundError as exc:
            raise _not_found() from exc  # a card of a learner you may not see does not exist for you
    return card


def _require_usable(card: dict[str, Any], ctx: Context) -> None:
    status = effective_status(card, ctx.today)
    if status == "lost":
        raise ConflictError(f"Card {card['number']} is reported lost; it takes no movements.", code="CARD_LOST")
    if status == "frozen":
        until = f" until {card['frozen_until']}" if card.get("frozen_until") else ""
        raise ConflictError(
            f"Card {card['number']} is frozen{until} ({card.get('frozen_reason')}).", code="CARD_FROZEN"
        )
    if status == "replaced":
        raise ConflictError(
            f"Card {card['number']} was replaced by a new card ({card.get('replaced_by')}); its number is dead.",
            code="CARD_REPLACED",
        )


def _insufficient(exc: wallets.Insufficient, what: str = "credits") -> ConflictError:
    have = wallets.decimal(exc.available)
    return ConflictError(
        f"Not enough {what}: {wallets.decimal(exc.wanted)} needed, {have} available.",
        code="INSUFFICIENT_BALANCE",
        details=[{"field": what, "message": f"{have} available"}],
    )


def _spender(tenant: str, card: dict[str, Any], lead_id: str, ctx: Context, field: str) -> dict[str, Any] | None:
    """Refuses a learner who may not use `card` (400 LEARNER_NOT_ON_CARD naming `field`); for
    a shared sub-card's learner spending through the primary, that sub-card (which must be
    usable itself), else None."""
    used = card_user(tenant, card, lead_id)
    if used is None:
        raise not_on_card(field)
    if used["id"] == card["id"]:
        return None
    _require_usable(used, ctx)
    return used


# --- opening -----------------------------------------------------------------------


def _new_number() -> str:
    return str(10**9 + secrets.randbelow(9 * 10**9))  # ten digits, unguessable


def _allocate(
    principal: Principal,
    ctx: Context,
    card_id: str,
    holder_id: str,
    contract_ids: list[str],
    wanted: dict[str, Any] | None,
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, int, dict[str, Any]]]]:
    """Credits each contract puts on the card, and the contract changes that go with them."""
    lots, changes = {}, []
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


def _card_data(ctx: Context, principal: Principal, holder, number: str, **fields: Any) -> dict[str, Any]:
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


def _number_taken(number: str | None) -> Any:
    """A failed number claim: the number asked for is someone else's; an issued one is re-drawn."""

    def check(exc: transactions.TransactionConflict) -> None:
        if "number" in exc.failed and number:
            raise ConflictError(f"Card number {number} is taken.", code="CARD_NUMBER_TAKEN") from exc

    return check


def _open(principal: Principal, build: Any, number: str | None) -> dict[str, Any]:
    """Writes a new card built by `build(number)`; contracts changed meanwhile are read again."""

    def attempt() -> dict[str, Any]:
        card, history, credit, allocations, funding, primary_id = build(number or _new_number())
        cards_db.open_card(principal.tenant, card, history, credit, allocations, funding=funding, primary_id=primary_id)
        return card

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

    def build(number: str):
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

    def build(number: str):
        fields = {"primary_card_id": primary_id, "shared": request.shared}
        card = _card_data(ctx, principal, holder, number, **fields)
        history = _history(principal, ctx, "opened", number=number, primary=primary_id, shared=request.shared)
        if request.shared:
            return card, history, None, [], None, primary_id
        fresh = _load(principal, primary_id, visible=False)
        wanted = wallets.units(request.credits)
        try:
            taken = wallets.take(fresh.get("lots") or {}, wanted, ctx.day, ctx.rules.deduction_order)
        except wallets.Insufficient as exc:
            raise _insufficient(exc) from exc
        lots = {cid: {**fresh["lots"][cid], "units": -delta} for cid, delta in taken.items()}
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
            movement = to_movement(entry)
            claim = guard.claim(movement, 201)
            cards_db.move(principal.tenant, [change], claim=claim, contracts=[(cid, version, changes)])
            return movement

        give_up = ConflictError("The card or contract kept changing; try again.", code="EDIT_CONFLICT")
        return retry.until_written(attempt, tries=contracts.TRIES, give_up=give_up, on_conflict=guard.on_conflict)

    return idempotency.once(principal.tenant, key, print_, Movement, run)


# --- reading -----------------------------------------------------------------------


def get_card(principal: Principal, card_id: str) -> Card:
    return to_card(_load(principal, card_id), Context(principal.tenant))


def find_cards(principal: Principal, query: CardListQuery) -> Page[Card]:
    """By number (the old number of a reissued card still finds it, marked replaced), or a
    learner's cards."""
    ctx = Context(principal.tenant)
    if query.number:
        card_id = cards_db.card_id_by_number(principal.tenant, query.number)
        if card_id is None:
            return Page[Card](items=[])
        try:
            return Page[Card](items=[to_card(_load(principal, card_id), ctx)])
        except NotFoundError:
            return Page[Card](items=[])
    leads.visible_lead(principal, query.lead_id)
    ids_ = cards_db.member_links(principal.tenant, query.lead_id, "CARD#")
    found = cards_db.batch_cards(principal.tenant, ids_[:100])
    return Page[Card](items=[to_card(c, ctx) for c in sorted(found, key=lambda c: c["created_at"], reverse=True)])


def _day_bounds(ctx: Context, lo: date | None, hi: date | None) -> tuple[str | None, str | None]:
    start = clock.iso(ctx.day_start(lo)) if lo else None
    end = clock.iso(ctx.day_start(hi + timedelta(days=1)) - timedelta(milliseconds=1)) if hi else None
    return start, end


def ledger(principal: Principal, card_id: str, query: LedgerQuery) -> Page[Movement]:
    """消费记录: the card's movements, newest first. A shared sub-card shows the movements it
    made on its primary's wallet."""
    card = _load(principal, card_id)
    ctx = Context(principal.tenant)
    wallet_id, used = (card["primary_card_id"], card_id) if card.get("shared") else (card_id, None)
    lo, hi = _day_bounds(ctx, query.from_, query.to)
    items, cursor = cards_db.ledger_page(
        principal.tenant,
        wallet_id,
        lo=lo,
        hi=hi,
        kind=query.kind,
        used_card_id=used,
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:ledger:{card_id}:{query.from_}:{query.to}:{query.kind}",
    )
    return Page[Movement](items=[to_movement(e) for e in items], next_cursor=cursor)


def history(principal: Principal, card_id: str, query: PageQuery) -> Page[HistoryEntry]:
    _load(principal, card_id)
    scope = f"{principal.tenant}:cardhist:{card_id}"
    items, cursor = cards_db.history_page(
        principal.tenant, card_id, limit=query.limit, cursor=query.cursor, scope=scope
    )
    return Page[HistoryEntry](items=[HistoryEntry.model_validate(i) for i in items], next_cursor=cursor)


# --- movements ---------------------------------------------------------------------


def _settle(principal: Principal, card: dict[str, Any], ctx: Context) -> dict[str, Any]:
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
    return cards_db.get_card(principal.tenant, card["id"]) if changed else card


def _wallet(principal: Principal, card: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The card whose wallets a movement of `card` changes: its primary for a shared sub-card."""
    _require_usable(card, ctx)
    if not card.get("shared"):
        return _settle(principal, card, ctx)
    primary = cards_db.get_card(principal.tenant, card["primary_card_id"])
    if primary is None:
        raise _not_found()
    _require_usable(primary, ctx)
    return _settle(principal, primary, ctx)


def _run(principal: Principal, card_id: str, guard: idempotency.Guard, plan: Any) -> Movement:
    """Reads, plans (`plan(card, wallet, ctx)` → a WalletChange and extra write arguments),
    writes; on a lost race reads again. Conditions, not this loop, keep balances >= 0."""
    ctx = Context(principal.tenant)
    first = [True]

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
        movement = to_movement(change.entry)
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


def _take(wallet: dict[str, Any], wanted: int, ctx: Context, course_id: str | None = None) -> dict[str, int]:
    try:
        return wallets.take(wallet.get("lots") or {}, wanted, ctx.day, ctx.rules.deduction_order, course_id)
    except wallets.Insufficient as exc:
        raise _insufficient(exc) from exc


def _spend_cash(wallet: dict[str, Any], amount: int) -> None:
    if int(wallet.get("cash") or 0) < amount:
        raise _insufficient(wallets.Insufficient(amount, int(wallet.get("cash") or 0)), "cash")


def _plan(principal: Principal, request: MovementRequest) -> Any:
    kind = request.kind
    credits = wallets.units(request.credits) if request.credits is not None else 0
    amount = wallets.units(request.amount) if request.amount is not None else 0

    def plan(card: dict[str, Any], wallet: dict[str, Any], ctx: Context):
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
            event = schedule_db.get_event(principal.tenant, request.event_id)
            if event is None:
                raise _invalid("event_id", "unknown event")
            pay_with = request.pay_with or ("credits" if event.get("fee_credits") else "cash")
            fee = event.get("fee_credits") if pay_with == "credits" else event.get("fee_amount")
            if not fee:
                raise _invalid("pay_with", f"the event has no fee in {pay_with}")
            entry["event_id"] = request.event_id
            learner = entry.get("lead_id") or card["holder_lead_id"]
            booked = event_fees_db.get_booking(principal.tenant, request.event_id, learner)
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
                    held = int((have.get(target) or {}).get("units") or 0)
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
            fee = {
                "appointment_id": booked["appointment_id"],
                "lead_id": booked["lead_id"],
                "card_id": wallet["id"],
                "credits": -delta_credits,
                "amount": -delta_cash,
                "lots": {cid: -units for cid, units in lots.items()},
                "charged_at": entry["at"],
            }
            marker, still_booked = event_fees_db.fee_ops(principal.tenant, request.event_id, fee)
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
    cost off their card, all in one transaction (a second check-in is refused)."""
    if principal.role is Role.teacher:
        raise ForbiddenError("Teachers cannot see members' cards yet.", code="ROLE_FORBIDDEN")
    session = schedule_db.get_session(principal.tenant, session_id)
    if session is None:
        raise NotFoundError("No such session.", code="SESSION_NOT_FOUND")
    if session.get("cancelled"):
        raise ConflictError("The session was cancelled.", code="SESSION_CANCELLED")
    lead = leads.require_live(leads.visible_lead(principal, request.lead_id))
    attendance.check_open(principal.tenant, attendance.session_start(session), field="session_id")
    course = schedule_db.get_course(principal.tenant, session["course_id"]) or {}
    cost = wallets.units(course.get("lesson_cost") or 0)
    card_id = request.card_id or _only_card(principal, lead.id)

    def plan(card: dict[str, Any], wallet: dict[str, Any], ctx: Context):
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
        movement = _run(principal, card_id, guard, plan)
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
    return live[0]["id"]


# --- lifecycle ---------------------------------------------------------------------


def _lifecycle(principal: Principal, card: dict[str, Any], changes: dict, expect: dict, history, **kw: Any) -> None:
    try:
        cards_db.set_status(principal.tenant, card["id"], changes, expect=expect, history=history, **kw)
    except transactions.TransactionConflict as exc:
        raise ConflictError("The card changed meanwhile; reload it and try again.", code="CARD_CONFLICT") from exc


def report_lost(principal: Principal, card_id: str) -> Card:
    card = _load(principal, card_id)
    ctx = Context(principal.tenant)
    if card["status"] == "replaced":
        _require_usable(card, ctx)
    if card["status"] != "lost":
        updated = {"status": "lost", "updated_at": clock.iso(ctx.now)}
        _lifecycle(principal, card, updated, {"status": card["status"]}, _history(principal, ctx, "reported_lost"))
        card |= updated
    return to_card(card, ctx)


def freeze(principal: Principal, card_id: str, request: FreezeRequest) -> Card:
    if principal.role not in CASH_DESK:
        raise ForbiddenError("Freezing cards is for the front desk, finance and managers.", code="ROLE_FORBIDDEN")
    card = _load(principal, card_id)
    ctx = Context(principal.tenant)
    _require_usable(card, ctx)
    if card["status"] == "frozen":  # a freeze that has ended: thaw it first, then freeze anew
        _thaw(principal, card, ctx, automatic=True)
        card = _load(principal, card_id, visible=False)
    if request.until and request.until < ctx.today:
        raise _invalid("until", "must not be in the past")
    if request.until and (request.until - ctx.today).days > ctx.rules.max_freeze_days:
        raise _invalid("until", f"at most {ctx.rules.max_freeze_days} days after today (the school's max_freeze_days)")
    updated = {
        "status": "frozen",
        "frozen_reason": request.reason,
        "frozen_on": ctx.day,
        "frozen_until": request.until.isoformat() if request.until else None,
        "updated_at": clock.iso(ctx.now),
    }
    history = _history(principal, ctx, "frozen", reason=request.reason, until=updated["frozen_until"])
    _lifecycle(principal, card, updated, {"status": "active"}, history)
    return to_card(card | updated, ctx)


def _thaw(principal: Principal | None, card: dict[str, Any], ctx: Context, *, automatic: bool = False) -> dict:
    """Unfreezes, extending each contract's validity by the days frozen (a tenant setting).
    Total for any card as stored, even one frozen until 9999-12-31 by an earlier version."""
    frozen_on = date.fromisoformat(card["frozen_on"])
    last = ctx.today
    if card.get("frozen_until") and card["frozen_until"] < ctx.day:  # ended: thawed the day after its last day
        last = date.fromisoformat(card["frozen_until"]) + timedelta(days=1)
    days = max(0, (last - frozen_on).days)
    lot_ends = {}
    if ctx.rules.extend_when_frozen and days:
        for contract_id, lot in (card.get("lots") or {}).items():
            if lot.get("ends_on"):
                lot_ends[contract_id] = _days_after(lot["ends_on"], days)
    updated = {"status": "active", "frozen_reason": None, "frozen_on": None, "frozen_until": None}
    updated["updated_at"] = clock.iso(ctx.now)
    history = _history(
        None if automatic else principal, ctx, "unfrozen", days_frozen=days, extended_by_days=days if lot_ends else 0
    )
    try:
        cards_db.set_status(
            ctx.tenant,
            card["id"],
            updated,
            expect={"status": "frozen", "frozen_on": card["frozen_on"]},
            history=history,
            lot_ends=lot_ends,
        )
    except transactions.TransactionConflict:
        if not automatic:
            raise ConflictError("The card changed meanwhile; reload it.", code="CARD_CONFLICT") from None
    lots = {k: {**v, "ends_on": lot_ends.get(k, v.get("ends_on"))} for k, v in (card.get("lots") or {}).items()}
    return card | updated | {"lots": lots}


def _days_after(day: str, days: int) -> str:
    """`day` + `days`, at most the last day a date can hold (a far stored end never overflows)."""
    start = date.fromisoformat(day)
    return (start + timedelta(days=min(days, (date.max - start).days))).isoformat()


def unfreeze(principal: Principal, card_id: str) -> Card:
    if principal.role not in CASH_DESK:
        raise ForbiddenError("Unfreezing cards is for the front desk, finance and managers.", code="ROLE_FORBIDDEN")
    card = _load(principal, card_id)
    ctx = Context(principal.tenant)
    if card["status"] != "frozen":
        raise ConflictError("The card is not frozen.", code="NOT_FROZEN")
    return to_card(_thaw(principal, card, ctx), ctx)


def patch_holder(principal: Principal, card_id: str, request: CardPatchRequest) -> Card:
    card = _load(principal, card_id)
    ctx = Context(principal.tenant)
    changes = request.model_dump(exclude_unset=True)
    if not changes:
        return to_card(card, ctx)
    if changes.get("holder_phone"):
        changes["holder_phone"] = phones.normalise(changes["holder_phone"], ctx.region, "holder_phone")
    changes["updated_at"] = clock.iso(ctx.now)
    shown = {k: phones.mask(v) if k == "holder_phone" and v else v for k, v in changes.items() if k != "updated_at"}
    history = _history(principal, ctx, "holder_changed", **shown)  # the history shows the phone masked
    _lifecycle(principal, card, changes, {"status": card["status"]}, history)
    return to_card(card | changes, ctx)


def reissue(principal: Principal, card_id: str, request: ReissueRequest) -> Card:
    """补办: a new card and number with the balances and sub-cards; the old number is dead
    for good (its claim stays, so it is never issued again) and still finds the old card."""
    if principal.role not in ISSUERS:
        raise ForbiddenError("Your role may not reissue cards.", code="ROLE_FORBIDDEN")
    ctx = Context(principal.tenant)
    _load(principal, card_id)  # visible to the caller, once

    def attempt() -> Card:
        ctx.tick()
        old = _load(principal, card_id, visible=False)
        if old["status"] == "replaced":
            _require_usable(old, ctx)
        number = request.number or _new_number()
        keep = ("holder_lead_id", "holder_name", "campus_id", "credits", "cash", "lots", "sub_cards", "primary_card_id")
        new = {
            **{k: old.get(k) for k in keep},
            **{k: old.get(k) for k in ("shared", "holder_phone", "holder_note")},
            "id": ids.new_id(),
            "number": number,
            "status": "frozen" if old["status"] == "frozen" else "active",
            "replaces": old["id"],
            "created_by": principal.user_id,
            "created_at": clock.iso(ctx.now),
            "updated_at": clock.iso(ctx.now),
        }
        if old["status"] == "frozen":
            new |= {k: old.get(k) for k in ("frozen_reason", "frozen_on", "frozen_until")}
        new["alert_on"] = alert_on(old.get("lots") or {}, ctx.alerts.expiry_warning_days, ctx.today)
        credits, cash, lots = int(old.get("credits") or 0), int(old.get("cash") or 0), old.get("lots") or {}
        out_entry = in_entry = None
        if credits or cash or any(int(v.get("units") or 0) for v in lots.values()):
            moved = {cid: int(lot.get("units") or 0) for cid, lot in lots.items()}
            reason = f"reissued {old['number']} → {number}"
            out_entry = _entry(
                ctx,
                principal,
                old["id"],
                "reissue",
                credits=-credits,
                amount=-cash,
                lots={c: -u for c, u in moved.items()},
                reason=reason,
            )
            in_entry = _entry(
                ctx, principal, new["id"], "reissue", credits=credits, amount=cash, lots=moved, reason=reason
            )
        said = _history(principal, ctx, "reissued", new_card=new["id"], new_number=number, reason=request.reason)
        told = _history(principal, ctx, "issued_as_replacement", old_card=old["id"], old_number=old["number"])
        histories = [(old["id"], *said), (new["id"], *told)]
        cards_db.reissue(principal.tenant, old, new, out_entry, in_entry, histories)
        return to_card(new, ctx)

    # a movement that got in first changes the balances: read them again
    give_up = ConflictError("The card kept changing; try again.", code="CARD_BUSY")
    return retry.until_written(
        attempt, tries=contracts.TRIES, give_up=give_up, on_conflict=_number_taken(request.number)
    )
