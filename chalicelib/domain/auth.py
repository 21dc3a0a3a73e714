"""Sign-in and the identity of every request.

A request's token is verified each time; the account behind it (active, frozen, its token
version, role, campuses, team) is what this container read in the last RECENT_SECONDS
(domain/config.py), read again after that and after any change this container makes to it
(db/users.py forgets it). Customer-data routes also see the account as it is now, in the
BatchGetItem that reads the caller's access counters (domain/audit.py `reads_left`), and
refuse there. docs/security.md says which changes are seen at once and which late.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.db import users as users_db
from chalicelib.domain import clock, tokens
from chalicelib.domain.config import RECENT_SECONDS
from chalicelib.errors import AccountFrozenError, CrmError, UnauthorizedError
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
    token_version: int = 0  # of the account when authenticated: the token's (reads_left checks it again)

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
            token_version=record.token_version,
        )


FROZEN_MESSAGE = (
    "This account was frozen because it read customer data faster than the school allows (智能预警). "
    "An administrator of your school can unfreeze it."
)


def refusal(record: UserRecord | None, token_version: int) -> CrmError | None:
    """Why this account may not act with a token of this version; None when it may."""
    if record is None or not record.active:
        return UnauthorizedError("This account is disabled.", code="ACCOUNT_DISABLED")
    if record.frozen_at:
        return AccountFrozenError(FROZEN_MESSAGE, code="ACCOUNT_FROZEN")
    if record.token_version != token_version:
        return UnauthorizedError("This session was ended; please sign in again.", code="TOKEN_REVOKED")
    return None


def admitted(record: UserRecord | None, token_version: int) -> UserRecord:
    """The account, when it may act with a token of this version; else raises why not."""
    refused = refusal(record, token_version)
    if refused is not None:
        raise refused
    assert record is not None  # refusal() refuses a missing account
    return record


def authenticate(authorization: str | None) -> Principal:
    """Verifies `Authorization: Bearer <token>` and that the account may still act, as this
    container read it in the last RECENT_SECONDS (no read on a warm container)."""
    if not authorization or not authorization.startswith("Bearer "):
        raise UnauthorizedError("Sign in first: send `Authorization: Bearer <token>`.", code="TOKEN_MISSING")
    claims = tokens.verify(authorization[len("Bearer ") :].strip())
    now = clock.now().timestamp()
    record, kept = users_db.recent(claims.tenant, claims.user_id, now=now, within=RECENT_SECONDS)
    if (
        kept
        and record is not None
        and claims.token_version >= record.token_version
        and refusal(record, claims.token_version) is not None
    ):
        # Refused on what was read earlier, with a token no older than that read (an account
        # unfrozen or re-enabled elsewhere, then signed in to again): decide on it as it is now.
        # (A token older than the account's version is revoked for good: versions only grow.)
        users_db.forget(claims.tenant, claims.user_id)
        record, _ = users_db.recent(claims.tenant, claims.user_id, now=now, within=RECENT_SECONDS)
    return Principal.of(claims.tenant, admitted(record, claims.token_version))
