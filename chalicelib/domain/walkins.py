"""Walk-ins (未预约到访): one call records the contact, the visit and maybe a trial class."""

from __future__ import annotations

from chalicelib.db import schedule as schedule_db
from chalicelib.domain import attendance, followups, leads, schedule
from chalicelib.domain import config as tenant_config
from chalicelib.domain.auth import Principal
from chalicelib.errors import ValidationFailedError
from chalicelib.schemas.followups import FollowUpCreateRequest
from chalicelib.schemas.schedule import AppointmentCreateRequest, AppointmentPatchRequest, WalkInRequest, WalkInResult
from chalicelib.schemas.settings import DictionaryKind

VISIT_METHOD = "visit"


def record(principal: Principal, lead_id: str, request: WalkInRequest) -> WalkInResult:
    """Checks everything first, then writes the step that can be refused (the trial seat)
    first, so a full class leaves nothing behind."""
    leads.visible_lead(principal, lead_id)
    method = tenant_config.load(principal.tenant).entry(DictionaryKind.follow_up_methods, VISIT_METHOD)
    if method is None or method.retired:
        raise ValidationFailedError(
            "The school's follow-up methods have no 'visit'; add it to record walk-ins.",
            details=[{"field": "method", "message": "no visit method"}],
        )
    follow_up_request = FollowUpCreateRequest(
        method=VISIT_METHOD, content=request.content, next_follow_up_at=request.next_follow_up_at
    )
    followups.check_next(principal, follow_up_request)
    if request.trial_session_id:  # sat in a class now: one that has not opened yet is refused before any write
        session = schedule_db.get_session(principal.tenant, request.trial_session_id)
        if session is not None:
            attendance.check_open(principal.tenant, attendance.session_start(session), field="trial_session_id")
    trial = None
    if request.trial_session_id:
        trial = schedule.book(
            principal,
            lead_id,
            AppointmentCreateRequest(kind="trial", session_id=request.trial_session_id),
            allow_started=True,
        )
        trial = schedule.mark_attendance(principal, trial.id, AppointmentPatchRequest(attendance="arrived"))
    from chalicelib.domain import clock

    visit = schedule.book(
        principal, lead_id, AppointmentCreateRequest(kind="visit", at=clock.now()), allow_started=True
    )
    visit = schedule.mark_attendance(principal, visit.id, AppointmentPatchRequest(attendance="arrived"))
    follow_up = followups.record(principal, lead_id, follow_up_request)
    return WalkInResult(follow_up_id=follow_up.id, visit=visit, trial=trial)
