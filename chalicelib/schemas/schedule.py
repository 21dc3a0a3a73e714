from __future__ import annotations

from datetime import date as Day
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from chalicelib.schemas.cards import Credits
from chalicelib.schemas.common import DecimalString, Entity, StrictModel, decimal_string

TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
FeeCredits = Annotated[Decimal, *decimal_string(r"^\d{1,4}(\.\d{1,2})?$", "1"), Field(ge=0, le=1000, decimal_places=2)]
FeeAmount = Annotated[
    Decimal, *decimal_string(r"^\d{1,7}(\.\d{1,2})?$", "80.00"), Field(ge=0, le=1000000, decimal_places=2)
]


class CourseCreateRequest(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["亲子早教 A"])
    lesson_cost: Credits = Field(le=100, description="Lesson credits one lesson costs")
    age_min_months: int | None = Field(default=None, ge=0, le=1200)
    age_max_months: int | None = Field(default=None, ge=0, le=1200)


class Course(Entity):
    id: str
    name: str
    lesson_cost: DecimalString
    age_min_months: int | None = None
    age_max_months: int | None = None
    created_at: datetime


class Slot(StrictModel):
    weekday: int = Field(ge=1, le=7, description="1 = Monday ... 7 = Sunday")
    start: str = Field(pattern=TIME, examples=["10:00"])
    end: str = Field(pattern=TIME, examples=["11:00"])

    @model_validator(mode="after")
    def _order(self) -> Slot:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ClassCreateRequest(StrictModel):
    course_id: str = Field(max_length=40)
    campus_id: str = Field(max_length=40)
    teacher: str = Field(min_length=1, max_length=50)
    teacher_id: str | None = Field(
        default=None, max_length=40, description="The teacher's account (role teacher): the sessions are theirs"
    )
    cohort_id: str | None = Field(
        default=None, max_length=40, description="The cohort (班级) whose confirmed enrolments the class teaches"
    )
    room: str | None = Field(default=None, max_length=50)
    capacity: int = Field(ge=1, le=500)
    slots: list[Slot] = Field(min_length=1, max_length=14)
    start_date: Day
    end_date: Day

    @model_validator(mode="after")
    def _dates(self) -> ClassCreateRequest:
        if self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class ClassOut(Entity):
    id: str
    course_id: str
    course_name: str
    campus_id: str
    teacher: str
    teacher_id: str | None = None
    cohort_id: str | None = None
    room: str | None = None
    capacity: int
    slots: list[Slot]
    start_date: Day
    end_date: Day
    created_at: datetime


class SessionGenerateRequest(StrictModel):
    from_: Day = Field(alias="from")
    to: Day

    @model_validator(mode="after")
    def _range(self) -> SessionGenerateRequest:
        if (self.to - self.from_).days > 366:  # a backwards range is StrictModel's refusal
            raise ValueError("generate at most a year at a time")
        return self


class SessionOut(Entity):
    id: str
    class_id: str
    course_id: str
    course_name: str
    campus_id: str
    teacher: str
    teacher_id: str | None = Field(default=None, description="The teacher's account; the session is on their list")
    cohort_id: str | None = Field(default=None, description="Its enrolled learners: this cohort's confirmed ones")
    room: str | None = None
    date: Day
    start: str
    end: str
    starts_at: datetime
    capacity: int
    regular: int = Field(description="Enrolled students")
    trials: int = Field(description="Trial bookings")
    seats_left: int
    waitlist: int = 0
    cancelled: bool = False


class SessionPatchRequest(StrictModel):
    capacity: int | None = Field(default=None, ge=1, le=500)
    teacher: str | None = Field(default=None, min_length=1, max_length=50)
    teacher_id: str | None = Field(
        default=None, max_length=40, description="A substitute: another active teacher's account (and their name)"
    )
    room: str | None = Field(default=None, max_length=50)
    cancelled: Literal[True] | None = Field(default=None, description="Cancel the session (it cannot be undone)")


class SessionListQuery(StrictModel):
    date: Day
    campus: str | None = Field(default=None, max_length=40)


class MySessionsQuery(StrictModel):
    date: Day | None = Field(default=None, description="The school's day; default today")


class RosterCard(Entity):
    id: str
    number: str
    status: str
    credits: DecimalString = Field(description="Credits usable today (a shared sub-card: its primary's)")


