"""Receivables (应收/欠费): every contract instalment and every confirmed enrolment's agreed
price (by its instalments) is an amount due on a day. Money is a decimal string."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import DecimalString, Entity, PageQuery, StrictModel

RECEIVABLE_STATUS = Literal["due", "overdue", "paid", "cancelled"]


class Payer(StrictModel):
    """代报名: who pays, when it is not a guardian of the learner (a grandparent, a company).
    Payment reminders go to the payer instead of the learner's guardian."""

    name: str = Field(min_length=1, max_length=50, examples=["张爷爷"])
    phone: str = Field(min_length=3, max_length=30, examples=["139 0013 9000"])
    relation: str | None = Field(default=None, max_length=20, examples=["祖父"])


class PayerShown(Entity):
    name: str
    phone: str = Field(description="Masked (139****9000)")
    relation: str | None = None


class Receivable(Entity):
    id: str
    source: Literal["contract", "enrolment"]
    source_id: str = Field(description="GET /contracts/{id}, or the enrolment's id")
    n: int = Field(description="Instalment number, from 1")
    of: int = Field(description="How many instalments")
    title: str
    lead_ids: list[str]
    lead_names: list[str]
    campus_id: str
    consultant_id: str
    consultant_name: str
    due_on: date = Field(description="School date")
    amount: DecimalString
    paid: DecimalString
    outstanding: DecimalString
    status: RECEIVABLE_STATUS
    days_overdue: int = Field(description="Days past the due date (0 unless overdue)")
    paid_on: date | None = None
    payer: PayerShown | None = None


class ReceivableQuery(PageQuery):
    status: Literal["due", "overdue", "paid"] | None = Field(
        default=None, description="due: not yet due; overdue: past due and unpaid; paid. Default: every unpaid one"
    )
    campus: str | None = Field(default=None, max_length=64)
    consultant: str | None = Field(default=None, max_length=64)


class AgeingBucket(Entity):
    bucket: Literal["0-30", "31-60", "61-90", "90+"]
    amount: DecimalString
    count: int


class Ageing(Entity):
    """What is owed as of today (school date): not yet due, and overdue by days past due
    (1-30 days in "0-30")."""

    as_of: date
    not_due: DecimalString
    not_due_count: int
    overdue: DecimalString
    overdue_count: int
    buckets: list[AgeingBucket]
