"""Public API keys: admins create, list and revoke them; a public request is let in by
its key (which names the school and campus), its website's origin and two rate limits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.db import api_keys as keys_db
from chalicelib.db import tenants as tenants_db
from chalicelib.domain import clock, ids
from chalicelib.domain.auth import Principal
from chalicelib.errors import ForbiddenError, NotFoundError, ThrottledError, UnauthorizedError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.website import ApiKey, ApiKeyCreated, ApiKeyRequest

IP_LIMIT_PER_MINUTE = 10  # requests a minute from one address to one school's public routes
PREFIX_LENGTH = 7  # "pk_" and four characters


@dataclass(frozen=True)
class PublicCaller:
    """Who is calling a public route: a school's website, known by its key."""

    tenant: str
    key_id: str
    campus_id: str


def _hash(key: str) -> str:
    """SHA-256 is enough here: the keys are long random tokens, not passwords."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(principal: Principal, request: ApiKeyRequest) -> ApiKeyCreated:
    if not tenants_db.existing_campus_ids(principal.tenant, [request.campus_id]):
        raise ValidationFailedError("Unknown campus.", details=[{"field": "campus_id", "message": "unknown campus"}])
    key = "pk_" + secrets.token_urlsafe(32)
    data = {
        "id": ids.new_id(),
        "name": request.name,
        "prefix": key[:PREFIX_LENGTH],
        "key_hash": _hash(key),
        "campus_id": request.campus_id,
        "allowed_origins": request.allowed_origins,
        "rate_limit": request.rate_limit_per_minute,
        "created_by": principal.user_id,
        "created_at": clock.iso(clock.now()),
    }
    keys_db.create(principal.tenant, data)
    return ApiKeyCreated(**_fields(data), key=key)


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """Stored fields as the API names them (the hash is never shown)."""
    shown = {k: v for k, v in data.items() if k not in ("key_hash", "tenant", "rate_limit")}
    return {**shown, "rate_limit_per_minute": data["rate_limit"], "revoked": data.get("revoked_at") is not None}


def list_keys(principal: Principal, limit: int, cursor: str | None) -> Page[ApiKey]:
    items, next_cursor = keys_db.list_page(principal.tenant, limit, cursor)
    return Page[ApiKey](items=[ApiKey(**_fields(i)) for i in items], next_cursor=next_cursor)


def revoke_key(principal: Principal, key_id: str) -> None:
    """Revokes a key; public requests with it are refused from now on. Revoking twice is fine."""
    found = keys_db.get(principal.tenant, key_id)
    if found is None:
        raise NotFoundError("No such API key.", code="API_KEY_NOT_FOUND")
    if found.get("revoked_at") is None:
        keys_db.revoke(principal.tenant, key_id, found["key_hash"], clock.iso(clock.now()))


# --- public requests -----------------------------------------------------------------


def authenticate(headers: dict[str, str], source_ip: str | None) -> PublicCaller:
    """The caller of a public route from its X-Api-Key; then its origin and rate limits."""
    key = (headers.get("x-api-key") or "").strip()
    if not key:
        raise UnauthorizedError("Send the school's API key in the X-Api-Key header.", code="API_KEY_REQUIRED")
    found = keys_db.lookup(_hash(key))
    if found is None or found.get("revoked_at") is not None:
        raise UnauthorizedError("This API key is unknown or was revoked.", code="API_KEY_INVALID")
    allowed = found.get("allowed_origins") or []
    origin = (headers.get("origin") or "").strip().rstrip("/").lower()
    if allowed and origin not in allowed:
        raise ForbiddenError("This website may not use this API key.", code="ORIGIN_FORBIDDEN")
    caller = PublicCaller(tenant=found["tenant"], key_id=found["id"], campus_id=found["campus_id"])
    if source_ip:  # first: one address over its limit must not use up the school's key
        _limit(caller.tenant, "IP", source_ip, IP_LIMIT_PER_MINUTE)
    _limit(caller.tenant, "KEY", caller.key_id, int(found["rate_limit"]))
    return caller


def _limit(tenant: str, what: str, who: str, per_minute: int) -> None:
    """Fixed one-minute windows (UTC); the 429 says when the next window opens."""
    now = clock.now()
    window_end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if not keys_db.count(tenant, what, who, f"{now:%Y%m%d%H%M}", per_minute, int(window_end.timestamp()) + 60):
        wait = max(1, int((window_end - now).total_seconds() + 0.999))
        raise ThrottledError("Too many requests; try again in a minute.", code="RATE_LIMITED", retry_after=wait)
