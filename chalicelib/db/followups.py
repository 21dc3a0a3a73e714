"""Follow-ups and work plans: items in the lead's partition, listed through GSI1/GSI3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.db import cursor as cursors
from chalicelib.db import keys, transactions
from chalicelib.db.convert import values
from chalicelib.db.items import FollowUpItem, LeadItem, PlanGrantItem, PlanItem
from chalicelib.db.paging import Scope, first_page, query_partitions
from chalicelib.errors import ConflictError
from chalicelib.schemas.followups import FollowUp, Plan


def follow_up_item(tenant: str, follow_up: FollowUp) -> FollowUpItem:
    data = follow_up.model_dump(mode="json")
    at = data["followed_at"]
    item = FollowUpItem(keys.lead_pk(tenant, follow_up.lead_id), keys.follow_up_sk(at, follow_up.id), **data)
    item.GSI1PK, item.GSI1SK = keys.follow_ups_by(tenant, follow_up.by), keys.sort_key(at, follow_up.id)
    item.GSI3PK, item.GSI3SK = keys.follow_ups_in(tenant, follow_up.campus_id), keys.sort_key(at, follow_up.id)
    return item


def plan_item(tenant: str, plan: Plan) -> PlanItem:
    data = plan.model_dump(mode="json")
    item = PlanItem(keys.lead_pk(tenant, plan.lead_id), keys.plan_sk(plan.id), **data)
    if plan.status == "open":
        item.GSI1PK = keys.plans_of(tenant, plan.assignee_id)
        item.GSI1SK = keys.sort_key(data["planned_at"], plan.id)
    return item


def to_follow_up(item: FollowUpItem) -> FollowUp:
    data = values(item)
    changes = item.changes
    # MapAttribute.as_dict is unannotated in pynamodb
    data["changes"] = changes.as_dict() if hasattr(changes, "as_dict") else dict(changes or {})  # type: ignore[no-untyped-call]
    return FollowUp.model_validate(data)


def to_plan(item: PlanItem) -> Plan:
    return Plan.model_validate(values(item))


def get_plan(tenant: str, lead_id: str, plan_id: str) -> Plan | None:
    try:
        return to_plan(PlanItem.get(keys.lead_pk(tenant, lead_id), keys.plan_sk(plan_id), consistent_read=True))
    except PlanItem.DoesNotExist:
        return None


def grant_actions(tx: Any, tenant: str, lead_id: str, plan_id: str, *, to: str | None, away_from: str | None) -> None:
    """Moves one plan's access grant (GRANT#<user> in the lead's partition) from the user it
    was assigned to, to the user it is assigned to now (either may be None). Set ADD and
    DELETE commute: plans assigned and done at once never lose or leave a grant."""
    if to == away_from:
        return
    pk = keys.lead_pk(tenant, lead_id)
    for user_id, action in ((to, PlanGrantItem.plan_ids.add), (away_from, PlanGrantItem.plan_ids.delete)):
        if user_id:
            grant = PlanGrantItem(pk, keys.plan_grant_sk(user_id))
            actions = [action({plan_id}), PlanGrantItem.user_id.set(user_id), PlanGrantItem.kind.set(PlanGrantItem)]
            tx.update(grant, actions=actions, label="grant")


def granted_plans(tenant: str, lead_id: str, user_id: str) -> list[str]:
    """The open plans on the lead assigned to the user (one consistent GetItem)."""
    try:
        grant = PlanGrantItem.get(keys.lead_pk(tenant, lead_id), keys.plan_grant_sk(user_id), consistent_read=True)
    except PlanGrantItem.DoesNotExist:
        return []
    return sorted(grant.plan_ids or ())


def save_plan(
    tenant: str, plan: Plan, *, new: bool, before: Plan | None = None, also: Callable[[Any], None] | None = None
) -> None:
    """A new plan, or a change of one still open and assigned as `before` was; the assignee's
    access grant moves with it in the same transaction. A plan changed meanwhile raises
    ConflictError (PLAN_CLOSED, or EDIT_CONFLICT naming what changed). `also(tx)` adds more
    operations; one labelled "conflict:<CODE>:<message>" that fails is that ConflictError."""
    condition: Condition
    if new:
        condition = PlanItem.PK.does_not_exist()
        was_assigned = None
    else:
        if before is None:  # a change is always given the plan as read (before.assignee_id would fail)
            raise TypeError("save_plan: a change needs `before`")
        condition = (PlanItem.status == "open") & (PlanItem.assignee_id == before.assignee_id)
        was_assigned = before.assignee_id
    now_assigned = plan.assignee_id if plan.status == "open" else None
    try:
        with transactions.write() as tx:
            tx.save(plan_item(tenant, plan), condition=condition, label="plan")
            grant_actions(tx, tenant, plan.lead_id, plan.id, to=now_assigned, away_from=was_assigned)
            if also is not None:
                also(tx)
    except transactions.TransactionConflict as exc:
        for what in exc.failed:
            if what.startswith("conflict:"):
                _, code, message = what.split(":", 2)
                raise ConflictError(message, code=code) from exc
        raise _plan_changed(tenant, plan) from exc


def _plan_changed(tenant: str, plan: Plan) -> ConflictError:
    now = get_plan(tenant, plan.lead_id, plan.id)
    if now is None or now.status != "open":
        return ConflictError("The plan was closed meanwhile.", code="PLAN_CLOSED")
    return ConflictError(
        "The plan was handed to someone else meanwhile; look at it now and try again.",
        code="EDIT_CONFLICT",
        details=[{"field": "assignee_id", "message": "changed meanwhile", "current": now.assignee_id}],
    )


def plans_of_lead(tenant: str, lead_id: str) -> list[Plan]:
    return [to_plan(i) for i in PlanItem.query(keys.lead_pk(tenant, lead_id), PlanItem.SK.startswith(keys.PLAN_PREFIX))]


def list_follow_ups(
    tenant: str,
    *,
    lead_id: str | None,
    where: Scope,
    limit: int,
    cursor: str | None,
    scope: str,
    range_from: str | None,
    range_to: str | None,
    method: str | None,
) -> tuple[list[FollowUp], str | None]:
    """Newest first: one lead's partition, or the merged consultant/campus partitions."""
    condition = FollowUpItem.method == method if method else None
    low, high = range_from or "0", (range_to or keys.NO_DATE) + "~"
    if lead_id:
        result = FollowUpItem.query(
            keys.lead_pk(tenant, lead_id),
            FollowUpItem.SK.between(keys.FOLLOW_UP_PREFIX + low, keys.FOLLOW_UP_PREFIX + high),
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=cursors.decode(cursor, scope),
        )
        items, last_key = first_page(result, FollowUpItem)
        return [to_follow_up(i) for i in items], cursors.encode(last_key, scope)
    by_campus = where.by_campus
    partitions = where.partitions(lambda u: keys.follow_ups_by(tenant, u), lambda c: keys.follow_ups_in(tenant, c))
    index = "GSI3" if by_campus else "GSI1"
    sort_attr = getattr(FollowUpItem, f"{index}SK")
    page = query_partitions(
        FollowUpItem,
        index,
        partitions,
        scope=scope,
        limit=limit,
        cursor=cursor,
        ascending=False,
        range_condition=sort_attr.between(low, high),
        filter_condition=condition,
    )
    return [to_follow_up(i) for i in page.items], page.cursor


