"""Signing in: the password check behind the sign-in throttle, and the audit of each attempt.

Above domain/auth.py (the identity of every request, which every feature imports): signing
in reads the notice board and writes the audit log, both of which import auth's Principal.
"""

from __future__ import annotations

from typing import TypedDict

from chalicelib.db import tenants as tenants_db
from chalicelib.db import users as users_db
from chalicelib.domain import audit, board, clock, passwords, tokens
from chalicelib.domain.auth import FROZEN_MESSAGE
from chalicelib.errors import AccountFrozenError, CrmError, ThrottledError, UnauthorizedError
from chalicelib.schemas.users import LoginRequest, LoginResponse, User
from chalicelib.settings import get_settings

_BAD_CREDENTIALS = "Wrong school, login name or password."


def login(request: LoginRequest, source_ip: str | None = None) -> LoginResponse:
    """Checks the password behind the sign-in throttle: an address that keeps failing is
    locked out of that login name (only that address: an attacker elsewhere cannot lock the
    owner out), and once a name fails often from everywhere, addresses it never signed in
    from must wait a doubling delay. Locks and delays are audited."""
    settings = get_settings()
    tenant, username = request.tenant.strip().lower(), request.username.strip()
    address = source_ip or "unknown"
    now = clock.epoch()
    guards = users_db.login_guards(tenant, username, address, now)
    if guards.address_locked_until and guards.address_locked_until > now:
        wait = guards.address_locked_until - now
        raise ThrottledError(
            f"Too many failed sign-ins for this login name from here; try again in {max(1, wait // 60)} minute(s).",
            code="LOGIN_LOCKED",
            retry_after=wait,
        )
    if not guards.address_known and guards.name_wait_until and guards.name_wait_until > now:
        raise ThrottledError(
            "Many failed sign-ins for this login name; wait a moment before trying again.",
            code="LOGIN_THROTTLED",
            retry_after=guards.name_wait_until - now,
        )
    record = users_db.get_by_username(tenant, username)
    if record is None:
        passwords.verify_against_dummy(request.password)
        ok = False
    else:
        ok = passwords.verify_password(request.password, record.password_hash) and record.active
    if ok and record is not None and record.frozen_at:
        raise AccountFrozenError(FROZEN_MESSAGE, code="ACCOUNT_FROZEN")
    if not ok or record is None:
        _count_failure(tenant, username, address, now)
        raise UnauthorizedError(_BAD_CREDENTIALS, code="INVALID_CREDENTIALS")
    if guards.address_failures:
        users_db.clear_login_guard(tenant, username, address=address)
    known_for = settings.login_known_days * 86400
    if not guards.known_until or guards.known_until - now < known_for // 2:  # refreshed now and then, not each time
        users_db.remember_address(tenant, username, address, now + known_for)
    token, expires = tokens.issue(tenant, record.id, record.role.value, record.token_version)
    unread = board.unread(tenant, record.id)[:10]
    return LoginResponse(
        token=token,
        expires_at=expires,
        user=User.model_validate(record.model_dump()),
        unread_announcements=unread,
    )


def _count_failure(tenant: str, username: str, address: str, now: int) -> None:
    """One more failure on the address's guard and on the name's; a lock or the start of the
    slow-down is audited once, when it begins."""
    settings = get_settings()
    window = settings.login_lock_seconds
    begun: list[tuple[str, str]] = []
    here = users_db.record_login_failure(tenant, username, now=now, window=window, address=address)
    if here >= settings.login_max_failures:
        users_db.lock_login(tenant, username, now + window, address=address)
        if here == settings.login_max_failures:
            begun.append(("sign_in_locked", f"{here} failed sign-ins from this address: locked for {window // 60} min"))
    everywhere = users_db.record_login_failure(tenant, username, now=now, window=window, address=None)
    if everywhere >= settings.login_delay_after:
        delay = min(2 ** (everywhere - settings.login_delay_after), settings.login_delay_max_seconds)
        users_db.lock_login(tenant, username, now + delay, address=None, keep_at_least=now + window)
        if everywhere == settings.login_delay_after:
            begun.append(("sign_in_throttled", f"{everywhere} failed sign-ins from all addresses: unknown ones wait"))
    for action, details in begun:
        audit.record(tenant, action=action, username=username, ip=address, status=429, details=details)


class _Seen(TypedDict):
    """Who tried to sign in, as each audit entry of the attempt records it."""

    username: str
    ip: str | None
    user_agent: str | None


def attempt(request: LoginRequest, source_ip: str | None, user_agent: str | None) -> LoginResponse:
    """`login`, audited: a failed attempt on a school that exists, and each success."""
    tenant = request.tenant.strip().lower()
    seen: _Seen = {"username": request.username.strip(), "ip": source_ip, "user_agent": user_agent}
    try:
        result = login(request, source_ip)
    except CrmError as exc:
        if tenants_db.get(tenant) is not None:  # a school that exists: its audit shows the attempt
            audit.record(tenant, action="sign_in_failed", status=exc.status, details=exc.code, **seen)
        raise
    audit.record(tenant, action="sign_in", status=200, **seen)
    return result
