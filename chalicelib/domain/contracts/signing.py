"""Signing (签约): learners signed to a package, each becoming a member, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast
from zoneinfo import ZoneInfo

from chalicelib.db import cards as cards_db
from chalicelib.db import keys
from chalicelib.db import schedule as schedule_db
from chalicelib.db import users as users_db
from chalicelib.db.cards.records import ContractRecord
from chalicelib.domain import clock, ids, leads, receivables, retry, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.contracts.common import SIGNERS, TRIES, _invalid, to_contract
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError
from chalicelib.schemas.cards import Contract, ContractCreateRequest
from chalicelib.schemas.leads import HistoryEntry, Lead
from chalicelib.schemas.users import Role


def _signer(principal: Principal, user_id: str | None, campus_id: str) -> tuple[str, str]:
    if user_id is None or user_id == principal.user_id:
        return principal.user_id, principal.display_name
    user = users_db.get(principal.tenant, user_id)
    if user is None or not user.active or user.role is Role.teacher:
        raise _invalid("signed_by", "not an active member of staff who may sign")
    if user.role not in (Role.admin, Role.finance) and campus_id not in user.campus_ids:
        raise _invalid("signed_by", "not at the learner's campus")
    return user.id, user.display_name


def referred(learners: Iterable[Lead]) -> dict[str, str]:
    """Who referred each learner, as the referral figures name them (the money a contract
    signs is counted for its learners' referrers: streams/aggregates.py)."""
    found = {
        lead.id: keys.referrer_dimension(lead.campus_id, lead.referrer_lead_id, lead.referrer_user_id)
        for lead in learners
    }
    return {lead_id: value for lead_id, value in found.items() if value}


def sign(principal: Principal, request: ContractCreateRequest) -> Contract:
    """Signs the learners to the package; each becomes a member (签约), and their first
    contract records the conversion cycle (转化周期). One transaction."""
    if principal.role not in SIGNERS:
        raise ForbiddenError("Your role may not sign contracts.", code="ROLE_FORBIDDEN")
    for course_id in request.course_ids:
        if schedule_db.get_course(principal.tenant, course_id) is None:
            raise _invalid("course_ids", f"unknown course {course_id}")
    school = get_tenant(principal.tenant)
    zone = ZoneInfo(school.timezone)
    payer = receivables.payer_fields(request.payer, school.phone_region)

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
            "referrers": referred(lead for lead, _ in loaded),
            "note": request.note,
            **payer,
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
        record = cast(ContractRecord, data)  # as written (a None note is not stored)
        owed = receivables.for_contract(principal.tenant, record, today)
        cards_db.sign(principal.tenant, data, signed, owed)  # each lead under its version
        return to_contract(record, today)

    give_up = ConflictError("A learner kept changing while signing; try again.", code="EDIT_CONFLICT")
    return retry.until_written(attempt, tries=TRIES, give_up=give_up)
