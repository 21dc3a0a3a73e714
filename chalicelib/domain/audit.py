"""Operation audit (系统操作历史) and the anti-scraping freeze (智能预警).

Every authenticated request is an audit entry: who, what (the route and its ids), which
lead, the answer's status, when, from which IP and user agent. So is every sign-in. A
read of customer data carries a weight; the stream processor adds the weights up per
user in fixed windows and freezes an account that goes over the school's thresholds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.db import audit as audit_db
from chalicelib.domain import clock

# the counting windows and their limits live in access_windows (the stream imports it alone)
from chalicelib.domain.access_windows import LIMITS, WINDOW_NAMES, WINDOWS, windows  # noqa: F401 - audit.windows(...)
from chalicelib.domain.audit_log import record  # the public face too: audit.record(...)
from chalicelib.errors import AccountFrozenError, ForbiddenError, NotFoundError, ValidationFailedError
from chalicelib.observability import logger
from chalicelib.schemas.common import Page

if TYPE_CHECKING:
    from chalicelib.domain.auth import Principal

# The stream function imports this module only to freeze an account (streams/access.py counts
# with domain/access_windows.py): what only reading the audit, freezing and unfreezing need (the
# users and schedule tables, the user and page schemas) is imported in those functions.

READERS = frozenset({"admin", "manager"})  # Role values (a Role is its str value: Role.admin in READERS)
MAX_DAYS = 31


# --- what counts, and refusing in the request's path ---------------------------------------


def reads_left(principal: Principal) -> int | None:
    """What the caller may still read of customer data now: the least that is left of the
    current minute, hour and day (one BatchGetItem of their counters and the caller's own
    account as it is now; the school's limits as this container read them in the last
    RECENT_SECONDS, its own changes at once: the stream's freeze check reads them as they
    are). Refuses (423 READ_LIMIT_REACHED) when a window is
    already spent: that request is not served, and its audit entry counts as one read, so the
    stream freezes the account. Refuses as authentication does (ACCOUNT_FROZEN,
    ACCOUNT_DISABLED, TOKEN_REVOKED) an account changed since this container last read it
    (frozen by the stream function, disabled elsewhere). None for admins, who are never frozen."""
    from chalicelib.db import config as config_db
    from chalicelib.db import reports as reports_db
    from chalicelib.domain import auth
    from chalicelib.domain.config import RECENT_SECONDS
    from chalicelib.schemas.settings import SecuritySettings
    from chalicelib.schemas.users import Role

    if principal.role is Role.admin:
        return None
    now, epoch = clock.now(), principal.access_epoch
    for _ in range(2):  # twice only when the account was unfrozen since authentication read it
        current = windows(now, epoch)
        sks = [sk for _, sk, _ in current]
        used, account = reports_db.window_reads(principal.tenant, principal.user_id, sks, now=now.timestamp())
        read_epoch, epoch = epoch, auth.admitted(account, principal.token_version).access_epoch
        if epoch == read_epoch:
            break  # (else the counting started afresh in the new epoch: read its counters)
    stored = config_db.recent(principal.tenant, now=now.timestamp(), within=RECENT_SECONDS).security
    limits = SecuritySettings(**(stored or {}))
    left, spent = [], []
    for name, sk, _ in current:
        limit: int = getattr(limits, LIMITS[name])  # every LIMITS field of SecuritySettings is an int
        left.append(limit - used[sk])
        if used[sk] >= limit:
            spent.append(f"{used[sk]} reads in this {WINDOW_NAMES[name]} (limit {limit})")
    if spent:
        error = AccountFrozenError(
            "You have read as many customer records as your school allows: "
            + "; ".join(spent)
            + ". The account is being frozen; an administrator can unfreeze it.",
            code="READ_LIMIT_REACHED",
            details=[{"field": "reads", "message": m} for m in spent],
        )
        error.reads = 1  # the attempt itself counts: the stream freezes the account
        raise error
    return min(left)


def check_bulk(records: int, left: int | None) -> None:
    """A bulk answer (an export) is refused whole, before anything is served, when its
    records do not fit in what the caller's windows have left. Nothing is counted."""
    if left is not None and records > left:
        raise AccountFrozenError(
            f"This export holds {records} customer records; your school lets you read {left} more now. "
            "Narrow the filter, or ask an administrator to raise the read limits.",
            code="EXPORT_OVER_READ_LIMIT",
            details=[{"field": "filter", "message": f"{records} rows, {left} left"}],
        )


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
    from chalicelib.schemas.users import Role

    if principal.role not in READERS:
        raise ForbiddenError("The audit is for managers and admins.", code="ROLE_FORBIDDEN")
    from zoneinfo import ZoneInfo

    from chalicelib.domain.tenants import get_tenant

    zone = ZoneInfo(get_tenant(principal.tenant).timezone)  # days are the school's, as everywhere
    today = clock.now().astimezone(zone).date()
    hi = day_to or today
    lo = day_from or (hi - timedelta(days=6))
    if hi < lo or (not (user or lead) and (hi - lo).days >= MAX_DAYS):
        raise ValidationFailedError(
            f"from/to: a range of at most {MAX_DAYS} days (or name a user or a lead)",
            details=[{"field": "from", "message": "range too long"}],
        )
    # a user's or a lead's entries are one partition, read by time; a range of days, every user's
    items, next_cursor = audit_db.page(
        principal.tenant,
        user=user,
        lead=lead,
        lo=clock.iso(datetime.combine(lo, time.min, tzinfo=zone).astimezone(UTC)),
        hi=clock.iso(datetime.combine(hi, time.max, tzinfo=zone).astimezone(UTC)),
        limit=limit,
        cursor=cursor,
        scope=f"{principal.tenant}:audit:{user}:{lead}:{lo}:{hi}",
        campuses=None if principal.role is Role.admin else list(principal.campus_ids),
    )
    return Page[AuditEntry](items=[AuditEntry.model_validate(i) for i in items], next_cursor=next_cursor)


