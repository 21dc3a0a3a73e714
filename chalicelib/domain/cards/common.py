"""What every card operation shares: the roles, the tenant's `Context` (today, the card
rules), a card as the API shows it (`to_card`, `to_movement`), loading a card you may see,
and the checks that a card takes movements and a learner may use it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import cards as cards_db
from chalicelib.db.cards.records import CardRecord, LedgerRecord
from chalicelib.domain import clock, config, ids, leads, phones, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.card_users import card_user, not_on_card
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, NotFoundError, ValidationFailedError
from chalicelib.schemas.cards import Card, Lot, Movement
from chalicelib.schemas.leads import HistoryEntry
from chalicelib.schemas.users import Role

CASH_DESK = frozenset({Role.frontdesk, Role.finance, Role.manager, Role.admin})
ADJUSTERS = frozenset({Role.manager, Role.admin})
ISSUERS = frozenset({Role.frontdesk, Role.finance, Role.manager, Role.admin, Role.supervisor, Role.consultant})


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


def effective_status(card: CardRecord, today: date) -> str:
    """A frozen card past its last frozen day is active again."""
    if card["status"] == "frozen" and card.get("frozen_until") and card["frozen_until"] < today.isoformat():
        return "active"
    status: str = card["status"]
    return status


_COMPUTED = ("credits", "cash", "lots", "status", "sub_cards", "holder_phone")  # not copied as stored


def to_card(card: CardRecord, ctx: Context) -> Card:
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


def to_movement(entry: LedgerRecord) -> Movement:
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


def _load(principal: Principal, card_id: str, *, visible: bool = True) -> CardRecord:
    card = cards_db.get_card(principal.tenant, card_id)
    if card is None:
        raise _not_found()
    if visible:
        try:
            leads.visible_lead(principal, card["holder_lead_id"])
        except NotFoundError as exc:
            raise _not_found() from exc  # a card of a learner you may not see does not exist for you
    return card


def _require_usable(card: CardRecord, ctx: Context) -> None:
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


def _spender(tenant: str, card: CardRecord, lead_id: str, ctx: Context, field: str) -> CardRecord | None:
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