class ClassRecordRequest(StrictModel):
    notes: str | None = Field(default=None, max_length=2000, examples=["注意力集中, 能完整唱完儿歌"])
    homework: str | None = Field(default=None, max_length=1000, examples=["每天练习 10 分钟"])
    rating: int | None = Field(default=None, ge=1, le=5, description="1 to 5")

    @model_validator(mode="after")
    def _something(self) -> ClassRecordRequest:
        if self.notes is None and self.homework is None and self.rating is None:
            raise ValueError("send notes, homework or a rating")
        return self


class ClassRecord(Entity):
    session_id: str
    lead_id: str
    notes: str | None = None
    homework: str | None = None
    rating: int | None = None
    by: str
    by_name: str | None = None
    at: datetime = Field(description="When it was last written")


class RosterEntry(Entity):
    lead_id: str
    name: str
    kind: Literal["trial", "member"] = Field(description="trial: a trial booking; member: enrolled or checked in")
    status: Literal["booked", "checked_in", "arrived", "no_show", "enrolled"] = Field(
        description="booked (a trial, not marked yet), arrived / no_show (a trial, marked), "
        "enrolled (a member not checked in yet), checked_in (a member, the lesson's credits taken)"
    )
    appointment_id: str | None = Field(default=None, description="A trial's appointment: PATCH it to mark attendance")
    cards: list[RosterCard] = Field(default_factory=list, description="The learner's live cards; no phone numbers")
    record: ClassRecord | None = None


class Roster(Entity):
    session: SessionOut
    items: list[RosterEntry]


class GeneratedSessions(Entity):
    created: int
    existing: int
    sessions: list[SessionOut]


class EventCreateRequest(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["圣诞亲子派对"])
    starts_at: datetime
    capacity: int = Field(ge=1, le=5000)
    campus_id: str | None = Field(default=None, max_length=40)
    location: str | None = Field(default=None, max_length=200)
    fee_credits: FeeCredits | None = None
    fee_amount: FeeAmount | None = None


class EventOut(Entity):
    id: str
    name: str
    starts_at: datetime
    capacity: int
    booked: int
    seats_left: int
    waitlist: int = 0
    campus_id: str | None = None
    location: str | None = None
    fee_credits: DecimalString | None = None
    fee_amount: DecimalString | None = None
    cancelled: bool = False
    created_at: datetime


class EventListQuery(StrictModel):
    date: Day | None = Field(default=None, description="Events on this day (school time); default today")


class AppointmentCreateRequest(StrictModel):
    kind: Literal["visit", "trial", "event"]
    at: datetime | None = Field(default=None, description="visit: when (no offset: school time)")
    session_id: str | None = Field(default=None, max_length=80, description="trial: the class session")
    event_id: str | None = Field(default=None, max_length=40, description="event: the event")
    waitlist: bool = Field(default=False, description="Join the waitlist if it is full")
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _target(self) -> AppointmentCreateRequest:
        needed = {"visit": "at", "trial": "session_id", "event": "event_id"}[self.kind]
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.kind} needs {needed}")
        return self


class Appointment(Entity):
    id: str
    lead_id: str
    lead_name: str
    kind: Literal["visit", "trial", "event"]
    at: datetime
    session_id: str | None = None
    event_id: str | None = None
    course_id: str | None = None
    title: str | None = Field(default=None, description="course or event name")
    campus_id: str
    owner_id: str | None = None
    status: Literal["booked", "waitlisted", "cancelled"]
    attendance: Literal["arrived", "no_show"] | None = None
    arrived_at: datetime | None = None
    note: str | None = None
    booked_by: str
    created_at: datetime
    cancelled_at: datetime | None = None


class AppointmentPatchRequest(StrictModel):
    attendance: Literal["arrived", "no_show"]
    arrived_at: datetime | None = None


class AppointmentListQuery(StrictModel):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=4096)
    date: Day | None = None
    kind: Literal["visit", "trial", "event"] | None = None
    status: Literal["booked", "waitlisted", "cancelled"] | None = None
    attendance: Literal["arrived", "no_show"] | None = None


class WalkInRequest(StrictModel):
    content: str = Field(min_length=1, max_length=4000, examples=["路过进来咨询, 参观了教室"])
    trial_session_id: str | None = Field(default=None, max_length=80, description="Also sat in a trial class now")
    next_follow_up_at: datetime | None = None


class WalkInResult(Entity):
    follow_up_id: str
    visit: Appointment
    trial: Appointment | None = None
