"""Staff users, their login-name uniqueness items and the sign-in guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, paging, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import LoginGuardItem, TenantItem, UniqueItem, UserItem
from chalicelib.db.recent import Recent
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


def get(tenant: str, user_id: str, *, consistent: bool = False) -> UserRecord | None:
    try:
        return _record(UserItem.get(keys.users_pk(tenant), keys.user_sk(user_id), consistent_read=consistent))
    except UserItem.DoesNotExist:
        return None


# --- the users this container read lately (the identity of each request) -------------------

RECENT_USERS = 4096  # entries kept at most (a few hundred bytes each), the least recently used go
_recent: Recent[tuple[str, str], UserRecord] = Recent(RECENT_USERS)


def recent(tenant: str, user_id: str, *, now: float, within: float) -> tuple[UserRecord | None, bool]:
    """(the user, True) as this container read it less than `within` seconds before `now`;
    else (the user read now, False), kept for the next requests. Every write below forgets
    the user, so this container's own changes are seen at once."""
    return _recent.get_or_read((tenant, user_id), now, within, lambda strong: get(tenant, user_id, consistent=strong))


def recent_mark(tenant: str, user_id: str) -> tuple[int, bool]:
    """Taken before reading a user by other means, to `remember` what was read."""
    return _recent.mark((tenant, user_id))


def remember(tenant: str, record: UserRecord, now: float, mark: tuple[int, bool]) -> None:
    """Keeps a user read (eventually consistently) elsewhere, e.g. with the access counters."""
    since, _ = mark
    _recent.put((tenant, record.id), record, now, since, consistent=False)


def forget(tenant: str, user_id: str) -> None:
    """This container changed the user (or was told it changed): the next request reads it."""
    _recent.forget((tenant, user_id))


def forget_all() -> None:
    _recent.clear()


def from_raw(raw: dict[str, Any]) -> UserRecord:
    """A user item as the low-level client returns it (a BatchGetItem answer)."""
    return _record(UserItem.from_raw_data(raw))


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


def batch_get(tenant: str, user_ids: list[str]) -> list[UserRecord]:
    """Members of staff by id, in batches of 100 (BatchGetItem); missing ids are left out."""
    wanted = [(keys.users_pk(tenant), keys.user_sk(u)) for u in dict.fromkeys(user_ids)]
    return [_record(item) for item in UserItem.batch_get(wanted)] if wanted else []


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
    actions: list[Action] = [
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
    finally:
        forget(tenant, user_id)
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
    finally:
        forget(tenant, user_id)
    return True


def frozen(tenant: str) -> list[UserRecord]:
    from chalicelib.db import hydrate  # the index holds keys only: the users come from the table

    return [_record(item) for item in hydrate.full(list(UserItem.gsi2.query(keys.frozen_users(tenant))), "GSI2")]


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
    finally:
        forget(tenant, user_id)
    return _record(item)


# --- sign-in guard -----------------------------------------------------------------


@dataclass(frozen=True)
class LoginGuards:
    """What the sign-in throttle knows of one login name as typed from one address."""

    address_failures: int = 0
    address_locked_until: int | None = None
    name_wait_until: int | None = None  # unknown addresses wait until then (progressive delay)
    known_until: int | None = None  # this name signed in from this address lately: known until then

    @property
    def address_known(self) -> bool:
        return self.known_until is not None


def login_guards(tenant: str, username: str, address: str, now: int) -> LoginGuards:
    """The three guard items in one BatchGetItem; an expired one counts as none (TTL deletes
    lazily)."""
    pk = keys.login_guard_pk(tenant, username)
    wanted = [(pk, keys.login_address_sk(address)), (pk, keys.LOGIN_GUARD_SK), (pk, keys.login_known_sk(address))]
    found = {
        item.SK: item
        for item in LoginGuardItem.batch_get(wanted)
        if item.expires_at is None or int(item.expires_at) > now
    }
    by_address, by_name, known = (found.get(sk) for _, sk in wanted)

    def until(item: LoginGuardItem | None) -> int | None:
        return int(item.locked_until) if item is not None and item.locked_until else None

    return LoginGuards(
        address_failures=int(by_address.failures or 0) if by_address else 0,
        address_locked_until=until(by_address),
        name_wait_until=until(by_name),
        known_until=int(known.expires_at) if known is not None and known.expires_at is not None else None,
    )


def _guard_sk(address: str | None) -> str:
    return keys.LOGIN_GUARD_SK if address is None else keys.login_address_sk(address)


def record_login_failure(tenant: str, username: str, *, now: int, window: int, address: str | None) -> int:
    """Counts one failure atomically on the guard of one address (None: of the name from all
    addresses); a guard whose window has passed starts again at 1."""
    sk = _guard_sk(address)
    item = LoginGuardItem(keys.login_guard_pk(tenant, username), sk)
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
        item = LoginGuardItem(keys.login_guard_pk(tenant, username), sk, failures=1, expires_at=now + window)
        item.save()
    return int(item.failures)


def lock_login(
    tenant: str, username: str, until: int, *, address: str | None, keep_at_least: int | None = None
) -> None:
    """Refuses sign-ins on this guard until `until`; the guard lives at least that long."""
    item = LoginGuardItem(keys.login_guard_pk(tenant, username), _guard_sk(address))
    item.update(
        actions=[LoginGuardItem.locked_until.set(until), LoginGuardItem.expires_at.set(max(until, keep_at_least or 0))]
    )


def clear_login_guard(tenant: str, username: str, *, address: str | None) -> None:
    LoginGuardItem(keys.login_guard_pk(tenant, username), _guard_sk(address)).delete()


def remember_address(tenant: str, username: str, address: str, until: int) -> None:
    """This login name signed in from this address: later attacks from elsewhere do not slow it."""
    LoginGuardItem(keys.login_guard_pk(tenant, username), keys.login_known_sk(address), expires_at=until).save()
