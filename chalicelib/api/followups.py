from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.followups import (
    FollowUp,
    FollowUpCreateRequest,
    FollowUpListQuery,
    Notification,
    Plan,
    PlanCreated,
    PlanCreateRequest,
    PlanPatchRequest,
    Today,
    TodayQuery,
)

bp = Blueprint(__name__)


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/follow-ups",
    summary="Record a contact (跟进) and what it changed",
    tags=["follow-ups"],
    body=FollowUpCreateRequest,
    response=FollowUp,
    status=201,
)
def create_follow_up(call: Call[FollowUpCreateRequest, None]) -> FollowUp:
    from chalicelib.domain import followups

    return followups.record(call.principal, call.params["lead_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/follow-ups",
    summary="Follow-up history (历史跟进记录), newest first",
    tags=["follow-ups"],
    query=FollowUpListQuery,
    response=Page[FollowUp],
    reads_customers=True,
)
def list_follow_ups(call: Call[None, FollowUpListQuery]) -> Page[FollowUp]:
    from chalicelib.domain import followups

    return followups.list_follow_ups(call.principal, call.query)


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/plans",
    summary="Plan a contact (工作计划); shows plans already there",
    tags=["follow-ups"],
    body=PlanCreateRequest,
    response=PlanCreated,
    status=201,
)
def create_plan(call: Call[PlanCreateRequest, None]) -> PlanCreated:
    from chalicelib.domain import followups

    return followups.create_plan(call.principal, call.params["lead_id"], call.body)


@endpoint(
    bp,
    "PATCH",
    "/leads/{lead_id}/plans/{plan_id}",
    summary="Move, hand over or cancel a plan",
    tags=["follow-ups"],
    body=PlanPatchRequest,
    response=Plan,
)
def patch_plan(call: Call[PlanPatchRequest, None]) -> Plan:
    from chalicelib.domain import followups

    return followups.patch_plan(call.principal, call.params["lead_id"], call.params["plan_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/dashboard/today",
    summary="Today's work (工作任务) in the school's time zone; ?date= shows another day's (plan tomorrow)",
    tags=["follow-ups"],
    query=TodayQuery,
    response=Today,
    reads_customers=True,
)
def get_today(call: Call[None, TodayQuery]) -> Today:
    from chalicelib.domain import followups

    today = followups.today(call.principal, day=call.query.date, consultant_id=call.query.consultant_id)
    buckets = (today.contacts_due, today.contacts_overdue, today.plans_due, today.visits, today.trials, today.events)
    call.records = sum(len(bucket.items) for bucket in buckets)
    return today


@endpoint(
    bp,
    "GET",
    "/notifications",
    summary="Your in-app notifications, newest first",
    tags=["follow-ups"],
    query=PageQuery,
    response=Page[Notification],
)
def list_notifications(call: Call[None, PageQuery]) -> Page[Notification]:
    from chalicelib.domain import followups

    return followups.notifications(call.principal, call.query.limit, call.query.cursor)
