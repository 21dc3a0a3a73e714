from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib import sheets
from chalicelib.api.routing import Call, attachment, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.common import Page, StrictModel
from chalicelib.schemas.schedule import (
    Appointment,
    AppointmentCreateRequest,
    AppointmentListQuery,
    AppointmentPatchRequest,
    ClassCreateRequest,
    ClassOut,
    ClassRecord,
    ClassRecordRequest,
    Course,
    CourseCreateRequest,
    EventCreateRequest,
    EventListQuery,
    EventOut,
    GeneratedSessions,
    MySessionsQuery,
    Roster,
    SessionGenerateRequest,
    SessionListQuery,
    SessionOut,
    SessionPatchRequest,
    WalkInRequest,
    WalkInResult,
)

bp = Blueprint(__name__)
PLANNERS = roles.MANAGE_SCHEDULE


@endpoint(
    bp,
    "POST",
    "/courses",
    summary="Add a course",
    tags=["schedule"],
    roles_allowed=PLANNERS,
    body=CourseCreateRequest,
    response=Course,
    status=201,
)
def create_course(call: Call[CourseCreateRequest, None]) -> Course:
    from chalicelib.domain import schedule

    return schedule.create_course(call.principal, call.body)


@endpoint(bp, "GET", "/courses", summary="Courses", tags=["schedule"], response=Page[Course])
def list_courses(call: Call[None, None]) -> Page[Course]:
    from chalicelib.domain import schedule

    return schedule.list_courses(call.principal)


@endpoint(
    bp,
    "POST",
    "/classes",
    summary="Add a class with weekly slots",
    tags=["schedule"],
    roles_allowed=PLANNERS,
    body=ClassCreateRequest,
    response=ClassOut,
    status=201,
)
def create_class(call: Call[ClassCreateRequest, None]) -> ClassOut:
    from chalicelib.domain import schedule

    return schedule.create_class(call.principal, call.body)


@endpoint(bp, "GET", "/classes", summary="Classes", tags=["schedule"], response=Page[ClassOut])
def list_classes(call: Call[None, None]) -> Page[ClassOut]:
    from chalicelib.domain import schedule

    return schedule.list_classes(call.principal)


