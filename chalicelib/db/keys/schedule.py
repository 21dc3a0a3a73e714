"""Courses, classes, sessions, events, appointments, reminders and notifications."""

from __future__ import annotations

from chalicelib.db.keys.base import due_pk, shard_of

# --- courses, classes, sessions, events, appointments ------------------------------
COURSE_PREFIX = "COURSE#"
CLASS_PREFIX = "CLASS#"
SESSION_SK = "SESSION"
EVENT_SK = "EVENT"
BOOKING_PREFIX = "BOOK#"
APPOINTMENT_PREFIX = "APPT#"
CLASS_RECORD_PREFIX = "REC#"


def course_sk(course_id: str) -> str:
    return f"COURSE#{course_id}"


def class_sk(class_id: str) -> str:
    return f"CLASS#{class_id}"


def session_pk(tenant: str, session_id: str) -> str:
    return f"T#{tenant}#SESSION#{session_id}"


def sessions_on(tenant: str, day: str) -> str:
    """GSI1: a day's class sessions, sorted by campus and start time."""
    return f"T#{tenant}#SESSIONS#{day}"


def teacher_sessions(tenant: str, teacher_id: str) -> str:
    """GSI2: the class sessions a teacher (a user) teaches, by start time (only sessions with one)."""
    return f"T#{tenant}#TEACHES#{teacher_id}"


def class_record_sk(lead_id: str) -> str:
    """In a session's partition: a learner's in-class record (课堂记录), one per learner and session."""
    return f"REC#{lead_id}"


def class_record_entry_id(session_id: str) -> str:
    """The id of the copy of a class record in the learner's history (one per session: edits overwrite it)."""
    return f"class-{session_id}"


def event_pk(tenant: str, event_id: str) -> str:
    return f"T#{tenant}#EVENT#{event_id}"


def events_on(tenant: str, day: str) -> str:
    """GSI1: a day's events, by start time."""
    return f"T#{tenant}#EVENTS#{day}"


def booking_sk(lead_id: str) -> str:
    """In a session's or event's partition: one per lead, so a lead is never booked twice."""
    return f"BOOK#{lead_id}"


def trial_marker_sk(course_id: str) -> str:
    """In a lead's partition while a trial of this course is booked or waitlisted."""
    return f"TRIAL#{course_id}"


def appointment_sk(appointment_id: str) -> str:
    return f"APPT#{appointment_id}"


def appointments_by(tenant: str, owner_id: str) -> str:
    """GSI2: a consultant's appointments by time (visits, trials, events)."""
    return f"T#{tenant}#APPTBY#{owner_id}"


def appointments_in(tenant: str, campus_id: str) -> str:
    """GSI4: a campus's appointments by time."""
    return f"T#{tenant}#APPTC#{campus_id}"


def reminder_due(day: str, appointment_pk: str, appointment_id: str) -> tuple[str, str]:
    """DUE keys of a booked visit, trial or event, by the UTC date it happens on."""
    return due_pk("REMIND", day, shard_of(appointment_id)), f"{appointment_pk}|{appointment_id}"


def told_sk(what: str, when: str) -> str:
    """In the partition of what it is about: a marker that someone was told (once)."""
    return f"TOLD#{what}#{when}"


def notifications_pk(tenant: str, user_id: str) -> str:
    return f"T#{tenant}#NOTIFY#{user_id}"


def event_fee_sk(appointment_id: str) -> str:
    """In an event's partition: the fee charged for one booking (an appointment), at most once."""
    return f"FEE#{appointment_id}"
