"""Courses, classes, sessions, events and the appointments booked into them.

- sessions: courses, classes, sessions, events, and the bookings of a session or an event
- appointments: booking, cancelling, the waitlist, attendance, the appointment lists
  (seats are an invariant of the database: see the module)
- notifications: a staff member's notifications
- teaching: the in-class records (课堂记录) of a session's learners

Callers use the names below from `chalicelib.db.schedule`.
"""

from chalicelib.db.schedule.appointments import (
    SeatFree,
    appointment_item,
    book,
    cancel,
    check_in_ops,
    fill_seat,
    get_appointment,
    list_appointments,
    put_visit,
    reminder_candidates,
    set_attendance,
    to_appointment,
    waitlist,
)
from chalicelib.db.schedule.notifications import list_notifications, notify, notify_once, told
from chalicelib.db.schedule.sessions import (
    bookings,
    events_on,
    get_class,
    get_course,
    get_event,
    get_session,
    list_classes,
    list_courses,
    put_class,
    put_course,
    put_event,
    put_session_if_absent,
    sessions_on,
    teacher_sessions,
    update_session,
)
from chalicelib.db.schedule.teaching import booking, class_records, save_class_record

__all__ = [
    "SeatFree",
    "appointment_item",
    "book",
    "booking",
    "bookings",
    "cancel",
    "check_in_ops",
    "class_records",
    "events_on",
    "fill_seat",
    "get_appointment",
    "get_class",
    "get_course",
    "get_event",
    "get_session",
    "list_appointments",
    "list_classes",
    "list_courses",
    "list_notifications",
    "notify",
    "notify_once",
    "put_class",
    "put_course",
    "put_event",
    "put_session_if_absent",
    "put_visit",
    "reminder_candidates",
    "save_class_record",
    "sessions_on",
    "set_attendance",
    "teacher_sessions",
    "to_appointment",
    "told",
    "update_session",
    "waitlist",
]
