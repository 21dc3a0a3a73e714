"""Opaque, signed pagination cursors.

A cursor wraps DynamoDB's LastEvaluatedKey. It is signed with a key derived from the
token secret and bound to the tenant and the list it came from, so a cursor cannot be
forged, nor replayed against another tenant or another list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.errors import ValidationFailedError
from chalicelib.secrets import get_jwt_secret


def _key() -> bytes:
    return hashlib.sha256(b"cursor:" + get_jwt_secret().encode()).digest()


def encode(last_key: dict[str, Any] | None, scope: str) -> str | None:
    if not last_key:
        return None
    payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(), scope.encode() + b"|" + payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, payload = raw[:16], raw[16:]
        good = hmac.new(_key(), scope.encode() + b"|" + payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, good):
            raise ValueError("bad signature")
        value = json.loads(payload)
        if not isinstance(value, dict):
            raise ValueError("not a key")
        return value
    except ValueError as exc:  # includes binascii.Error and JSONDecodeError
        raise ValidationFailedError(
            "The cursor is not valid for this list.",
            details=[{"field": "cursor", "message": "invalid or expired cursor"}],
        ) from exc
