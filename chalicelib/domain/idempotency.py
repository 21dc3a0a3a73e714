"""Exactly-once writes for requests carrying an `Idempotency-Key` header.

The response is computed before the write and stored with it, in the same transaction,
under the key (conditional on the key being new). A retry finds the stored response and
gets it back unchanged; a retry racing the first attempt loses the condition and does the
same. The same key with a different request is refused. Stored responses expire after
24 hours (TTL).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from chalicelib.db import cards as cards_db
from chalicelib.errors import ConflictError, ValidationFailedError

T = TypeVar("T", bound=BaseModel)
KEY = re.compile(r"^[\w.:-]{8,128}$")
LABEL = "idempotency"


class Replayed(Exception):
    """The key was claimed by another attempt of the same request meanwhile."""


@dataclass
class Guard:
    key: str | None
    fingerprint: str

    def claim(self, response: BaseModel, status: int = 200) -> cards_db.IdempotencyClaim | None:
        if self.key is None:
            return None
        return cards_db.IdempotencyClaim(self.key, self.fingerprint, response.model_dump_json(), status)

    def check(self, failed: list[str]) -> None:
        if LABEL in failed:
            raise Replayed()

    def on_conflict(self, exc: Exception) -> None:
        """For `retry.until_written`: a claimed key ends the retrying (the replay answers)."""
        self.check(getattr(exc, "failed", []))


def fingerprint(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def once(tenant: str, key: str | None, print_: str, model: type[T], fn: Callable[[Guard], T]) -> T:
    """Runs `fn` once per key; later calls with the key return what the first returned."""
    if key is not None and not KEY.match(key):
        raise ValidationFailedError(
            "Idempotency-Key must be 8–128 letters, digits, '-', '_', '.' or ':'.",
            details=[{"field": "Idempotency-Key", "message": "malformed"}],
        )
    guard = Guard(key, print_)
    if key is not None:
        stored = cards_db.get_idempotent(tenant, key)
        if stored is not None:
            return _replay(stored, print_, model)
    try:
        return fn(guard)
    except Replayed:
        # only a claim is replayed, and a guard claims only with a key; the claim that won
        # is stored (the replay always read it as there: a missing one crashed before)
        if key is None:
            raise RuntimeError("a request without an Idempotency-Key was replayed") from None
        stored = cards_db.get_idempotent(tenant, key)
        if stored is None:
            raise RuntimeError("the Idempotency-Key claim that won is not stored") from None
        return _replay(stored, print_, model)


def _replay(stored: cards_db.Stored, print_: str, model: type[T]) -> T:
    if stored.fingerprint != print_:
        raise ConflictError("This Idempotency-Key was used for a different request.", code="IDEMPOTENCY_KEY_REUSED")
    return model.model_validate_json(stored.response)
