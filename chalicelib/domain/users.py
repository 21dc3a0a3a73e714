"""Staff management: only admins change users; a disabled user loses every session."""

from __future__ import annotations

from typing import Any

from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, passwords, roles
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant, new_user_record
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.users import (
    MeResponse,
    Role,
    User,
    UserCreateRequest,
    UserListQuery,
    UserPatchRequest,
    UserRecord,
)


def _public(record: UserRecord) -> User:
    return User.model_validate(record.model_dump())


def _check_assignment(
    tenant: str, user_id: str | None, role: Role, campus_ids: list[str], supervisor_id: str | None
) -> None:
    """The rules a user's role, campuses and supervisor must satisfy together."""
    if role in roles.NEEDS_CAMPUS and not campus_ids:
        raise ValidationFailedError(
            f"A {role.value} must belong to at least one campus.",
            details=[{"field": "campus_ids", "message": "at least one campus is required for this role"}],
        )
    unknown = sorted(set(campus_ids) - tenants_db.existing_campus_ids(tenant, campus_ids))
    if unknown:
        raise ValidationFailedError(
            "Unknown campus id(s): " + ", ".join(unknown),
            details=[{"field": "campus_ids", "message": f"unknown campus {c}"} for c in unknown],
        )
    if supervisor_id is not None:
        if role is not Role.consultant:
            raise ValidationFailedError(
                "Only a consultant has a supervisor.",
                details=[{"field": "supervisor_id", "message": "only consultants join a team"}],
            )
        supervisor = users_db.get(tenant, supervisor_id)
        if (
            supervisor is None
            or supervisor.role is not Role.supervisor
            or not supervisor.active
            or supervisor_id == user_id
        ):
            raise ValidationFailedError(
                "The supervisor must be an active user with the supervisor role.",
                details=[{"field": "supervisor_id", "message": "not an active supervisor"}],
            )


def create_user(principal: Principal, request: UserCreateRequest) -> User:
    _check_assignment(principal.tenant, None, request.role, request.campus_ids, request.supervisor_id)
    record = new_user_record(request)
    users_db.create(principal.tenant, record)
    return _public(record)


def get_user(principal: Principal, user_id: str) -> User:
    if user_id != principal.user_id and principal.role not in roles.READ_USERS:
        raise ForbiddenError("Your role may not look at other staff accounts.")
    record = users_db.get(principal.tenant, user_id)
    if record is None:
        raise NotFoundError("No such user.")
    return _public(record)


def list_users(principal: Principal, query: UserListQuery) -> Page[User]:
    if query.supervisor_id:
        items, cursor = users_db.list_team(principal.tenant, query.supervisor_id, query.limit, query.cursor)
    else:
        items, cursor = users_db.list_users(principal.tenant, query.limit, query.cursor)
    return Page[User](items=items, next_cursor=cursor)


def patch_user(principal: Principal, user_id: str, request: UserPatchRequest) -> User:
    current = users_db.get(principal.tenant, user_id)
    if current is None:
        raise NotFoundError("No such user.")
    changes: dict[str, Any] = request.model_dump(exclude_unset=True, mode="json")
    for name in ("display_name", "role", "active"):
        if name in changes and changes[name] is None:
            raise ValidationFailedError(f"{name} cannot be null.", details=[{"field": name, "message": "not nullable"}])
    if "campus_ids" in changes:
        changes["campus_ids"] = list(dict.fromkeys(changes["campus_ids"] or []))
    if user_id == principal.user_id and (
        changes.get("active") is False or changes.get("role", Role.admin.value) != Role.admin.value
    ):
        raise ConflictError(
            "You cannot disable your own account or remove your own admin role.", code="CANNOT_CHANGE_SELF"
        )
    role = Role(changes.get("role", current.role))
    if role is not Role.consultant and current.supervisor_id and "supervisor_id" not in changes:
        changes["supervisor_id"] = None  # leaving the consultant role leaves the team
    _check_assignment(
        principal.tenant,
        user_id,
        role,
        changes.get("campus_ids", current.campus_ids),
        changes.get("supervisor_id", current.supervisor_id),
    )
    changes["updated_at"] = clock.iso(clock.now())
    # Disabling ends every session at once; re-enabling does not revive old tokens.
    bump = changes.get("active") is False and current.active
    return _public(users_db.update(principal.tenant, user_id, changes, bump_token_version=bump))


def set_password(tenant: str, username: str, password: str) -> User:
    """Console: reset a password; every existing session of that user ends."""
    record = users_db.get_by_username(tenant, username)
    if record is None:
        raise NotFoundError(f"No user {username!r} in {tenant!r}.")
    return _new_password(tenant, record.id, password)


def reset_password(principal: Principal, user_id: str, password: str) -> User:
    """An admin sets a staff account's password (POST /users/{id}/password): every session of
    that account ends (its token version moves); the request is audited as every request is."""
    if users_db.get(principal.tenant, user_id) is None:
        raise NotFoundError("No such user.")
    return _new_password(principal.tenant, user_id, password)


def _new_password(tenant: str, user_id: str, password: str) -> User:
    if len(password) < 10:
        raise ValidationFailedError(
            "Passwords need at least 10 characters.", details=[{"field": "password", "message": "too short"}]
        )
    changes = {"password_hash": passwords.hash_password(password), "updated_at": clock.iso(clock.now())}
    return _public(users_db.update(tenant, user_id, changes, bump_token_version=True))


def me(principal: Principal) -> MeResponse:
    """The caller as read by authentication (no second read) and their school."""
    return MeResponse(user=principal.user, tenant=get_tenant(principal.tenant))
