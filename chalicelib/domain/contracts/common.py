"""What every contract operation shares: the roles, a contract's money (`Figures`) and its
derived status (never stored), and a contract and a payment as the API shows them.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple
from zoneinfo import ZoneInfo

from chalicelib.db.cards.records import ContractRecord, PaymentRecord
from chalicelib.domain import clock, receivables, roles, wallets
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, NotFoundError, ValidationFailedError
from chalicelib.schemas.cards import Contract, Instalment, Payment
from chalicelib.schemas.users import Role

SIGNERS = frozenset({Role.admin, Role.manager, Role.supervisor, Role.consultant, Role.frontdesk})
CASHIERS = roles.CASHIERS
VOIDERS = frozenset({Role.manager, Role.admin})
TRIES = 8


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {message}", details=[{"field": field, "message": message}])


def _not_found() -> NotFoundError:
    return NotFoundError("No such contract.", code="CONTRACT_NOT_FOUND")


def today_for(tenant: str) -> date:
    return clock.now().astimezone(ZoneInfo(get_tenant(tenant).timezone)).date()


def _busy() -> ConflictError:
    return ConflictError("The contract kept changing; try again.", code="EDIT_CONFLICT")


class Figures(NamedTuple):
    """A contract's money, in units: the one source of its balance due and its money state."""

    net: int  # price − discount
    paid: int  # every payment
    refunded: int  # every refund (never more than paid)

    @property
    def kept(self) -> int:
        """What the school holds: paid less refunded (the most a refund can return)."""
        return self.paid - self.refunded

    @property
    def due(self) -> int:
        """What the contract still expects: net less paid. A refund returns money together
        with the credits it claws back; it does not make the same price due again."""
        return max(0, self.net - self.paid)


def figures(data: ContractRecord) -> Figures:
    net = int(data["price"]) - int(data.get("discount") or 0)
    return Figures(net, int(data.get("paid") or 0), int(data.get("refunded") or 0))


def money_state(money: Figures) -> str:
    """The money state, from the figures alone (the table in docs/cards.md):
    `refunded` only when everything paid came back and nothing more is due; any other
    contract with a refund is `partly_refunded`; else `paid`, `partly_paid` or `unpaid`."""
    if money.refunded > 0:
        return "refunded" if money.kept == 0 and money.due == 0 else "partly_refunded"
    if money.due == 0:
        return "paid"
    return "partly_paid" if money.paid > 0 else "unpaid"


def status_of(data: ContractRecord, today: date) -> str:
    """void, then a refund's state, then expired, then the payment state."""
    if data.get("voided_at"):
        return "void"
    state = money_state(figures(data))
    if state in ("refunded", "partly_refunded"):
        return state
    if data["ends_on"] < today.isoformat():
        return "expired"
    return state


def to_contract(data: ContractRecord, today: date) -> Contract:
    money = wallets.decimal
    figured = figures(data)
    net, paid = figured.net, figured.paid
    instalments = [Instalment(due_on=i["due_on"], amount=money(i["amount"])) for i in data.get("instalments") or []]
    covered, following = 0, None
    for raw, instalment in zip(data.get("instalments") or [], instalments, strict=True):
        covered += int(raw["amount"])
        if covered > paid:
            following = instalment
            break
    return Contract(
        id=data["id"],
        lead_ids=data["lead_ids"],
        lead_names=data["lead_names"],
        campus_id=data["campus_id"],
        course_ids=data.get("course_ids") or [],
        credits=money(data["credits"]),
        gift_credits=money(data.get("gift_credits")),
        price=money(data["price"]),
        discount=money(data.get("discount")),
        net_price=money(net),
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        instalments=instalments,
        next_instalment=following,
        signed_by=data["signed_by"],
        signed_by_name=data["signed_by_name"],
        signed_at=data["signed_at"],
        signed_on=data["signed_on"],
        paid=money(paid),
        refunded=money(data.get("refunded")),
        balance_due=money(figured.due),
        clawed_back=money(data.get("clawed_back")),
        unallocated_credits=money(data.get("unallocated")),
        card_ids=data.get("card_ids") or [],
        conversions={k: int(v) for k, v in (data.get("conversions") or {}).items()},
        status=status_of(data, today),
        note=data.get("note"),
        voided_at=data.get("voided_at"),
        void_reason=data.get("void_reason"),
        payer=receivables.payer_shown(data),
    )


def to_payment(data: PaymentRecord) -> Payment:
    return Payment(
        **{k: v for k, v in data.items() if k not in ("payment_kind", "amount", "credits")},
        kind=data["payment_kind"],
        amount=wallets.decimal(data["amount"]),
        credits=wallets.decimal(data.get("credits")),
    )
