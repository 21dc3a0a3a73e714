"""Staff users, their login-name uniqueness items and the sign-in guard."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, paging, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import LoginGuardItem, TenantItem, UniqueItem, UserItem
from chalicelib.db.tenants import tenant_item
from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.schemas.tenants import Tenant
from chalicelib.schemas.users import User, UserRecord


def _item(tenant: str, record: UserRecord) -> UserItem:
    data = record.model_dump(mode="json")
    item = UserItem(keys.users_pk(tenant), keys.user_sk(record.id), **data)
    if record.supervisor_id:
        item.GSI1PK = keys.team_gsi1pk(tenant, record.supervisor_id)
        item.GSI1SK = keys.user_sk(record.id)
    return item


def _username_claim(tenant: str, record: UserRecord) -> UniqueItem:
    return UniqueItem(keys.username_pk(tenant, record.username), keys.UNIQUE_SK, owner_id=record.id)


def _record(item: UserItem) -> UserRecord:
    return UserRecord.model_validate(values(item))


def create(tenant: str, record: UserRecord) -> None:
    """Writes the user and claims its login name in one transaction."""
    try:
        with transactions.write() as tx:
            tx.save(_username_claim(tenant, record), condition=UniqueItem.PK.does_not_exist(), label="username")
            tx.save(_item(tenant, record), condition=UserItem.PK.does_not_exist(), label="user")
    except transactions.TransactionConflict as exc:
        raise ConflictError(
            "That login name is already taken in this school.",
            code="USERNAME_TAKEN",
            details=[{"field": "username", "message": "already taken"}],
        ) from exc


def create_tenant_with_admin(tenant: Tenant, admin: UserRecord) -> None:
    """The tenant, its directory entry and its first admin, all or nothing."""
    try:
        with transactions.write() as tx:
            tx.save(tenant_item(tenant), condition=TenantItem.PK.does_not_exist(), label="tenant")
            tx.save(_username_claim(tenant.slug, admin), condition=UniqueItem.PK.does_not_exist(), label="username")
            tx.save(_item(tenant.slug, admin), condition=UserItem.PK.does_not_exist(), label="user")
    except transactions.TransactionConflict as exc:
        raise ConflictError(f"A tenant with the slug {tenant.slug!r} already exists.", code="TENANT_EXISTS") from exc


def get(tenant: str, user_id: str) -> UserRecord | None:
    try:
        return _record(UserItem.get(keys.users_pk(tenant), keys.user_sk(user_id)))
    except UserItem.DoesNotExist:
        return None


def get_by_username(tenant: str, username: str) -> UserRecord | None:
    try:
        claim = UniqueItem.get(keys.username_pk(tenant, username), keys.UNIQUE_SK)
    except UniqueItem.DoesNotExist:
        return None
    return get(tenant, claim.owner_id)


def list_users(tenant: str, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
    scope = f"{tenant}:users"
    result = UserItem.query(
        keys.users_pk(tenant),
        UserItem.SK.startswith(keys.USER_PREFIX),
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    return paging.single(result, scope, User)


def active_records(tenant: str) -> list[UserRecord]:
    """Every active member of staff of a tenant (one partition, paged through): for jobs."""
    query = UserItem.query(
        keys.users_pk(tenant),
        UserItem.SK.startswith(keys.USER_PREFIX),
        filter_condition=UserItem.active == True,  # noqa: E712
    )
    return [_record(item) for item in query]


def freeze(tenant: str, user_id: str, reason: str, at: str) -> bool:
    """Freezes an account (its tokens die: token_version + 1) unless it already is."""
    item = UserItem(keys.users_pk(tenant), keys.user_sk(user_id))
    actions = [
        UserItem.frozen_at.set(at),
        UserItem.frozen_reason.set(reason),
        UserItem.token_version.add(1),
        UserItem.GSI2PK.set(keys.frozen_users(tenant)),
        UserItem.GSI2SK.set(keys.user_sk(user_id)),
    ]
    try:
        item.update(actions=actions, condition=UserItem.PK.exists() & UserItem.frozen_at.does_not_exist())
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def unfreeze(tenant: str, user_id: str) -> bool:
    item = UserItem(keys.users_pk(tenant), keys.user_sk(user_id))
    actions = [
        UserItem.frozen_at.remove(),
        UserItem.frozen_reason.remove(),
        UserItem.GSI2PK.remove(),
        UserItem.GSI2SK.remove(),
        UserItem.access_epoch.add(1),  # the reads that led to the freeze no longer count
    ]
    try:
        item.update(actions=actions, condition=UserItem.PK.exists() & UserItem.frozen_at.exists())
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def frozen(tenant: str) -> list[UserRecord]:
    return [_record(item) for item in UserItem.gsi2.query(keys.frozen_users(tenant))]


def list_team(tenant: str, supervisor_id: str, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
    scope = f"{tenant}:team:{supervisor_id}"
    result = UserItem.gsi1.query(
        keys.team_gsi1pk(tenant, supervisor_id),
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    return paging.single(result, scope, User)


def update(tenant: str, user_id: str, changes: dict[str, Any], *, bump_token_version: bool = False) -> UserRecord:
    """Applies `changes` (None removes an attribute) to an existing user; returns the new record."""
    item = UserItem(keys.users_pk(tenant), keys.user_sk(user_id))
    actions = []
    for name, value in changes.items():
        attr = getattr(UserItem, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    if "supervisor_id" in changes:
        sup = changes["supervisor_id"]
        if sup:
            actions.append(UserItem.GSI1PK.set(keys.team_gsi1pk(tenant, sup)))
            actions.append(UserItem.GSI1SK.set(keys.user_sk(user_id)))
        else:
            actions.extend([UserItem.GSI1PK.remove(), UserItem.GSI1SK.remove()])
    if bump_token_version:
        actions.append(UserItem.token_version.add(1))
    try:
        item.update(actions=actions, condition=UserItem.PK.exists())
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            raise NotFoundError("No such user.") from exc
        raise
    return _record(item)


# --- sign-in guard -----------------------------------------------------------------


def login_guard(tenant: str, username: str, now: int) -> tuple[int, int | None]:
    """(failures, locked_until epoch) for a typed login name; an expired guard counts as none."""
    try:
        item = LoginGuardItem.get(keys.login_guard_pk(tenant, username), keys.LOGIN_GUARD_SK)
    except LoginGuardItem.DoesNotExist:
        return 0, None
    if item.expires_at is not None and item.expires_at <= now:
        return 0, None  # TTL deletes lazily; the window is over all the same
    return int(item.failures or 0), int(item.locked_until) if item.locked_until else None


def record_login_failure(tenant: str, username: str, *, now: int, window: int) -> int:
    """Counts one failure atomically; a guard whose window has passed starts again at 1."""
    item = LoginGuardItem(keys.login_guard_pk(tenant, username), keys.LOGIN_GUARD_SK)
    try:
        item.update(
            actions=[
                LoginGuardItem.failures.add(1),
                LoginGuardItem.expires_at.set(now + window),
                LoginGuardItem.kind.set(LoginGuardItem),
            ],
            condition=LoginGuardItem.PK.does_not_exist() | (LoginGuardItem.expires_at > now),
        )
    except UpdateError as exc:
        if not transactions.condition_failed(exc):
            raise
        item = LoginGuardItem(
            keys.login_guard_pk(tenant, username), keys.LOGIN_GUARD_SK, failures=1, expires_at=now + window
        )
        item.save()
    return int(item.failures)


def lock_login(tenant: str, username: str, until: int) -> None:
    item = LoginGuardItem(keys.login_guard_pk(tenant, username), keys.LOGIN_GUARD_SK)
    item.update(actions=[LoginGuardItem.locked_until.set(until), LoginGuardItem.expires_at.set(until)])


def clear_login_guard(tenant: str, username: str) -> None:
    LoginGuardItem(keys.login_guard_pk(tenant, username), keys.LOGIN_GUARD_SK).delete()
