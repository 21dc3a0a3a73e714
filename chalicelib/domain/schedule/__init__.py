"""The schedule trial classes and events need, and appointments (邀约): visits, trials, events.

By sub-feature: classes.py (courses, classes, sessions), events.py, appointments.py (booking,
cancelling, the waiting list, attendance), listing.py (reading appointments), common.py (what
they share). Callers use `schedule.book(...)`: the package re-exports what they call.
"""

from chalicelib.domain.schedule.appointments import QUEUE_TRIES, book, cancel, mark_attendance
from chalicelib.domain.schedule.classes import (
    create_class,
    create_course,
    generate_sessions,
    list_classes,
    list_courses,
    patch_session,
    sessions_on,
)
from chalicelib.domain.schedule.common import ATTENDANCE_ROLES
from chalicelib.domain.schedule.events import create_event, events_on, get_event, sign_in_sheet
from chalicelib.domain.schedule.listing import appointment_scope, appointments_between, list_appointments

__all__ = [
    "ATTENDANCE_ROLES",
    "QUEUE_TRIES",
    "appointment_scope",
    "appointments_between",
    "book",
    "cancel",
    "create_class",
    "create_course",
    "create_event",
    "events_on",
    "generate_sessions",
    "get_event",
    "list_appointments",
    "list_classes",
    "list_courses",
    "mark_attendance",
    "patch_session",
    "sessions_on",
    "sign_in_sheet",
]
