"""Audit entries: by day, by user (GSI1), by lead (GSI2); each expires after the retention."""

from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.db import keys
from chalicelib.db.convert import values
from chalicelib.db.items import AuditItem
from chalicelib.db.paging import query_partitions


def put(tenant: str, data: dict[str, Any], expires_at: int) -> None:
    sort = keys.sort_key(data["at"], data["id"])
    at = keys.stamp(data["at"])
    if at is None:  # every entry has its time (None[:10] was a TypeError too)
        raise TypeError("an audit entry without `at`")
    item = AuditItem(keys.audit_pk(tenant, at[:10]), sort, **data)
    if data.get("user_id"):
        item.GSI1PK, item.GSI1SK = keys.audit_by(tenant, data["user_id"]), sort
    if data.get("lead_id"):
        item.GSI2PK, item.GSI2SK = keys.audit_of_lead(tenant, data["lead_id"]), sort
    item.expires_at = expires_at
    item.save()


def page(
    tenant: str,
    *,
    user: str | None,
    lead: str | None,
    days: list[str],
    lo: str,
    hi: str,
    limit: int,
    cursor: str | None,
    scope: str,
    campuses: list[str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first: one partition for a user or a lead (the other as a filter), else one
    day partition per day of the range, merged. `campuses` (None: all) keeps the entries of
    users of those campuses, as a filter (it trims a page, never reads more)."""
    between = (lo, hi + "~")
    in_campus = _of_campuses(campuses)
    if user:
        index, parts = "GSI1", [keys.audit_by(tenant, user)]
        condition, extra = AuditItem.GSI1SK.between(*between), (AuditItem.lead_id == lead) if lead else None
    elif lead:
        index, parts = "GSI2", [keys.audit_of_lead(tenant, lead)]
        condition, extra = AuditItem.GSI2SK.between(*between), None
    else:
        found = query_partitions(
            AuditItem,
            "",
            [keys.audit_pk(tenant, d) for d in days],
            scope=scope,
            limit=limit,
            cursor=cursor,
            ascending=False,
            range_condition=AuditItem.SK.between(*between),
            filter_condition=in_campus,
        )
        return [values(i) for i in found.items], found.cursor
    found = query_partitions(
        AuditItem,
        index,
        parts,
        scope=scope,
        limit=limit,
        cursor=cursor,
        ascending=False,
        range_condition=condition,
        filter_condition=_both(extra, in_campus),
    )
    return [values(i) for i in found.items], found.cursor


def _both(a: Condition | None, b: Condition | None) -> Condition | None:
    return b if a is None else a if b is None else a & b


def _of_campuses(campuses: list[str] | None) -> Condition | None:
    if campuses is None:
        return None
    if not campuses:
        return AuditItem.id.does_not_exist()  # no campus: nothing (ids always exist)
    condition = AuditItem.campus_ids.contains(campuses[0])
    for campus in campuses[1:]:
        condition = condition | AuditItem.campus_ids.contains(campus)
    return condition
