"""Contracts (合同): signing learners to a package, payments, refunds, voiding.

A contract's totals change only under its `version` (optimistic lock) and together with
the payment or refund that changes them, so two cashiers never overwrite each other and
nothing is paid twice. Its status is derived, never stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from chalicelib.db import cards as cards_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import transactions
from chalicelib.db import users as users_db
from chalicelib.domain import clock, idempotency, ids, leads, retry, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.cards import (
    Contract,
    ContractCreateRequest,
    ContractDetail,
    Instalment,
    Payment,
    PaymentRequest,
    PaymentResult,
    PeriodQuery,
    RefundRequest,
    VoidRequest,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import HistoryEntry
from chalicelib.schemas.users import Role

SIGNERS = frozenset({Role.admin, Role.manager, Role.supervisor, Role.consultant, Role.frontdesk})
CASHIERS = frozenset({Role.finance, Role.manager, Role.admin})
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


def figures(data: dict[str, Any]) -> Figures:
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


def status_of(data: dict[str, Any], today: date) -> str:
    """void, then a refund's state, then expired, then the payment state."""
    if data.get("voided_at"):
        return "void"
    state = money_state(figures(data))
    if state in ("refunded", "partly_refunded"):
        return state
    if data["ends_on"] < today.isoformat():
        return "expired"
    return state


def to_contract(data: dict[str, Any], today: date) -> Contract:
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
    )


def to_payment(data: dict[str, Any]) -> Payment:
    return Payment(
        **{k: v for k, v in data.items() if k not in ("payment_kind", "amount", "credits")},
        kind=data["payment_kind"],
        amount=wallets.decimal(data["amount"]),
        credits=wallets.decimal(data.get("credits")),
    )


# --- signing -----------------------------------------------------------------------


def _signer(principal: Principal, user_id: str | None, campus_id: str) -> tuple[str, str]:
    if user_id is None or user_id == principal.user_id:
        return principal.user_id, principal.display_name
    user = users_db.get(principal.tenant, user_id)
    if user is None or not user.active or user.role is Role.teacher:
        raise _invalid("signed_by", "not an active member of staff who may sign")
    if user.role not in (Role.admin, Role.finance) and campus_id not in user.campus_ids:
        raise _invalid("signed_by", "not at the learner's campus")
    return user.id, user.display_name


def sign(principal: Principal, request: ContractCreateRequest) -> Contract:
    """Signs the learners to the package; each becomes a member (签约), and their first
    contract records the conversion cycle (转化周期). One transaction."""
    if principal.role not in SIGNERS:
        raise ForbiddenError("Your role may not sign contracts.", code="ROLE_FORBIDDEN")
    for course_id in request.course_ids:
        if schedule_db.get_course(principal.tenant, course_id) is None:
            raise _invalid("course_ids", f"unknown course {course_id}")
    zone = ZoneInfo(get_tenant(principal.tenant).timezone)

    def attempt() -> Contract:
        now = clock.now()
        today = now.astimezone(zone).date()
        loaded = []
        for lead_id in request.lead_ids:
            lead, version = leads.load_for_change(principal, lead_id)
            loaded.append((leads.require_live(lead), version))
        campus_id = loaded[0][0].campus_id
        signer_id, signer_name = _signer(principal, request.signed_by, campus_id)
        contract_id = ids.new_id()
        conversions = {
            lead.id: (today - lead.created_at.astimezone(zone).date()).days for lead, _ in loaded if not lead.signed_on
        }
        total = wallets.units(request.credits) + wallets.units(request.gift_credits)
        data = {
            "id": contract_id,
            "lead_ids": [lead.id for lead, _ in loaded],
            "lead_names": [lead.name for lead, _ in loaded],
            "campus_id": campus_id,
            "course_ids": request.course_ids,
            "credits": wallets.units(request.credits),
            "gift_credits": wallets.units(request.gift_credits),
            "price": wallets.units(request.price),
            "discount": wallets.units(request.discount),
            "starts_on": request.starts_on.isoformat(),
            "ends_on": request.ends_on.isoformat(),
            "instalments": [
                {"due_on": i.due_on.isoformat(), "amount": wallets.units(i.amount)} for i in request.instalments
            ],
            "signed_by": signer_id,
            "signed_by_name": signer_name,
            "signed_at": clock.iso(now),
            "signed_on": today.isoformat(),
            "paid": 0,
            "refunded": 0,
            "clawed_back": 0,
            "unallocated": total,
            "card_ids": [],
            "conversions": conversions,
            "note": request.note,
        }
        signed = []
        for lead, version in loaded:
            changes: dict[str, Any] = {"status": "signed", "updated_at": now, "reclaim_on": None}
            if not lead.signed_on:
                changes |= {"signed_on": today, "conversion_days": conversions[lead.id]}
            entry = HistoryEntry(
                at=now,
                by=principal.user_id,
                action="signed",
                details={"contract_id": contract_id, "credits": str(request.credits), "price": str(request.price)},
            )
            signed.append((lead.model_copy(update=changes), version, entry, ids.new_id()))
        cards_db.sign(principal.tenant, data, signed)  # each lead under its version
        return to_contract(data, today)

    give_up = ConflictError("A learner kept changing while signing; try again.", code="EDIT_CONFLICT")
    return retry.until_written(attempt, tries=TRIES, give_up=give_up)


