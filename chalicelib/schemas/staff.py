"""Staff leaving (离职交接) and employee records (员工档案)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Entity, StrictModel

POOL = "pool"


class OffboardRequest(StrictModel):
    handover_to: str = Field(
        min_length=1,
        max_length=40,
        description="Who takes over the leaving user's leads, open plans and future appointments: an active "
        'consultant or supervisor (their id), or "pool" (leads to the public pool, plans cancelled, '
        "appointments unassigned)",
        examples=["pool"],
    )


class OffboardingCounts(Entity):
    leads_handed_over: int = 0
    leads_to_pool: int = Field(
        default=0, description="handed to the pool: by choice, or the taker is not of the lead's campus or is full"
    )
    plans_handed_over: int = 0
    plans_cancelled: int = Field(default=0, description="to the pool, or the taker is not of the plan's campus")
    appointments_handed_over: int = 0
    appointments_unassigned: int = Field(
        default=0, description="left to the campus (no consultant): to the pool, or the taker is not of its campus"
    )


class Offboarding(Entity):
    """离职交接: the leaving user's account is disabled at once; their leads, open plans and
    future appointments move in one resumable job, counted here as they move."""

    user_id: str
    user_name: str
    handover_to: str | None = Field(description="the user taking over; null: the public pool")
    handover_to_name: str | None = None
    status: Literal["queued", "running", "done"] = Field(
        description="queued: work left for the `staff_offboarding` job (every minute); done: nothing left to move"
    )
    started_by: str
    started_by_name: str
    created_at: datetime
    finished_at: datetime | None = None
    runs: int = Field(default=0, description="runs that worked on it (the request's, then the job's)")
    counts: OffboardingCounts


class EmployeeRecord(Entity):
    """员工档案 (admins only): the ID number is never shown in full."""

    user_id: str
    username: str
    display_name: str
    role: str
    active: bool
    hire_date: date | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = Field(
        default=None, description="masked: 1101**********123X", examples=["1101**********123X"]
    )
    notes: str | None = None
    left_on: date | None = Field(default=None, description="the school's day the account was offboarded")
    updated_at: datetime | None = None
    updated_by: str | None = None


class EmployeeRecordRequest(StrictModel):
    """The whole record (PUT): a field left out is cleared. Send the ID number back masked, as
    shown, to keep it."""

    hire_date: date | None = None
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[0-9+\-() ]{3,40}$", examples=["138 0013 8000"])
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    id_number: str | None = Field(
        default=None,
        max_length=32,
        pattern=r"^[0-9A-Za-z*\-]{4,32}$",
        description="身份证号 or passport number; a mainland ID (18 characters) must pass its check digit",
        examples=["11010519491231002X"],
    )
    notes: str | None = Field(default=None, max_length=2000)
