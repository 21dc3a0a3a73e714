"""Signed bearer tokens (HS256 JWT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from chalicelib.domain import clock, ids
from chalicelib.errors import UnauthorizedError
from chalicelib.secrets import get_jwt_secret
from chalicelib.settings import get_settings

_ALGORITHM = "HS256"
_REQUIRED = ["sub", "ten", "tv", "iat", "exp"]


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    tenant: str
    token_version: int


def issue(tenant: str, user_id: str, role: str, token_version: int) -> tuple[str, datetime]:
    issued = clock.now()
    expires = issued + timedelta(seconds=get_settings().token_ttl_seconds)
    claims = {
        "sub": user_id,
        "ten": tenant,
        "role": role,
        "tv": token_version,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": ids.new_id(),
    }
    return jwt.encode(claims, get_jwt_secret(), algorithm=_ALGORITHM), expires


def verify(token: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            get_jwt_secret(),
            algorithms=[_ALGORITHM],
            options={"require": _REQUIRED, "verify_iat": False},
            leeway=10,
        )
        # PyJWT checks `exp` against the wall clock; the domain clock may be frozen in tests.
        if int(claims["exp"]) + 10 < clock.epoch():
            raise jwt.ExpiredSignatureError("expired")
        return TokenClaims(str(claims["sub"]), str(claims["ten"]), int(claims["tv"]))
    except jwt.ExpiredSignatureError as exc:
        raise UnauthorizedError("Your session has expired; please sign in again.", code="TOKEN_EXPIRED") from exc
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
        raise UnauthorizedError("The bearer token is not valid.", code="TOKEN_INVALID") from exc
