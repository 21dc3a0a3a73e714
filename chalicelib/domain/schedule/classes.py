"""Courses, classes and their generated sessions (a trial books a session)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.db import programmes as programmes_db
from chalicelib.db import schedule as schedule_db
from chalicelib.domain import clock, ids
from chalicelib.domain.auth import Principal
from chalicelib.domain.schedule.appointments import _fill_free_seats
from chalicelib.domain.schedule.common import _check_campus, _invalid, _plans_campus, _session_out, teacher_of
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import NotFoundError
from chalicelib.schemas.common import Page
from chalicelib.schemas.schedule import (
    ClassCreateRequest,
    ClassOut,
    Course,
    CourseCreateRequest,
    GeneratedSessions,
    SessionGenerateRequest,
    SessionOut,
    SessionPatchRequest,
)


def create_course(principal: Principal, request: CourseCreateRequest) -> Course:
    course = Course(id=ids.new_id(), created_at=clock.now(), **request.model_dump())
    data = course.model_dump(mode="json")
    data["lesson_cost"] = str(course.lesson_cost)
    schedule_db.put_course(principal.tenant, data)
    return course


def list_courses(principal: Principal) -> Page[Course]:
    return Page[Course](items=[Course.model_validate(c) for c in schedule_db.list_courses(principal.tenant)])


def create_class(principal: Principal, request: ClassCreateRequest) -> ClassOut:
    course = schedule_db.get_course(principal.tenant, request.course_id)
    if course is None:
        raise _invalid("course_id", "unknown course")
    _check_campus(principal, request.campus_id)
    if request.teacher_id:
        teacher_of(principal.tenant, request.teacher_id, request.campus_id)
    if request.cohort_id:
        cohort = programmes_db.get_cohort(principal.tenant, request.cohort_id)
        if cohort is None or cohort["campus_id"] != request.campus_id:
            raise _invalid("cohort_id", "no such cohort at this campus")
    cls = ClassOut(id=ids.new_id(), course_name=course["name"], created_at=clock.now(), **request.model_dump())
    schedule_db.put_class(principal.tenant, cls.model_dump(mode="json"))
    return cls


def list_classes(principal: Principal) -> Page[ClassOut]:
    return Page[ClassOut](items=[ClassOut.model_validate(c) for c in schedule_db.list_classes(principal.tenant)])


def generate_sessions(principal: Principal, class_id: str, request: SessionGenerateRequest) -> GeneratedSessions:
    """Creates the class's sessions for a date range; running it again creates nothing twice."""
    cls = schedule_db.get_class(principal.tenant, class_id)
    if cls is None or not _plans_campus(principal, cls["campus_id"]):
        raise NotFoundError("No such class.", code="CLASS_NOT_FOUND")
    zone = ZoneInfo(get_tenant(principal.tenant).timezone)
    first = max(request.from_, date.fromisoformat(cls["start_date"]))
    last = min(request.to, date.fromisoformat(cls["end_date"]))
    created = existing = 0
    sessions = []
    day = first
    while day <= last:
        for slot in cls["slots"]:
            if slot["weekday"] != day.isoweekday():
                continue
            hour, minute = map(int, slot["start"].split(":"))
            starts_at = datetime.combine(day, time(hour, minute), tzinfo=zone)
            data = {
                "id": f"{class_id}-{day:%Y%m%d}-{slot['start'].replace(':', '')}",
                "class_id": class_id,
                "course_id": cls["course_id"],
                "course_name": cls["course_name"],
                "campus_id": cls["campus_id"],
                "teacher": cls["teacher"],
                "teacher_id": cls.get("teacher_id"),
                "cohort_id": cls.get("cohort_id"),
                "room": cls.get("room"),
                "date": day.isoformat(),
                "start": slot["start"],
                "end": slot["end"],
                "starts_at": clock.iso(starts_at),
                "capacity": int(cls["capacity"]),
                "regular": 0,
                "trials": 0,
                "taken": 0,
                "waitlist": 0,
                "cancelled": False,
            }
            if schedule_db.put_session_if_absent(principal.tenant, data):
                created += 1
            else:
                existing += 1
            sessions.append(_session_out(data))
        day += timedelta(days=1)
    return GeneratedSessions(created=created, existing=existing, sessions=sessions)


def sessions_on(principal: Principal, day: date, campus_id: str | None) -> Page[SessionOut]:
    found = schedule_db.sessions_on(principal.tenant, day.isoformat(), campus_id)
    return Page[SessionOut](items=[_session_out(s) for s in found])


def patch_session(principal: Principal, session_id: str, request: SessionPatchRequest) -> SessionOut:
    current = schedule_db.get_session(principal.tenant, session_id)
    if current is None or not _plans_campus(principal, current["campus_id"]):
        raise NotFoundError("No such session.", code="SESSION_NOT_FOUND")
    changes = request.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return _session_out(current)
    if "teacher_id" in changes:  # a substitute: their list shows the session, and their name unless one is sent
        substitute = teacher_of(principal.tenant, changes["teacher_id"], current["campus_id"])
        changes.setdefault("teacher", substitute.display_name)
    updated = schedule_db.update_session(principal.tenant, session_id, changes, current["starts_at"])
    if "capacity" in changes and _fill_free_seats(principal.tenant, session_id, None):
        updated = schedule_db.get_session(principal.tenant, session_id) or updated  # new seats went to the waitlist
    return _session_out(updated)