def due_leads(tenant: str, where: Scope, *, until_iso: str, limit: int) -> tuple[list[Any], bool]:
    """Leads whose next follow-up is at or before `until_iso`, soonest first (GSI2/GSI4)."""
    by_campus = where.by_campus
    partitions = where.partitions(lambda u: keys.owner_scope(tenant, u, ""), lambda c: keys.campus_scope(tenant, c))
    index = "GSI4" if by_campus else "GSI2"
    found, more = [], False
    for part in partitions:
        result = getattr(LeadItem, index.lower()).query(
            part, getattr(LeadItem, f"{index}SK").between("0", until_iso + "~"), limit=limit
        )
        items, last_key = first_page(result, LeadItem)
        found += items
        more = more or last_key is not None
    return found, more


def plans_due(tenant: str, users: list[str], *, until_iso: str, limit: int) -> tuple[list[Plan], bool]:
    found, more = [], False
    for part in (keys.plans_of(tenant, u) for u in users):
        result = PlanItem.gsi1.query(part, PlanItem.GSI1SK.between("0", until_iso + "~"), limit=limit)
        items, last_key = first_page(result, PlanItem)
        found += [to_plan(i) for i in items]
        more = more or last_key is not None
    return found, more


def add_to_lead_write(tx: Any, tenant: str, follow_up: FollowUp, done_plan: Plan | None) -> None:
    """Inside the lead's transaction: the follow-up, and the plan it fulfils (still open and
    assigned as read), whose assignee's access grant ends with it."""
    tx.save(follow_up_item(tenant, follow_up), condition=FollowUpItem.PK.does_not_exist(), label="follow-up")
    if done_plan is not None:
        tx.save(
            plan_item(tenant, done_plan),
            condition=(PlanItem.status == "open") & (PlanItem.assignee_id == done_plan.assignee_id),
            label="conflict:PLAN_CLOSED:The plan was closed or handed over meanwhile.",
        )
        grant_actions(tx, tenant, done_plan.lead_id, done_plan.id, to=None, away_from=done_plan.assignee_id)
