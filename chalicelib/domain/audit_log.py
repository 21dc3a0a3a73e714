"""Writing one audit entry (see domain/audit.py). Below audit.py, whose freeze alerts admins
through messaging: what only records (plan_access, sign-in) imports this module."""

from __future__ import annotations

import time as timer
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.db import audit as audit_db
from chalicelib.domain import clock, config, ids
from chalicelib.observability import logger

if TYPE_CHECKING:  # only a type here: domain.auth brings the users table and its schemas
    from chalicelib.domain.auth import Principal

_retention: dict[str, tuple[float, int]] = {}  # tenant -> (read at, days): read once a minute


def _retention_days(tenant: str) -> int:
    cached = _retention.get(tenant)
    if cached is None or timer.monotonic() - cached[0] > 60:
        cached = (timer.monotonic(), config.load_security(tenant).audit_retention_days)
        _retention[tenant] = cached
    return cached[1]


def record(
    tenant: str,
    *,
    action: str,
    principal: Principal | None = None,
    username: str | None = None,
    method: str | None = None,
    route: str | None = None,
    params: dict[str, str] | None = None,
    status: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    weight: int = 0,
    details: str | None = None,
    retention_days: int | None = None,
) -> None:
    """Writes one audit entry; never fails the request it describes."""
    try:
        days = retention_days or _retention_days(tenant)
        now = clock.now()
        data: dict[str, Any] = {
            "id": ids.new_id(),
            "at": clock.iso(now),
            "user_id": principal.user_id if principal else None,
            "username": principal.username if principal else username,
            "role": principal.role.value if principal else None,
            "action": action,
            "method": method,
            "route": route,
            "params": dict(params or {}),
            "lead_id": (params or {}).get("lead_id"),
            "status": status,
            "ip": ip,
            "user_agent": (user_agent or "")[:300] or None,
            "weight": weight,
            "epoch": principal.access_epoch if principal else 0,
            "details": details,
            "campus_ids": set(principal.campus_ids) if principal and principal.campus_ids else None,
        }
        audit_db.put(tenant, data, int((now + timedelta(days=days)).timestamp()))
    except Exception:  # noqa: BLE001 - the audit must not turn a done request into an error
        logger.exception("audit entry not written", extra={"action": action, "route": route})
