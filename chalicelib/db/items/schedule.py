"""Courses, classes and their sessions, events, bookings and appointments, notifications."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.db.base import BaseItem


class CourseItem(BaseItem, discriminator="Course"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    lesson_cost = UnicodeAttribute()  # a decimal, as text
    age_min_months = NumberAttribute(null=True)
    age_max_months = NumberAttribute(null=True)
    created_at = UnicodeAttribute()


class ClassItem(BaseItem, discriminator="Class"):
    id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    teacher = UnicodeAttribute()
    teacher_id = UnicodeAttribute(null=True)  # the teacher's user, when the class has one
    cohort_id = UnicodeAttribute(null=True)  # its learners: the cohort's confirmed enrolments
    room = UnicodeAttribute(null=True)
    capacity = NumberAttribute()
    slots: ListAttribute[dict[str, Any]] = ListAttribute(default=list)
    start_date = UnicodeAttribute()
    end_date = UnicodeAttribute()
    created_at = UnicodeAttribute()


class SessionItem(BaseItem, discriminator="Session"):
    """One lesson of a class. `taken` (regular + trials) < `capacity` is the booking condition."""

    id = UnicodeAttribute()
    class_id = UnicodeAttribute()
    course_id = UnicodeAttribute()
    course_name = UnicodeAttribute()
    campus_id = UnicodeAttribute()
    teacher = UnicodeAttribute()
    teacher_id = UnicodeAttribute(null=True)  # GSI2 TEACHES#<teacher_id> while set
    cohort_id = UnicodeAttribute(null=True)
    room = UnicodeAttribute(null=True)
    date = UnicodeAttribute()
    start = UnicodeAttribute()
    end = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    capacity = NumberAttribute()
    regular = NumberAttribute(default=0)
    trials = NumberAttribute(default=0)
    taken = NumberAttribute(default=0)
    waitlist = NumberAttribute(default=0)
    cancelled = BooleanAttribute(default=False)


class EventItem(BaseItem, discriminator="Event"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    starts_at = UnicodeAttribute()
    capacity = NumberAttribute()
    taken = NumberAttribute(default=0)
    waitlist = NumberAttribute(default=0)
    campus_id = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    fee_credits = UnicodeAttribute(null=True)
    fee_amount = UnicodeAttribute(null=True)
    cancelled = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()


class BookingItem(BaseItem, discriminator="Booking"):
    """A lead's seat (or waitlist place) in a session or an event."""

    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    appointment_id = UnicodeAttribute()
    state = UnicodeAttribute()  # booked | waitlisted
    waited_at = UnicodeAttribute(null=True)
    owner_name = UnicodeAttribute(null=True)
    attendance = UnicodeAttribute(null=True)


class ClassRecordItem(BaseItem, discriminator="ClassRecord"):
    """A learner's in-class record (课堂记录) in the session's partition (`REC#<lead>`); a copy
    is the learner's history entry `class_record`, written in the same transaction."""

    session_id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    notes = UnicodeAttribute(null=True)
    homework = UnicodeAttribute(null=True)
    rating = NumberAttribute(null=True)
    by = UnicodeAttribute()
    by_name = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


class TrialMarkerItem(BaseItem, discriminator="TrialMarker"):
    appointment_id = UnicodeAttribute()


class AppointmentItem(BaseItem, discriminator="Appointment"):
    id = UnicodeAttribute()
    lead_id = UnicodeAttribute()
    lead_name = UnicodeAttribute()
    appointment_kind = UnicodeAttribute()  # visit | trial | event ("kind" is the item type)
    at = UnicodeAttribute()
    session_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    course_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    campus_id = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    attendance = UnicodeAttribute(null=True)
    arrived_at = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    booked_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    cancelled_at = UnicodeAttribute(null=True)


class NotificationItem(BaseItem, discriminator="Notification"):
    id = UnicodeAttribute()
    message = UnicodeAttribute()
    lead_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    read = BooleanAttribute(default=False)
