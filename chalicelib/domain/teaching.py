"""Teachers' classes (issue 19, part 2): a teacher's sessions, each session's roster, and the
in-class record (课堂记录) of each learner.

A class (and so each of its sessions) may name its teacher's account (`teacher_id`, an active
teacher of the class's campus) and a cohort (`cohort_id`): the cohort's confirmed enrolments
are the class's members. A session's roster is who is expected or there: those enrolled,
those checked in (members: the lesson's credits taken) and the trial bookings, each with
their name, their cards' usable credits and this session's record. Never a phone number.

Who may read a roster: the session's teacher (every learner on it), admins, and the managers
and front desk of the session's campus (the learners they may see, as everywhere). Another
teacher's session is not found; other roles are refused. The teacher checks members in
through `POST /sessions/{id}/check-ins` (cards' rules: movements.check_in asks
`check_in_learner`) and marks trials through `PATCH /appointments/{id}`.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import cards as cards_db
from chalicelib.db import leads as leads_db
from chalicelib.db import programmes as programmes_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import transactions
from chalicelib.domain import attendance, clock, leads, roles, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.schedule.common import _local_day_range, _session_out
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ConflictError, ForbiddenError, NotFoundError
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import HistoryEntry, Lead
from chalicelib.schemas.schedule import (
    ClassRecord,
    ClassRecordRequest,
    Roster,
    RosterCard,
    RosterEntry,
    SessionOut,
)
from chalicelib.schemas.users import Role

ROSTER_READERS = roles.ROSTER_READERS
RECORD_WRITERS = roles.CLASS_RECORD_WRITERS
LIVE_CARDS = ("active", "frozen", "lost")


def _no_session() -> NotFoundError:
    return NotFoundError("No such session.", code="SESSION_NOT_FOUND")


def _not_on_roster() -> NotFoundError:
    return NotFoundError("No such learner in this session.", code="LEAD_NOT_FOUND")


def teaches(principal: Principal, session: dict[str, Any]) -> bool:
    return principal.role is Role.teacher and session.get("teacher_id") == principal.user_id


def _today(tenant: str) -> date:
    return clock.now().astimezone(ZoneInfo(get_tenant(tenant).timezone)).date()


def my_sessions(principal: Principal, day: date | None) -> Page[SessionOut]:
    """The caller's sessions on a school day (default today), by start time: one Query of
    GSI2 `TEACHES#<me>` over the day's bounds, then one BatchGetItem of the sessions."""
    day = day or _today(principal.tenant)
    lo, hi = _local_day_range(day, get_tenant(principal.tenant).timezone)
    found = schedule_db.teacher_sessions(principal.tenant, principal.user_id, lo, hi)
    return Page[SessionOut](items=[_session_out(s) for s in found])


def _readable_session(principal: Principal, session_id: str, allowed: frozenset[Role]) -> dict[str, Any]:
    if principal.role not in allowed:
        raise ForbiddenError("Your role does not keep class rosters.", code="ROLE_FORBIDDEN")
    session = schedule_db.get_session(principal.tenant, session_id)
    if session is None:
        raise _no_session()
    if principal.role is Role.teacher:
        if not teaches(principal, session):
            raise _no_session()  # another teacher's session is not found, as another campus's
    elif principal.role is not Role.admin and session["campus_id"] not in principal.campus_ids:
        raise _no_session()
    return session


def _may_see(principal: Principal, lead: Lead, session: dict[str, Any]) -> bool:
    if lead.deleted_at is not None:
        return False
    return teaches(principal, session) or leads.can_see(principal, lead)


def _cards(tenant: str, lead_ids: list[str], today: str, course_id: str) -> dict[str, list[RosterCard]]:
    """Each learner's live cards with the credits usable for the course today: one Query of
    card links per learner, then one BatchGetItem of the cards (and of shared sub-cards' primaries)."""
    links = {lead_id: cards_db.member_links(tenant, lead_id, "CARD#") for lead_id in lead_ids}
    found = {c["id"]: c for c in cards_db.batch_cards(tenant, [c for ids in links.values() for c in ids])}
    primaries = {c["primary_card_id"] for c in found.values() if c.get("shared") and c.get("primary_card_id")}
    if primaries - set(found):
        found |= {c["id"]: c for c in cards_db.batch_cards(tenant, sorted(primaries - set(found)))}
    out: dict[str, list[RosterCard]] = {}
    for lead_id, ids in links.items():
        for card_id in ids:
            card = found.get(card_id)
            if card is None or card["status"] not in LIVE_CARDS:
                continue
            wallet = found.get(card.get("primary_card_id") or "") if card.get("shared") else card
            usable = wallets.available((wallet or card).get("lots") or {}, today, course_id)
            out.setdefault(lead_id, []).append(
                RosterCard(id=card["id"], number=card["number"], status=card["status"], credits=wallets.decimal(usable))
            )
    return out