# --- freezing ----------------------------------------------------------------------------


def freeze(tenant: str, user_id: str, reason: str, epoch: int = 0) -> bool:
    """Freezes an account (not an admin's); its tokens stop working at once. Tells the
    school's admins (a notification, and an SMS through the messaging machinery) and
    audits it. False if it was frozen already."""
    from chalicelib.db import schedule as schedule_db
    from chalicelib.db import users as users_db
    from chalicelib.domain import ids
    from chalicelib.schemas.users import Role

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


def _unfreezes(principal: Principal, target: Any) -> bool:
    """Whether `principal` may see and lift `target`'s freeze (chalicelib.domain.roles)."""
    from chalicelib.domain.roles import UNFROZEN_BY_MANAGERS
    from chalicelib.schemas.users import Role

    if principal.role is Role.admin:
        return True
    return (
        principal.role is Role.manager
        and Role(target.role) in UNFROZEN_BY_MANAGERS
        and bool(set(target.campus_ids) & set(principal.campus_ids))
    )


def frozen_users(principal: Principal) -> Page[Any]:
    from chalicelib.db import users as users_db
    from chalicelib.domain.roles import UNFREEZE_ACCOUNTS
    from chalicelib.schemas.users import User

    if principal.role not in UNFREEZE_ACCOUNTS:
        raise ForbiddenError("Only admins and campus managers see frozen accounts.", code="ROLE_FORBIDDEN")
    mine = [u for u in users_db.frozen(principal.tenant) if _unfreezes(principal, u)]
    return Page[User](items=[User.model_validate(u.model_dump()) for u in mine])


def unfreeze(tenant: str, user_id: str, reason: str, *, by: Principal | None = None, console: bool = False) -> Any:
    """Lifts a freeze (the user signs in again); audited with who did it and why. A manager
    lifts only the freezes of their campuses' staff below them: any other account is 404 to
    them, as if it did not exist."""
    from chalicelib.db import users as users_db

    target = users_db.get(tenant, user_id)
    if target is None or (by is not None and not _unfreezes(by, target)):
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
