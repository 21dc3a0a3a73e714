"""The errors every layer raises; the API turns each into the one JSON envelope.

`{"error": {"code": ..., "message": ..., "details": [...]}}` with the status below.
"""

from __future__ import annotations

from typing import Any


class CrmError(Exception):
    status = 500
    code = "INTERNAL"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


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


class AccountFrozenError(CrmError):
    status = 423
    code = "ACCOUNT_FROZEN"


class ThrottledError(CrmError):
    status = 429
    code = "THROTTLED"

    def __init__(self, message: str, *, retry_after: int | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