def roster(principal: Principal, session_id: str) -> Roster:
    """Who the session expects or has: its confirmed enrolments, its check-ins and its trial
    bookings (waitlisted ones are not in the room), with cards and this session's records.

    Reads: the session (GetItem), its bookings and its records (2 Query of its partition),
    the cohort's confirmed enrolments (1 Query), the learners (1 BatchGetItem), their cards
    (1 Query per learner + 1 BatchGetItem)."""
    session = _readable_session(principal, session_id, ROSTER_READERS)
    tenant = principal.tenant
    rows: dict[str, dict[str, Any]] = {}
    if session.get("cohort_id"):
        for enrolment in programmes_db.confirmed_enrolments(tenant, session["cohort_id"]):
            rows[enrolment["lead_id"]] = {"kind": "member", "status": "enrolled"}
    for booked in schedule_db.bookings(tenant, session_id=session_id):
        if booked["state"] == "attended":  # a member's check-in
            rows[booked["lead_id"]] = {"kind": "member", "status": "checked_in"}
        elif booked["state"] == "booked":
            status = booked.get("attendance") or "booked"
            rows[booked["lead_id"]] = {"kind": "trial", "status": status, "appointment_id": booked["appointment_id"]}
    found = {lead.id: lead for lead in leads_db.batch_get(tenant, list(rows))}
    shown = [i for i in rows if i in found and _may_see(principal, found[i], session)]
    today = _today(tenant).isoformat()
    cards = _cards(tenant, shown, today, session["course_id"])
    records = {r["lead_id"]: ClassRecord.model_validate(r) for r in schedule_db.class_records(tenant, session_id)}
    items = [
        RosterEntry(
            lead_id=lead_id,
            name=found[lead_id].name,
            cards=cards.get(lead_id, []),
            record=records.get(lead_id),
            **rows[lead_id],
        )
        for lead_id in shown
    ]
    items.sort(key=lambda e: (e.kind != "member", e.name, e.lead_id))
    return Roster(session=_session_out(session), items=items)


def _on_roster(tenant: str, session: dict[str, Any], lead_id: str) -> bool:
    """Enrolled (confirmed) in the session's cohort, or booked or checked in at the session."""
    booked = schedule_db.booking(tenant, session["id"], lead_id)
    if booked is not None and booked["state"] in ("booked", "attended"):
        return True
    if not session.get("cohort_id"):
        return False
    enrolment = programmes_db.get_enrolment(tenant, session["cohort_id"], lead_id)
    return enrolment is not None and enrolment["status"] == "confirmed"


def check_in_learner(principal: Principal, session: dict[str, Any], lead_id: str) -> Lead:
    """A teacher checks in only a member enrolled in their own session's cohort (a trial
    learner's arrival is marked on the appointment). 404 otherwise, naming nothing."""
    if not teaches(principal, session):
        raise _no_session()
    enrolment = (
        programmes_db.get_enrolment(principal.tenant, session["cohort_id"], lead_id)
        if session.get("cohort_id")
        else None
    )
    lead = leads_db.get(principal.tenant, lead_id) if enrolment and enrolment["status"] == "confirmed" else None
    if lead is None or lead.deleted_at is not None:
        raise _not_on_roster()
    return lead


def may_mark_trial(principal: Principal, session_id: str | None, lead_id: str) -> bool:
    """May this teacher mark a trial learner's attendance: their own session, the learner booked there."""
    if principal.role is not Role.teacher or not session_id:
        return False
    session = schedule_db.get_session(principal.tenant, session_id)
    if session is None or not teaches(principal, session):
        return False
    booked = schedule_db.booking(principal.tenant, session_id, lead_id)
    return booked is not None and booked["state"] == "booked"


def save_record(principal: Principal, session_id: str, lead_id: str, request: ClassRecordRequest) -> ClassRecord:
    """Writes (or rewrites) a learner's record of a session, and its copy in the learner's
    history, in one transaction; from the time attendance opens on."""
    session = _readable_session(principal, session_id, RECORD_WRITERS)
    lead = leads_db.get(principal.tenant, lead_id)
    if lead is None or not _may_see(principal, lead, session) or not _on_roster(principal.tenant, session, lead_id):
        raise _not_on_roster()
    if session.get("cancelled"):
        raise ConflictError("The session was cancelled.", code="SESSION_CANCELLED")
    attendance.check_open(principal.tenant, attendance.session_start(session), field="session_id")
    now = clock.now()
    fields = request.model_dump(include={"notes", "homework", "rating"})
    record = ClassRecord(
        session_id=session_id, lead_id=lead_id, by=principal.user_id, by_name=principal.display_name, at=now, **fields
    )
    details = {
        "session_id": session_id,
        "course_name": session["course_name"],
        "date": session["date"],
        "start": session["start"],
        "teacher": session["teacher"],
        **{k: v for k, v in fields.items() if v is not None},
    }
    entry = HistoryEntry(at=now, by=principal.user_id, action="class_record", details=details)
    stored = {k: v for k, v in record.model_dump(mode="json").items() if v is not None}
    try:
        schedule_db.save_class_record(principal.tenant, session["starts_at"], stored, entry)
    except transactions.TransactionConflict as exc:  # cancelled (or gone) since it was read
        raise ConflictError("The session was cancelled.", code="SESSION_CANCELLED") from exc
    return record
