"""Programmes and cohorts (课程/班级), enrolments."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.db.base import BaseItem


class ProgrammeItem(BaseItem, discriminator="Programme"):
    """A course, workshop or seminar the school offers, one-off or recurring."""

    id = UnicodeAttribute()
    name = UnicodeAttribute()
    programme_kind = UnicodeAttribute()  # course | workshop | seminar ("kind" is the item type)
    recurrence = UnicodeAttribute()  # one_off | recurring
    description = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class CohortItem(BaseItem, discriminator="Cohort"):
    """A group of a programme opening on a date. `confirmed` < `seats` is the enrolment condition."""

    id = UnicodeAttribute()
    programme_id = UnicodeAttribute()
    programme_name = UnicodeAttribute()
    programme_kind = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    campus_name = UnicodeAttribute()
    name = UnicodeAttribute()
    starts_on = UnicodeAttribute()
    ends_on = UnicodeAttribute(null=True)
    starts_at = UnicodeAttribute()  # HH:MM, school time: the first session
    schedule = UnicodeAttribute(null=True)
    teacher_id = UnicodeAttribute(null=True)
    teacher_name = UnicodeAttribute(null=True)
    price = NumberAttribute()  # fen
    instalment_options: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps: name, count
    seats = NumberAttribute()
    confirmed = NumberAttribute(default=0)
    pending = NumberAttribute(default=0)
    declined = NumberAttribute(default=0)
    status = UnicodeAttribute()  # open | closed | cancelled
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = NumberAttribute(default=0)


class EnrolmentItem(BaseItem, discriminator="Enrolment"):
    """A lead's enrolment (报名) in a cohort, in the cohort's partition; `version` locks changes."""

    id = UnicodeAttribute()
    cohort_id = UnicodeAttribute()
    programme_id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | confirmed | declined
    agreed_price = NumberAttribute()  # fen
    instalments = UnicodeAttribute()  # the name of one of the cohort's options
    instalment_count = NumberAttribute()
    notify_before_minutes = NumberAttribute(null=True)
    reminder_message_id = UnicodeAttribute(null=True)
    reminder_at = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    decided_by = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    paid = NumberAttribute(default=0)  # fen paid towards agreed_price (POST /enrolments/{id}/payments)
    payer_name = UnicodeAttribute(null=True)  # 代报名: who pays, when not a guardian of the learner
    payer_phone = UnicodeAttribute(null=True)  # E.164
    payer_relation = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class EnrolmentLinkItem(BaseItem, discriminator="EnrolmentLink"):
    """In a lead's partition: its enrolment in one cohort."""

    other_id = UnicodeAttribute()
    at = UnicodeAttribute()
