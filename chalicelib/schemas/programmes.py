"""Programmes (课程: courses, workshops, seminars), their cohorts (班级) and enrolments (报名).

Money is a decimal string with at most two places, as for contracts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.schemas.cards import Money
from chalicelib.schemas.common import DecimalString, Entity, PageQuery, StrictModel
from chalicelib.schemas.receivables import Payer, PayerShown

TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
KIND = Literal["course", "workshop", "seminar"]
RECURRENCE = Literal["one_off", "recurring"]
COHORT_STATUS = Literal["open", "closed", "cancelled"]
ENROLMENT_STATUS = Literal["pending", "confirmed", "declined"]
ID = Field(min_length=1, max_length=64)


# --- programmes ----------------------------------------------------------------------


class ProgrammeRequest(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["少儿编程启蒙"])
    kind: KIND = "course"
    recurrence: RECURRENCE = "recurring"
    description: str | None = Field(default=None, max_length=2000)


class ProgrammePatch(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: KIND | None = None
    recurrence: RECURRENCE | None = None
    description: str | None = Field(default=None, max_length=2000)
    active: bool | None = Field(default=None, description="Inactive: no new cohorts")


class Programme(Entity):
    id: str
    name: str
    kind: KIND
    recurrence: RECURRENCE
    description: str | None = None
    active: bool = True
    created_at: datetime
    updated_at: datetime


# --- cohorts -------------------------------------------------------------------------


class InstalmentOption(StrictModel):
    name: str = Field(min_length=1, max_length=30, examples=["分3期"])
    count: int = Field(ge=1, le=36, description="How many payments")


def _unique_names(options: list[InstalmentOption] | None) -> list[InstalmentOption] | None:
    if options is not None and len({o.name for o in options}) != len(options):
        raise ValueError("instalment option names must be unique")
    return options


class CohortRequest(StrictModel):
    campus_id: str = ID
    name: str = Field(min_length=1, max_length=100, examples=["2026 春季周六班"])
    starts_on: date
    ends_on: date | None = None
    starts_at: str = Field(default="09:00", pattern=TIME, description="The first session's time (school time)")
    schedule: str | None = Field(default=None, max_length=200, examples=["每周六 10:00-11:30"])
    teacher_id: str | None = Field(default=None, max_length=64, description="An active teacher-role user")
    price: Money
    instalment_options: list[InstalmentOption] = Field(
        default_factory=lambda: [InstalmentOption(name="一次性", count=1)], min_length=1, max_length=12
    )
    seats: int = Field(ge=1, le=1000)

    _names = field_validator("instalment_options")(_unique_names)

    @field_validator("ends_on")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        starts_on = info.data.get("starts_on")
        if value is not None and starts_on is not None and value < starts_on:
            raise ValueError("is before starts_on")
        return value


class CohortPatch(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    starts_on: date | None = None
    ends_on: date | None = None
    starts_at: str | None = Field(default=None, pattern=TIME)
    schedule: str | None = Field(default=None, max_length=200)
    teacher_id: str | None = Field(default=None, max_length=64)
    price: Money | None = None
    instalment_options: list[InstalmentOption] | None = Field(default=None, min_length=1, max_length=12)
    seats: int | None = Field(default=None, ge=1, le=1000, description="Never below the confirmed enrolments")
    status: COHORT_STATUS | None = Field(default=None, description="cancelled is final")

    _names = field_validator("instalment_options")(_unique_names)


class PublicCohort(Entity):
    """What anyone may know of a cohort (the website lists these): no learners, no user ids."""

    id: str
    programme_id: str
    programme_name: str
    programme_kind: KIND
    name: str
    campus_id: str
    campus_name: str
    starts_on: date
    ends_on: date | None = None
    starts_at: str
    schedule: str | None = None
    teacher_name: str | None = None
    price: DecimalString
    instalment_options: list[InstalmentOption]
    status: COHORT_STATUS
    seats_left: int


class Cohort(PublicCohort):
    teacher_id: str | None = None
    seats: int
    confirmed: int
    pending: int
    declined: int
    created_at: datetime
    updated_at: datetime


class CohortListQuery(PageQuery):
    programme_id: str | None = Field(default=None, max_length=64)
    status: COHORT_STATUS | None = None
    from_: date | None = Field(
        default=None, alias="from", description="Cohorts starting on or after this day; default today (school time)"
    )


class OpenCohortQuery(PageQuery):
    programme_id: str | None = Field(default=None, max_length=64)


# --- enrolments ----------------------------------------------------------------------


class EnrolmentRequest(StrictModel):
    lead_id: str = ID
    agreed_price: Money | None = Field(default=None, description="Defaults to the cohort's price")
    instalments: str | None = Field(default=None, max_length=30, description="One of the cohort's option names")
    notify_before_minutes: int | None = Field(
        default=None, ge=5, le=60 * 24 * 14, description="Once confirmed: an SMS to the guardian this long before start"
    )
    note: str | None = Field(default=None, max_length=500)
    payer: Payer | None = Field(default=None, description="代报名: who pays, when not a guardian of the learner")


class Enrolment(Entity):
    id: str
    cohort_id: str
    programme_id: str
    lead_id: str
    lead_name: str
    status: ENROLMENT_STATUS
    agreed_price: DecimalString
    instalments: str
    instalment_count: int
    notify_before_minutes: int | None = None
    reminder_at: datetime | None = Field(default=None, description="When the reminder SMS is due (UTC)")
    reminder_message_id: str | None = Field(default=None, description="GET /messages/{id}")
    note: str | None = None
    created_by: str
    created_by_name: str
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    paid: DecimalString = Field(default=Decimal(0), description="Paid towards agreed_price")
    balance_due: DecimalString = Field(default=Decimal(0), description="agreed_price − paid")
    payer: PayerShown | None = Field(default=None, description="代报名: who pays (payment reminders go to them)")
