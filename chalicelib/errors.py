"""The errors every layer raises; the API turns each into the one JSON envelope.

`{"error": {"code": ..., "message": ..., "details": [...]}}` with the status below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.error_catalogue import localized


class CrmError(Exception):
    status = 500
    code = "INTERNAL"
    reads = 0  # customer records this answer still tells, for anti-scraping (a duplicate phone's 409)

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []
        self.params = dict(params or {})  # values for the catalogue's message templates (besides details[0])

    def with_status(self, status: int) -> CrmError:
        """This error answered with another HTTP status (one that has no class of its own)."""
        self.status = status
        return self

    def to_body(self, lang: str = "en") -> dict[str, Any]:
        """The envelope; `lang` "zh": the message from the catalogue (chalicelib/error_catalogue.py)."""
        return {"error": {"code": self.code, "message": self.localized_message(lang), "details": self.details}}

    def localized_message(self, lang: str) -> str:
        first = self.details[0] if self.details and isinstance(self.details[0], dict) else {}
        return localized(self.code, self.message, lang, {**first, **self.params}, self.status)


class ValidationFailedError(CrmError):
    status = 400
    code = "VALIDATION_FAILED"


class UnauthorizedError(CrmError):
    status = 401
    code = "UNAUTHORIZED"


class ForbiddenError(CrmError):
    status = 403
    code = "FORBIDDEN"


class NotFoundError(CrmError):
    status = 404
    code = "NOT_FOUND"


class ConflictError(CrmError):
    status = 409
    code = "CONFLICT"


class BusyError(ConflictError):
    """DynamoDB kept refusing a write because others were writing the same items at that
    moment (a transaction conflict) or the table was throttling. Nothing was written; the
    same request sent again after `retry_after` seconds can succeed."""

    code = "BUSY"

    def __init__(self, message: str = "", *, retry_after: int = 1, **kwargs: Any):
        super().__init__(message or "The records are busy right now; nothing was changed. Try again.", **kwargs)
        self.retry_after = retry_after


# what DynamoDB answers when it throttles (a whole call, or one item of a transaction)
THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceeded",
        "ThrottlingError",
    }
)


def busy_cause(exc: BaseException) -> bool:
    """A store error that only says "busy, try again" (throttled), wherever it surfaced."""
    seen = 0
    while exc is not None and seen < 5:
        if getattr(exc, "cause_response_code", None) in THROTTLE_CODES:
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


class AccountFrozenError(CrmError):
    status = 423
    code = "ACCOUNT_FROZEN"


class ThrottledError(CrmError):
    status = 429
    code = "THROTTLED"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
