"""Lead imports (批量导入客户): the record of each upload, its lease while a job works on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.db import due, keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import ImportItem
from chalicelib.db.paging import query_partitions


def _item(tenant: str, import_id: str) -> ImportItem:
    return ImportItem(keys.import_pk(tenant, import_id), keys.IMPORT_SK)


def create(tenant: str, data: dict[str, Any], *, queued: bool) -> None:
    item = ImportItem(keys.import_pk(tenant, data["id"]), keys.IMPORT_SK, **data)
    item.GSI1PK, item.GSI1SK = keys.imports_scope(tenant), keys.sort_key(data["created_at"], data["id"])
    if queued:
        item.DUEPK, item.DUESK = keys.import_due(item.PK)
    item.save(condition=ImportItem.PK.does_not_exist())


def get(tenant: str, import_id: str) -> dict[str, Any] | None:
    try:
        return values(ImportItem.get(keys.import_pk(tenant, import_id), keys.IMPORT_SK, consistent_read=True))
    except ImportItem.DoesNotExist:
        return None


def list_page(tenant: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    page = query_partitions(
        ImportItem,
        "GSI1",
        [keys.imports_scope(tenant)],
        scope=f"{tenant}:imports",
        limit=limit,
        cursor=cursor,
        ascending=False,
    )
    return [values(i) for i in page.items], page.cursor


def waiting() -> Iterator[tuple[str, str]]:
    """(tenant, import id) of every import waiting for the job, every tenant."""
    for tenant, item in due.items("IMPORT", "queued"):
        # the IMPORT bucket holds only imports (create() files them with keys.import_due)
        yield tenant, cast(ImportItem, item).id


def _conditional(tenant: str, import_id: str, actions: list[Action], condition: Condition) -> bool:
    """The update if its condition holds; False if it does not."""
    try:
        _item(tenant, import_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if transactions.condition_failed(exc):
            return False
        raise
    return True


def _held_by(owner: str) -> Condition:
    # an And; pynamodb leaves Condition.__and__ unannotated (Any), hence the annotated name
    held: Condition = (ImportItem.status == "running") & (ImportItem.lease_owner == owner)
    return held


def claim(tenant: str, import_id: str, now: str, lease_until: str, owner: str) -> bool:
    """Takes the import for one run (`owner`, a token of that run): it must be queued, or
    running with its lease passed (a run that died). Two overlapping runs cannot both take it."""
    actions: list[Action] = [
        ImportItem.status.set("running"),
        ImportItem.started_at.set(now),
        ImportItem.lease_until.set(lease_until),
        ImportItem.lease_owner.set(owner),
        ImportItem.attempts.add(1),
    ]
    condition = (ImportItem.status == "queued") | ((ImportItem.status == "running") & (ImportItem.lease_until < now))
    return _conditional(tenant, import_id, actions, condition)


def renew(tenant: str, import_id: str, owner: str, lease_until: str) -> bool:
    """The heartbeat: the lease pushed on, only while `owner` still holds it. False: another
    run took the import over (or finished it), and `owner` must write nothing more."""
    return _conditional(tenant, import_id, [ImportItem.lease_until.set(lease_until)], _held_by(owner))


def finish(
    tenant: str, import_id: str, *, owner: str, status: str, at: str, result: dict[str, Any] | None, error: str | None
) -> bool:
    """Done (or failed): the result kept, the import off the DUE index. Only by the run
    holding the lease (False if another run took it over: that run reports)."""
    actions: list[Action] = [
        ImportItem.status.set(status),
        ImportItem.finished_at.set(at),
        ImportItem.lease_until.remove(),
        ImportItem.lease_owner.remove(),
        ImportItem.DUEPK.remove(),
        ImportItem.DUESK.remove(),
    ]
    if result is not None:
        actions.append(ImportItem.result.set(result))
    if error is not None:
        actions.append(ImportItem.error.set(error))
    return _conditional(tenant, import_id, actions, _held_by(owner))
