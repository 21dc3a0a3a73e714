"""Tenants (schools) and their campuses."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, ids, passwords
from chalicelib.domain.auth import Principal
from chalicelib.domain.config import RECENT_SECONDS
from chalicelib.errors import ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.campuses import Campus, CampusCreateRequest, CampusPatchRequest
from chalicelib.schemas.common import Page
from chalicelib.schemas.tenants import Tenant
from chalicelib.schemas.users import Role, UserCreateRequest, UserRecord


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailedError(
            f"Unknown time zone {name!r}; use an IANA name such as Asia/Shanghai.",
            details=[{"field": "timezone", "message": "unknown time zone"}],
        ) from exc


def _check_region(region: str) -> str:
    import phonenumbers  # lazy: only tenant set-up needs it on this path

    region = region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailedError(
            f"Unknown phone region {region!r}; use a two-letter code such as CN.",
            details=[{"field": "phone_region", "message": "unknown region"}],
        )
    return region


def create_tenant(
    *,
    slug: str,
    name: str,
    timezone: str,
    phone_region: str,
    admin_username: str,
    admin_password: str,
    plan: str = "standard",
) -> tuple[Tenant, UserRecord]:
    """A new school with its first admin (platform console and local bootstrap)."""
    _check_timezone(timezone)
    region = _check_region(phone_region)
    tenant = Tenant(
        slug=slug.lower(), name=name, timezone=timezone, phone_region=region, plan=plan, created_at=clock.now()
    )
    request = UserCreateRequest(
        username=admin_username, password=admin_password, display_name=admin_username, role=Role.admin
    )
    admin = new_user_record(request)
    users_db.create_tenant_with_admin(tenant, admin)
    return tenant, admin


def new_user_record(request: UserCreateRequest) -> UserRecord:
    now = clock.now()
    return UserRecord(
        id=ids.new_id(),
        username=request.username,
        display_name=request.display_name,
        role=request.role,
        campus_ids=list(dict.fromkeys(request.campus_ids)),
        supervisor_id=request.supervisor_id,
        phone=request.phone,
        email=request.email,
        active=True,
        created_at=now,
        updated_at=now,
        password_hash=passwords.hash_password(request.password),
    )


def get_tenant(slug: str) -> Tenant:
    """The school as this container read it in the last RECENT_SECONDS (a tenant's item does not
    change after its creation today), else read now."""
    tenant = tenants_db.recent(slug, now=clock.now().timestamp(), within=RECENT_SECONDS)
    if tenant is None:
        raise NotFoundError(f"No school {slug!r}.")
    return tenant


def create_campus(principal: Principal, request: CampusCreateRequest) -> Campus:
    campus = Campus(id=ids.new_id(), created_at=clock.now(), **request.model_dump())
    tenants_db.create_campus(principal.tenant, campus)
    return campus


def list_campuses(principal: Principal, limit: int, cursor: str | None) -> Page[Campus]:
    items, next_cursor = tenants_db.list_campuses(principal.tenant, limit, cursor)
    return Page[Campus](items=items, next_cursor=next_cursor)


DUTY_ROLES = frozenset({Role.consultant, Role.supervisor})


def patch_campus(principal: Principal, campus_id: str, request: CampusPatchRequest) -> Campus:
    """Changes the fields sent: the name, address and phone (admins), and the duty consultant
    (值班顾问: an active consultant or supervisor of that campus; null clears it). Managers
    change only their own campuses' duty consultant."""
    if tenants_db.get_campus(principal.tenant, campus_id) is None:
        raise NotFoundError("No such campus.", code="CAMPUS_NOT_FOUND")
    if principal.role is not Role.admin and campus_id not in principal.campus_ids:
        raise ForbiddenError("You can only change your own campuses.", code="NOT_YOUR_CAMPUS")
    sent = request.model_fields_set
    details = [field for field in ("name", "address", "phone") if field in sent]
    if details and principal.role is not Role.admin:
        raise ForbiddenError("Only an administrator renames a campus or changes its address or phone.")
    if "name" in sent and not request.name:
        raise ValidationFailedError("A campus needs a name.", details=[{"field": "name", "message": "required"}])
    changes: dict[str, str | None] = {field: getattr(request, field) or None for field in details}
    if "duty_consultant_id" in sent:
        duty = request.duty_consultant_id
        if duty is not None:
            user = users_db.get(principal.tenant, duty)
            if user is None or not user.active or user.role not in DUTY_ROLES or campus_id not in user.campus_ids:
                raise ValidationFailedError(
                    "The duty consultant must be an active consultant or supervisor of this campus.",
                    details=[{"field": "duty_consultant_id", "message": "not a consultant of this campus"}],
                )
        changes["duty_consultant_id"] = duty
    campus = tenants_db.update_campus(principal.tenant, campus_id, changes)
    if campus is None:
        raise NotFoundError("No such campus.", code="CAMPUS_NOT_FOUND")
    return campus
