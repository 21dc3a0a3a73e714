"""Reading contracts: who may see one, a contract with its payments, a member's contracts,
and the finance lists of contracts and payments by period.
"""

from __future__ import annotations

from typing import Literal, overload

from chalicelib.db import cards as cards_db
from chalicelib.db.cards.records import ContractRecord, PaymentRecord
from chalicelib.domain import leads
from chalicelib.domain.auth import Principal
from chalicelib.domain.contracts.common import CASHIERS, _not_found, to_contract, to_payment, today_for
from chalicelib.errors import ForbiddenError, NotFoundError
from chalicelib.schemas.cards import Contract, ContractDetail, Payment, PeriodQuery
from chalicelib.schemas.common import Page
from chalicelib.schemas.users import Role


def can_see(principal: Principal, data: ContractRecord) -> bool:
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


def _load(principal: Principal, contract_id: str) -> tuple[ContractRecord, int]:
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


@overload
def _period(
    principal: Principal, query: PeriodQuery, what: Literal["contracts"]
) -> tuple[list[ContractRecord], str | None]: ...


@overload
def _period(
    principal: Principal, query: PeriodQuery, what: Literal["payments"]
) -> tuple[list[PaymentRecord], str | None]: ...


def _period(
    principal: Principal, query: PeriodQuery, what: Literal["contracts", "payments"]
) -> tuple[list[ContractRecord], str | None] | tuple[list[PaymentRecord], str | None]:
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
