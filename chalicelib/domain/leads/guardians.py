"""A lead's guardians and their phones as stored, and the answer to a phone another family holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.db import leads as leads_db
from chalicelib.db import users as users_db
from chalicelib.db.leads import DuplicatePhoneError
from chalicelib.domain import phones
from chalicelib.domain.auth import Principal
from chalicelib.domain.leads.visibility import can_see
from chalicelib.errors import ConflictError, ValidationFailedError
from chalicelib.schemas.leads import Guardian, GuardianIn, Phone
from chalicelib.schemas.users import Role, UserRecord


def _guardians(items: list[GuardianIn], region: str, kept: list[str] | tuple[str, ...] = ()) -> list[Guardian]:
    """The guardians as stored. On an edit (`kept`: the lead's own numbers) a phone sent back
    masked, as the API showed it (`138****8000`), keeps the number it stands for, so a form can
    edit guardians without ever holding the full numbers."""
    seen: set[str] = set()
    result = []
    for gi, g in enumerate(items):
        numbers = []
        for pi, raw in enumerate(g.phones):
            field = f"guardians.{gi}.phones.{pi}"
            e164 = _kept(raw, kept, field) if "*" in raw else phones.normalise(raw, region, field=field)
            if e164 not in seen:
                seen.add(e164)
                numbers.append(Phone(e164=e164))
        result.append(Guardian(**{**g.model_dump(), "phones": numbers}))
    return result


def _kept(masked: str, kept: list[str] | tuple[str, ...], field: str) -> str:
    """The one number of the lead's own that shows as `masked`; 400 naming `field` otherwise."""
    matches = {e164 for e164 in kept if phones.mask(e164) == masked.strip()}
    if len(matches) != 1:
        why = "two of this lead's numbers show alike: send it in full" if matches else "not one of this lead's numbers"
        raise ValidationFailedError(
            f"{field}: a masked number keeps a number of this lead's as shown; {why}.",
            details=[{"field": field, "message": why}],
        )
    return matches.pop()


def _split_phones(tenant: str, numbers: list[str], family_id: str, lead_id: str | None) -> tuple[list[str], list[str]]:
    """(new claims, family claims to join); a number held by another family raises DuplicatePhoneError."""
    new: list[str] = []
    family: list[str] = []
    for e164 in numbers:
        claim = leads_db.phone_claim(tenant, e164)
        if claim is None:
            new.append(e164)
        elif lead_id in claim.lead_ids:
            continue
        elif claim.family_id == family_id:
            family.append(e164)
        else:
            raise DuplicatePhoneError(e164)
    return new, family


def _duplicate(principal: Principal, e164: str) -> ConflictError:
    """409 naming the existing lead to a caller who may see it. A caller who may not learns
    only that the phone is already a customer of the school, and whom to ask: a manager of
    the lead's campus (else an admin). Either answer counts as one customer read."""
    claim = leads_db.phone_claim(principal.tenant, e164)
    details: dict[str, Any] = {"field": "guardians.phones", "phone": phones.mask(e164)}
    existing = leads_db.get(principal.tenant, claim.lead_ids[0]) if claim and claim.lead_ids else None
    if existing is not None and can_see(principal, existing):
        details.update(
            lead_id=existing.id,
            name=existing.name,
            owner_id=existing.owner_id,
            owner_name=existing.owner_name,
            status=existing.status,
            in_recycle_bin=existing.deleted_at is not None,
            visible=True,
        )
        message = f"The phone {phones.mask(e164)} already belongs to another lead" + (
            f" owned by {existing.owner_name}." if existing.owner_name else " in the public pool."
        )
    else:
        ask = _whom_to_ask(principal.tenant, existing.campus_id if existing else None)
        details.update(visible=False, ask_user_id=ask.id if ask else None, ask_name=ask.display_name if ask else None)
        message = f"The phone {phones.mask(e164)} is already a customer of the school (本校已有此客户)." + (
            f" Ask {ask.display_name} about it." if ask else " Ask your campus manager about it."
        )
    error = ConflictError(message, code="DUPLICATE_PHONE", details=[details])
    error.reads = 1  # it tells about a customer: counted for anti-scraping
    return error


def _whom_to_ask(tenant: str, campus_id: str | None) -> UserRecord | None:
    """An active manager of the campus (by name, for a stable answer), else an admin."""
    staff = sorted(users_db.active_records(tenant), key=lambda u: (u.display_name, u.id))
    managers = [u for u in staff if u.role is Role.manager and campus_id in u.campus_ids]
    return next(iter(managers or [u for u in staff if u.role is Role.admin]), None)


@contextmanager
def duplicate_phone_answered(principal: Principal) -> Iterator[None]:
    """A phone of another family (DuplicatePhoneError, met while splitting the numbers or
    lost in a race for one at the write) answers 409 DUPLICATE_PHONE, told as `_duplicate`."""
    try:
        yield
    except DuplicatePhoneError as exc:
        raise _duplicate(principal, exc.e164) from exc
