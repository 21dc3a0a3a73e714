"""Operation audit (系统操作历史) and the anti-scraping freeze (智能预警).

Every authenticated request is an audit entry: who, what (the route and its ids), which
lead, the answer's status, when, from which IP and user agent. So is every sign-in. A
read of customer data carries a weight; the stream processor adds the weights up per
user in fixed windows and freezes an account that goes over the school's thresholds.
"""

from __future__ import annotations

import time as timer
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from chalicelib.db import audit as audit_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import users as users_db
from chalicelib.domain import clock, config, ids
from chalicelib.domain.auth import Principal
from chalicelib.errors import ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.observability import logger
from chalicelib.schemas.common import Page
from chalicelib.schemas.users import Role

READERS = frozenset({Role.admin, Role.manager})
MAX_DAYS = 31
_retention: dict[str, tuple[float, int]] = {}  # tenant -> (read at, days): read once a minute


def _retention_days(tenant: str) -> int:
    cached = _retention.get(tenant)
    if cached is None or timer.monotonic() - cached[0] > 60:
        cached = (timer.monotonic(), config.load(tenant).security.audit_retention_days)
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
        }
        audit_db.put(tenant, data, int((now + timedelta(days=days)).timestamp()))
    except Exception:  # noqa: BLE001 - the audit must not turn a done request into an error
        logger.exception("audit entry not written", extra={"action": action, "route": route})


def weight_of(method: str, route: str, query: Any) -> int:
    """What a request counts for anti-scraping: reads of customer data only."""
    if method == "GET" and route == "/leads":
        return 1 + int(getattr(query, "limit", 50) or 50) // 20
    if method == "GET" and route == "/leads/{lead_id}":
        return 1
    if method == "POST" and route == "/leads/{lead_id}/reveal-phone":
        return 3
    if method == "GET" and route in ("/leads/export", "/cards/{card_id}/ledger", "/contracts/{contract_id}"):
        return 20 if route == "/leads/export" else 1
    return 0


def entries(
    principal: Principal,
    *,
    user: str | None,
    lead: str | None,
    day_from: date | None,
    day_to: date | None,
    limit: int,
    cursor: str | None,
) -> Page[Any]:
    from chalicelib.schemas.reports import AuditEntry

    if principal.role not in READERS:
        raise ForbiddenError("The audit is for managers and admins.", code="ROLE_FORBIDDEN")
    today = clock.now().date()
    hi = day_to or today
    lo = day_from or (hi - timedelta(days=6))
    if hi < lo or (not (user or lead) and (hi - lo).days >= MAX_DAYS):
        raise ValidationFailedError(
            f"from/to: a range of at most {MAX_DAYS} days (or name a user or a lead)",
            details=[{"field": "from", "message": "range too long"}],
        )
    days = [(lo + timedelta(days=n)).isoformat() for n in range((hi - lo).days + 1)]
    items, next_cursor = audit_db.page(
        principal.tenant,
        user=user,
        lead=lead,
        days=days,
        lo=clock.iso(datetime.combine(lo, time.min, tzinfo=UTC)),
        hi=clock.iso(datetime.combine(hi, time.max, tzinfo=UTC)),
        limit=limit,
        cursor=cursor,
        scope=f"{principal.tenant}:audit:{user}:{lead}:{lo}:{hi}",
    )
    return Page[AuditEntry](items=[AuditEntry.model_validate(i) for i in items], next_cursor=next_cursor)


# --- freezing ----------------------------------------------------------------------------


def freeze(tenant: str, user_id: str, reason: str, epoch: int = 0) -> bool:
    """Freezes an account (not an admin's); its tokens stop working at once. Tells the
    school's admins (a notification, and an SMS through the messaging machinery) and
    audits it. False if it was frozen already."""
    target = users_db.get(tenant, user_id)
    if target is None or target.role is Role.admin or target.access_epoch != epoch:
        return False  # an admin; or reads from before an unfreeze, which no longer count
    now = clock.now()
    if not users_db.freeze(tenant, user_id, reason, clock.iso(now)):
        return False
    record(tenant, action="freeze", username=target.username, params={"user_id": user_id}, details=reason)
    message = f"账号「{target.display_name}」（{target.username}）因访问客户数据过快已被冻结：{reason}"
    admins = [u for u in users_db.active_records(tenant) if u.role is Role.admin]
    for admin in admins:
        schedule_db.notify(tenant, admin.id, ids.new_id(), message, None, clock.iso(now))
    _alert_by_sms(tenant, admins, message, f"frozen-{user_id}-{clock.iso(now)[:16]}")
    logger.warning("account frozen", extra={"tenant": tenant, "frozen_user": user_id, "reason": reason})
    return True


def _alert_by_sms(tenant: str, admins: list[Any], text: str, message_id: str) -> None:
    from chalicelib.domain import messaging, phones
    from chalicelib.domain.tenants import get_tenant

    region = get_tenant(tenant).phone_region
    targets = []
    for admin in admins:
        if admin.phone:
            try:
                targets.append(messaging.Target(to=phones.normalise(admin.phone, region), name=admin.display_name))
            except ValidationFailedError:
                continue
    if targets:
        messaging.enqueue(
            tenant,
            channel="sms",
            purpose="notice",
            body=text.replace("{", "(").replace("}", ")"),
            subject=None,
            targets=targets,
            send_at=clock.now(),
            source="digest",  # an alert to staff: quiet hours do not hold it back
            message_id=message_id,
        )


def frozen_users(principal: Principal) -> Page[Any]:
    if principal.role is not Role.admin:
        raise ForbiddenError("Only admins see frozen accounts.", code="ROLE_FORBIDDEN")
    from chalicelib.schemas.users import User

    return Page[User](items=[User.model_validate(u.model_dump()) for u in users_db.frozen(principal.tenant)])


def unfreeze(tenant: str, user_id: str, reason: str, *, by: Principal | None = None, console: bool = False) -> Any:
    """Lifts a freeze (the user signs in again); audited with who did it and why."""
    target = users_db.get(tenant, user_id)
    if target is None:
        raise NotFoundError("No such user.", code="USER_NOT_FOUND")
    if not users_db.unfreeze(tenant, user_id):
        raise ValidationFailedError("This account is not frozen.", details=[{"field": "user_id"}])
    who = by.username if by else "platform console"
    record(
        tenant,
        action="unfreeze",
        principal=by,
        username=None if by else "console",
        params={"user_id": user_id},
        details=f"{who}: {reason}" + (" (console)" if console else ""),
    )
    return users_db.get(tenant, user_id)
