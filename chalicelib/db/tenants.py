"""Tenants, their campuses, and the platform's tenant directory."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, paging, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import CampusItem, TenantItem
from chalicelib.db.recent import Recent
from chalicelib.schemas.campuses import Campus
from chalicelib.schemas.tenants import Tenant


def tenant_item(tenant: Tenant) -> TenantItem:
    data = tenant.model_dump(mode="json")
    return TenantItem(
        keys.tenant_pk(tenant.slug),
        keys.TENANT_SK,
        GSI1PK=keys.TENANT_DIRECTORY,
        GSI1SK=tenant.slug,
        **data,
    )


def get(slug: str, *, consistent: bool = False) -> Tenant | None:
    try:
        item = TenantItem.get(keys.tenant_pk(slug), keys.TENANT_SK, consistent_read=consistent)
    except TenantItem.DoesNotExist:
        return None
    return Tenant.model_validate(values(item))


RECENT_TENANTS = 1024  # tenant items this container keeps at most (see db/recent.py)
_recent: Recent[str, Tenant] = Recent(RECENT_TENANTS)


def recent(slug: str, *, now: float, within: float) -> Tenant | None:
    """The tenant as this container read it less than `within` seconds before `now`, else read
    now and kept (a school that does not exist is not kept)."""
    return _recent.get_or_read(slug, now, within, lambda strong: get(slug, consistent=strong))[0]


def forget(slug: str) -> None:
    """For a write of the tenant item (none changes it after its creation today)."""
    _recent.forget(slug)


def list_all(limit: int, cursor: str | None) -> tuple[list[Tenant], str | None]:
    """The platform directory (console only): GSI1 partition PLATFORM#TENANTS."""
    scope = "platform:tenants"
    result = TenantItem.gsi1.query(keys.TENANT_DIRECTORY, limit=limit, last_evaluated_key=cursors.decode(cursor, scope))
    return paging.single(result, scope, Tenant)


def create_campus(tenant: str, campus: Campus) -> None:
    CampusItem(keys.tenant_pk(tenant), keys.campus_sk(campus.id), **campus.model_dump(mode="json")).save(
        condition=CampusItem.PK.does_not_exist()
    )


def list_campuses(tenant: str, limit: int, cursor: str | None) -> tuple[list[Campus], str | None]:
    scope = f"{tenant}:campuses"
    result = CampusItem.query(
        keys.tenant_pk(tenant),
        CampusItem.SK.startswith(keys.CAMPUS_PREFIX),
        limit=limit,
        last_evaluated_key=cursors.decode(cursor, scope),
    )
    return paging.single(result, scope, Campus)


def campuses_by_id(tenant: str, campus_ids: list[str]) -> dict[str, Campus]:
    if not campus_ids:
        return {}
    wanted = [(keys.tenant_pk(tenant), keys.campus_sk(c)) for c in dict.fromkeys(campus_ids)]
    return {item.id: Campus.model_validate(values(item)) for item in CampusItem.batch_get(wanted)}


def existing_campus_ids(tenant: str, campus_ids: list[str]) -> set[str]:
    return set(campuses_by_id(tenant, campus_ids))


def get_campus(tenant: str, campus_id: str) -> Campus | None:
    try:
        item = CampusItem.get(keys.tenant_pk(tenant), keys.campus_sk(campus_id))
    except CampusItem.DoesNotExist:
        return None
    return Campus.model_validate(values(item))


CAMPUS_FIELDS = ("name", "address", "phone", "duty_consultant_id")


def update_campus(tenant: str, campus_id: str, changes: dict[str, str | None]) -> Campus | None:
    """Sets a campus's fields (name, address, phone, duty consultant; None clears one but the
    name); None if there is no such campus."""
    if not changes:
        return get_campus(tenant, campus_id)
    item = CampusItem(keys.tenant_pk(tenant), keys.campus_sk(campus_id))
    actions = []
    for field in CAMPUS_FIELDS:
        if field in changes:
            attribute = getattr(CampusItem, field)
            value = changes[field]
            actions.append(attribute.set(value) if value else attribute.remove())
    try:
        item.update(actions=actions, condition=CampusItem.PK.exists())
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return None
        raise
    return Campus.model_validate(values(item))