@endpoint(
    bp,
    "POST",
    "/classes/{class_id}/sessions",
    summary="Generate a class's sessions for a date range",
    tags=["schedule"],
    roles_allowed=PLANNERS,
    body=SessionGenerateRequest,
    response=GeneratedSessions,
    status=201,
)
def generate_sessions(call: Call[SessionGenerateRequest, None]) -> GeneratedSessions:
    from chalicelib.domain import schedule

    return schedule.generate_sessions(call.principal, call.params["class_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/sessions",
    summary="A day's class sessions with seats left",
    tags=["schedule"],
    query=SessionListQuery,
    response=Page[SessionOut],
)
def list_sessions(call: Call[None, SessionListQuery]) -> Page[SessionOut]:
    from chalicelib.domain import schedule

    return schedule.sessions_on(call.principal, call.query.date, call.query.campus)


@endpoint(
    bp,
    "PATCH",
    "/sessions/{session_id}",
    summary="Change or cancel a session",
    tags=["schedule"],
    roles_allowed=PLANNERS,
    body=SessionPatchRequest,
    response=SessionOut,
)
def patch_session(call: Call[SessionPatchRequest, None]) -> SessionOut:
    from chalicelib.domain import schedule

    return schedule.patch_session(call.principal, call.params["session_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/me/sessions",
    summary="The caller's class sessions on a day (a teacher's timetable), by start time",
    tags=["schedule"],
    query=MySessionsQuery,
    response=Page[SessionOut],
)
def my_sessions(call: Call[None, MySessionsQuery]) -> Page[SessionOut]:
    from chalicelib.domain import teaching

    return teaching.my_sessions(call.principal, call.query.date)


@endpoint(
    bp,
    "GET",
    "/sessions/{session_id}/roster",
    summary="A session's learners: enrolled, checked in, trials; names, cards' credits, class records (no phones)",
    tags=["schedule"],
    roles_allowed=roles.ROSTER_READERS,
    response=Roster,
    reads_customers=True,
)
def session_roster(call: Call[None, None]) -> Roster:
    from chalicelib.domain import teaching

    return teaching.roster(call.principal, call.params["session_id"])


@endpoint(
    bp,
    "PUT",
    "/sessions/{session_id}/records/{lead_id}",
    summary="A learner's in-class record (课堂记录) of a session: notes, homework, a rating; in the lead's history",
    tags=["schedule"],
    roles_allowed=roles.CLASS_RECORD_WRITERS,
    body=ClassRecordRequest,
    response=ClassRecord,
)
def save_class_record(call: Call[ClassRecordRequest, None]) -> ClassRecord:
    from chalicelib.domain import teaching

    return teaching.save_record(call.principal, call.params["session_id"], call.params["lead_id"], call.body)


@endpoint(
    bp,
    "POST",
    "/events",
    summary="Add an event (活动)",
    tags=["schedule"],
    roles_allowed=PLANNERS,
    body=EventCreateRequest,
    response=EventOut,
    status=201,
)
def create_event(call: Call[EventCreateRequest, None]) -> EventOut:
    from chalicelib.domain import schedule

    return schedule.create_event(call.principal, call.body)


@endpoint(
    bp, "GET", "/events", summary="A day's events", tags=["schedule"], query=EventListQuery, response=Page[EventOut]
)
def list_events(call: Call[None, EventListQuery]) -> Page[EventOut]:
    from chalicelib.domain import schedule

    return schedule.events_on(call.principal, call.query.date)


@endpoint(
    bp,
    "GET",
    "/events/{event_id}",
    summary="An event with seats left",
    tags=["schedule"],
    response=EventOut,
)
def get_event(call: Call[None, None]) -> EventOut:
    from chalicelib.domain import schedule

    return schedule.get_event(call.principal, call.params["event_id"])


class SheetQuery(StrictModel):
    format: Literal["html", "csv"] = Field(default="html")


@endpoint(
    bp,
    "GET",
    "/events/{event_id}/sign-in-sheet",
    summary="Printable sign-in sheet (HTML or CSV)",
    tags=["schedule"],
    query=SheetQuery,
    content_type="text/html",
    also_content=["text/csv"],
    reads_customers=True,
)
def get_sign_in_sheet(call: Call[None, SheetQuery]) -> Response:
    from chalicelib.domain import schedule
    from chalicelib.domain.tenants import get_tenant
    from chalicelib.rendering import render

    event, guests = schedule.sign_in_sheet(call.principal, call.params["event_id"])
    call.records = len(guests)
    zone = ZoneInfo(get_tenant(call.principal.tenant).timezone)
    starts_local = event.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if call.query.format == "csv":
        rows = (
            [n, g["lead_name"], g.get("owner_name") or "", "✓" if g.get("attendance") == "arrived" else "", ""]
            for n, g in enumerate(guests, 1)
        )
        header = ["#", "学员 Learner", "顾问 Consultant", "到场 Arrived", "签名 Signature"]
        # names neutralised, a BOM for Excel's Chinese
        return attachment(sheets.csv_text(header, rows), "text/csv; charset=utf-8", f"sign-in-{event.id}.csv")
    html = render("sign_in_sheet.html", event=event, guests=guests, starts_local=starts_local)
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/appointments",
    summary="Invite a lead: visit, trial class or event",
    tags=["appointments"],
    body=AppointmentCreateRequest,
    response=Appointment,
    status=201,
)
def create_appointment(call: Call[AppointmentCreateRequest, None]) -> Appointment:
    from chalicelib.domain import schedule

    return schedule.book(call.principal, call.params["lead_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/appointments",
    summary="Appointments (历史到访), filtered",
    tags=["appointments"],
    query=AppointmentListQuery,
    response=Page[Appointment],
    reads_customers=True,
)
def list_appointments(call: Call[None, AppointmentListQuery]) -> Page[Appointment]:
    from chalicelib.domain import schedule

    return schedule.list_appointments(call.principal, call.query)


@endpoint(
    bp,
    "PATCH",
    "/appointments/{appointment_id}",
    summary="Mark arrived or no-show",
    tags=["appointments"],
    body=AppointmentPatchRequest,
    response=Appointment,
)
def patch_appointment(call: Call[AppointmentPatchRequest, None]) -> Appointment:
    from chalicelib.domain import schedule

    return schedule.mark_attendance(call.principal, call.params["appointment_id"], call.body)


@endpoint(
    bp,
    "DELETE",
    "/appointments/{appointment_id}",
    summary="Cancel; the seat goes to the head of the waitlist (sent again: repairs, refunds once)",
    tags=["appointments"],
    status=204,
)
def cancel_appointment(call: Call[None, None]) -> None:
    from chalicelib.domain import schedule

    schedule.cancel(call.principal, call.params["appointment_id"])


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/walk-ins",
    summary="A walk-in: follow-up, visit arrived, maybe a trial",
    tags=["appointments"],
    body=WalkInRequest,
    response=WalkInResult,
    status=201,
)
def record_walk_in(call: Call[WalkInRequest, None]) -> WalkInResult:
    from chalicelib.domain import walkins

    return walkins.record(call.principal, call.params["lead_id"], call.body)
