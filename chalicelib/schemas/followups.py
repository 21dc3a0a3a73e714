from __future__ import annotations

from datetime import date as Day
from datetime import datetime
from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Entity, StrictModel


class FollowUpCreateRequest(StrictModel):
    method: str = Field(max_length=50, examples=["phone"], description="A key of the follow_up_methods dictionary")
    content: str = Field(min_length=1, max_length=4000, examples=["妈妈说周六上午可以来参观"])
    followed_at: datetime | None = Field(
        default=None, description="Default now; may be earlier (back-fill), never in the future. No offset: school time"
    )
    next_follow_up_at: datetime | None = Field(default=None, description="Never before now")
    status: str | None = Field(default=None, max_length=50)
    importance: str | None = Field(default=None, max_length=50)
    stage: str | None = Field(default=None, max_length=50)
    plan_id: str | None = Field(default=None, max_length=40, description="The work plan this contact fulfils")


class FollowUp(Entity):
    id: str
    lead_id: str
    lead_name: str
    campus_id: str
    method: str
    content: str
    followed_at: datetime
    next_follow_up_at: datetime | None = None
    by: str
    by_name: str
    changes: dict[str, str] = Field(default_factory=dict, description="status/importance/stage set with it")
    plan_id: str | None = None
    created_at: datetime


class FollowUpListQuery(StrictModel):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=4096)
    lead: str | None = Field(default=None, max_length=40)
    consultant: str | None = Field(default=None, max_length=40)
    method: str | None = Field(default=None, max_length=50)
    campus: str | None = Field(default=None, max_length=40)
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None


class PlanCreateRequest(StrictModel):
    planned_at: datetime = Field(description="When to contact; never before now")
    purpose: str = Field(min_length=1, max_length=500, examples=["邀约周六试听"])
    assignee_id: str | None = Field(default=None, max_length=40, description="Default: yourself")


class PlanPatchRequest(StrictModel):
    planned_at: datetime | None = None
    purpose: str | None = Field(default=None, min_length=1, max_length=500)
    assignee_id: str | None = Field(default=None, max_length=40, description="Hand the plan to a teammate")
    status: Literal["cancelled"] | None = None


class Plan(Entity):
    id: str
    lead_id: str
    lead_name: str
    planned_at: datetime
    purpose: str
    assignee_id: str
    assignee_name: str
    created_by: str
    created_at: datetime
    status: Literal["open", "done", "cancelled"] = "open"
    done_at: datetime | None = None
    follow_up_id: str | None = None


class PlanCreated(Entity):
    plan: Plan
    other_plans: list[Plan] = Field(
        description="Open plans already on this lead, so two consultants do not call about the same thing"
    )


class DueLead(Entity):
    id: str
    name: str
    owner_id: str | None
    owner_name: str | None
    status: str
    next_follow_up_at: datetime
    overdue: bool


class TodayBucket(Entity):
    count: int
    more: bool = Field(default=False, description="True when the list was cut at its limit")
    items: list = Field(default_factory=list)


class Today(Entity):
    date: str = Field(description="The day shown (default today) in the school's time zone")
    timezone: str
    contacts_due: TodayBucket
    contacts_overdue: TodayBucket
    plans_due: TodayBucket
    visits: TodayBucket = Field(description="今日参观")
    trials: TodayBucket = Field(description="今日试听")
    events: TodayBucket = Field(description="今日活动")


class TodayQuery(StrictModel):
    date: Day | None = Field(
        default=None,
        description="The day to show, in the school's time zone (default today); within a year of today",
        examples=["2026-12-02"],
    )
    consultant_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Supervisors, managers and admins: one consultant's work (of their team or campuses)",
    )


class Notification(Entity):
    id: str
    message: str
    lead_id: str | None = None
    created_at: datetime
    read: bool = False
