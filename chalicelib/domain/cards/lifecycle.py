"""A card's lifecycle: lost, frozen and thawed (extending its contracts by the days
frozen), the holder's details, and reissue (补办) as a new card and number.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from chalicelib.db import cards as cards_db
from chalicelib.db import transactions
from chalicelib.db.cards.records import CardRecord
from chalicelib.domain import clock, contracts, ids, phones, retry
from chalicelib.domain.auth import Principal
from chalicelib.domain.cards.alerts import alert_on
from chalicelib.domain.cards.common import (
    CASH_DESK,
    ISSUERS,
    Context,
    _entry,
    _history,
    _invalid,
    _load,
    _require_usable,
    to_card,
)
from chalicelib.domain.cards.opening import _new_number, _number_taken
from chalicelib.errors import ConflictError, ForbiddenError
from chalicelib.schemas.cards import Card, CardPatchRequest, FreezeRequest, ReissueRequest
from chalicelib.schemas.leads import HistoryEntry


def _lifecycle(
    principal: Principal,
    card: CardRecord,
    changes: dict[str, Any],
    expect: dict[str, Any],
    history: tuple[HistoryEntry, str],
    **kw: Any,
) -> None:
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
        card = cast(CardRecord, card | updated)  # the card as written
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
    return to_card(cast(CardRecord, card | updated), ctx)  # as written (a None field is removed)


def _thaw(principal: Principal | None, card: CardRecord, ctx: Context, *, automatic: bool = False) -> CardRecord:
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
    return cast(CardRecord, card | updated | {"lots": lots})  # as written (a None field is removed)


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
    return to_card(cast(CardRecord, card | changes), ctx)  # as written (a None field is removed)


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
        new: dict[str, Any] = {
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
        return to_card(cast(CardRecord, new), ctx)  # as written (a None field is not stored)

    # a movement that got in first changes the balances: read them again
    give_up = ConflictError("The card kept changing; try again.", code="CARD_BUSY")
    return retry.until_written(
        attempt, tries=contracts.TRIES, give_up=give_up, on_conflict=_number_taken(request.number)
    )
