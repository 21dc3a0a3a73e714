"""Doing a plan handed to you (issue 14, item 2).

A work plan (工作计划) may go to a teammate who cannot otherwise see the lead (a consultant
sees only their own leads and the pool). Whoever is assigned an open plan may, for it, read
the lead (its card, history and follow-ups), see its phone numbers to make the call, and
record the follow-up that completes it. The access is a grant item in the lead's partition
(GRANT#<user>, the set of open plans on the lead assigned to them), moved in the same
transaction as the plan: created with it, moved when it is handed over, ended when it is
done or cancelled. Checking it is one GetItem. Each use is an audit entry of its own
(action `plan_access`, naming the plans), besides the request's entry, which still counts
as a customer-data read.

Appointments have no assignee (an appointment's `owner_id` is the lead's owner when it was
booked, who sees the lead anyway), so there is nothing to grant for them.
"""

from __future__ import annotations

from typing import cast

from chalicelib.db import followups as followups_db
from chalicelib.db import leads as leads_db
from chalicelib.domain import audit_log
from chalicelib.domain.auth import Principal
from chalicelib.domain.leads import visibility as leads  # the visibility rules only: leads.reading imports this module
from chalicelib.schemas.leads import Lead


def plans_granting(principal: Principal, lead: Lead) -> list[str]:
    """The open plans on `lead` assigned to the caller ([]: none, or a lead in the bin)."""
    if lead.deleted_at is not None or principal.role not in leads.OWNERS:
        return []
    return followups_db.granted_plans(principal.tenant, lead.id, principal.user_id)


def check(principal: Principal, lead: Lead | None, why: str) -> list[str]:
    """[] when the caller sees `lead` by the ordinary rule (leads.can_see); else the plans
    through which they may work on it, the use audited; 404 LEAD_NOT_FOUND when neither."""
    if lead is not None and leads.can_see(principal, lead):
        return []
    plans = plans_granting(principal, lead) if lead is not None else []
    if not plans or lead is None:  # no lead, no plans: the second test only tells mypy
        raise leads._not_found()
    audit_use(principal, lead.id, plans, why)
    return plans


def audit_use(principal: Principal, lead_id: str, plans: list[str], why: str) -> None:
    audit_log.record(
        principal.tenant,
        action="plan_access",
        principal=principal,
        route=why,
        params={"lead_id": lead_id, "plan_ids": ",".join(plans)},
        details=f"{why}: through the plan(s) {', '.join(plans)} assigned to {principal.username}",
    )


def lead_for_plan_work(principal: Principal, lead_id: str, why: str) -> Lead:
    """The lead, for a caller who sees it or holds one of its open plans (audited)."""
    lead = leads_db.get(principal.tenant, lead_id)
    check(principal, lead, why)
    return cast(Lead, lead)  # check answered 404 LEAD_NOT_FOUND when it is None
