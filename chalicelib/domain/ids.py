"""Sortable, unguessable ids: 48 bits of milliseconds then 80 random bits, Crockford base32."""

from __future__ import annotations

import secrets

from chalicelib.domain import clock

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    ms = int(clock.now().timestamp() * 1000)
    return from_int((ms << 80) | secrets.randbits(80))


def from_int(value: int) -> str:
    """A 128-bit number in the same 26-character form (ids derived from other ids)."""
    out = []
    for _ in range(26):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))
