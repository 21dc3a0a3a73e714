"""Sign-in and the identity of every request."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.db import users as users_db
from chalicelib.domain import tokens
from chalicelib.errors import AccountFrozenError, UnauthorizedError
from chalicelib.schemas.users import Role, User, UserRecord


@dataclass(frozen=True)
class Principal:
    """Who is calling. The tenant comes from the verified token, never from the request."""

    tenant: str
    user_id: str
    username: str
    display_name: str
    role: Role
    campus_ids: tuple[str, ...]
    supervisor_id: str | None
    user: User
    access_epoch: int = 0

    @classmethod
    def of(cls, tenant: str, record: UserRecord) -> Principal:
        return cls(
            tenant=tenant,
            user_id=record.id,
            username=record.username,
            display_name=record.display_name,
            role=record.role,
            campus_ids=tuple(record.campus_ids),
            supervisor_id=record.supervisor_id,
            user=User.model_validate(record.model_dump()),
            access_epoch=record.access_epoch,
        )


FROZEN_MESSAGE = (
    "This account was frozen because it read customer data faster than the school allows (智能预警). "
    "An administrator of your school can unfreeze it."
)


def authenticate(authorization: str | None) -> Principal:
    """Verifies `Authorization: Bearer <token>` and that the account may still act."""
    if not authorization or not authorization.startswith("Bearer "):
        raise UnauthorizedError("Sign in first: send `Authorization: Bearer <token>`.", code="TOKEN_MISSING")
    claims = tokens.verify(authorization[len("Bearer ") :].strip())
    record = users_db.get(claims.tenant, claims.user_id)
    if record is None or not record.active:
        raise UnauthorizedError("This account is disabled.", code="ACCOUNT_DISABLED")
    if record.frozen_at:
        raise AccountFrozenError(FROZEN_MESSAGE, code="ACCOUNT_FROZEN")
    if record.token_version != claims.token_version:
        raise UnauthorizedError("This session was ended; please sign in again.", code="TOKEN_REVOKED")
    return Principal.of(claims.tenant, record)