# --- reading -----------------------------------------------------------------------


def can_see(principal: Principal, data: dict[str, Any]) -> bool:
    """A contract is visible to whoever may see one of its learners, and to finance."""
    if principal.role in (Role.admin, Role.finance):
        return principal.role is Role.admin or not principal.campus_ids or data["campus_id"] in principal.campus_ids
    for lead_id in data["lead_ids"]:
        try:
            leads.visible_lead(principal, lead_id)
            return True
        except NotFoundError:
            continue
    return False


def _load(principal: Principal, contract_id: str) -> tuple[dict[str, Any], int]:
    loaded = cards_db.get_contract(principal.tenant, contract_id)
    if loaded is None or not can_see(principal, loaded[0]):
        raise _not_found()
    return loaded


def get_contract(principal: Principal, contract_id: str) -> ContractDetail:
    data, payments = cards_db.contract_with_payments(principal.tenant, contract_id)
    if data is None or not can_see(principal, data):
        raise _not_found()
    today = today_for(principal.tenant)
    return ContractDetail(
        **to_contract(data, today).model_dump(),
        payments=[to_payment(p) for p in sorted(payments, key=lambda p: p["at"])],
    )


def contracts_of(principal: Principal, lead_id: str) -> Page[Contract]:
    """A member's contracts, newest first (links in the learner's partition, then one batch)."""
    leads.visible_lead(principal, lead_id)
    found = cards_db.batch_contracts(principal.tenant, cards_db.member_links(principal.tenant, lead_id, "CONTRACT#"))
    today = today_for(principal.tenant)
    return Page[Contract](
        items=[to_contract(c, today) for c in sorted(found, key=lambda c: c["signed_at"], reverse=True)]
    )


def _period(principal: Principal, query: PeriodQuery, what: str) -> tuple[list[dict[str, Any]], str | None]:
    """Contracts signed, or payments and refunds made, in a period (finance, managers, admins)."""
    if principal.role not in CASHIERS:
        raise ForbiddenError(f"Lists of {what} are for finance, managers and admins.", code="ROLE_FORBIDDEN")
    campus = leads.campus_choice(principal, query.campus)
    return cards_db.list_by_month(
        principal.tenant,
        what,
        query.from_.isoformat(),
        query.to.isoformat(),
        limit=query.limit,
        cursor=query.cursor,
        scope=f"{principal.tenant}:{what}:{campus}:{query.from_}:{query.to}",
        campus=campus,
    )


def list_contracts(principal: Principal, query: PeriodQuery) -> Page[Contract]:
    items, cursor = _period(principal, query, "contracts")
    today = today_for(principal.tenant)
    return Page[Contract](items=[to_contract(c, today) for c in items], next_cursor=cursor)


def list_payments(principal: Principal, query: PeriodQuery) -> Page[Payment]:
    items, cursor = _period(principal, query, "payments")
    return Page[Payment](items=[to_payment(p) for p in items], next_cursor=cursor)


# --- money -------------------------------------------------------------------------


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
        result = PaymentResult(payment=to_payment(payment), contract=to_contract({**data, **changes}, today))
        cards_db.record_payment(
            principal.tenant, contract_id, version, changes, payment, claim=guard.claim(result, 201)
        )
        return result

    return retry.until_written(attempt, tries=TRIES, give_up=_busy(), on_conflict=guard.on_conflict)


def refund(principal: Principal, contract_id: str, request: RefundRequest, key: str | None) -> PaymentResult:
    _cashier(principal)
    print_ = idempotency.fingerprint("refund", contract_id, request.model_dump(mode="json"))
    return idempotency.once(
        principal.tenant, key, print_, PaymentResult, lambda guard: _refund(principal, contract_id, request, guard)
    )


def _cards_holding(tenant: str, contract_id: str, card_ids: list[str]) -> list[dict[str, Any]]:
    """The cards (following reissues, and sub-cards given a share) holding this contract's credits."""
    seen: dict[str, dict[str, Any]] = {}
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
    return [c for c in seen.values() if int(((c.get("lots") or {}).get(contract_id) or {}).get("units") or 0) > 0]


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
        result = PaymentResult(payment=to_payment(payment), contract=to_contract({**data, **changes}, today))
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
    try:
        cards_db.change_contract(principal.tenant, contract_id, version, changes)
    except transactions.TransactionConflict as exc:
        raise ConflictError("The contract changed meanwhile; reload it.", code="EDIT_CONFLICT") from exc
    return to_contract({**data, **changes}, today_for(principal.tenant))
