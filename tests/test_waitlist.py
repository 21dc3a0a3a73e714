"""Fair waitlists (issue 14, item 3): a seat freed while others wait goes to the head of the
waitlist, in the same transaction as the cancellation; no newcomer takes a seat while anyone
waits; a busy cancellation writes nothing, and sending it again repairs what is left."""

from __future__ import annotations

import concurrent.futures
import json
import threading
from datetime import timedelta

import pytest

from chalicelib.db import keys
from chalicelib.db import schedule as schedule_db
from chalicelib.db.base import connection
from chalicelib.db.items import EventItem, SessionItem
from chalicelib.domain import auth, clock, schedule
from chalicelib.errors import ConflictError
from chalicelib.schemas.schedule import AppointmentCreateRequest
from tests.conftest import race_report, race_rounds
from tests.test_appointments import _lead, centre  # noqa: F401 - the fixture
from tests.test_busy import _cancelled

TRIALS = 24  # half on events, half on class sessions


def _event(school, capacity: int = 1, name: str = "家长开放日") -> dict:
    body = {"name": name, "starts_at": (clock.now() + timedelta(days=3)).isoformat(), "capacity": capacity}
    return school.manager.post("/events", body).json_body


def _sessions(school, count: int) -> list[dict]:
    """`count` one-seat sessions of a class of its own (one a day, from a week ahead)."""
    first = school.monday + timedelta(days=14)
    cls = school.manager.post(
        "/classes",
        {
            "course_id": school.course["id"],
            "campus_id": school.campus["id"],
            "teacher": "王老师",
            "capacity": 1,
            "slots": [{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(1, 8)],
            "start_date": first.isoformat(),
            "end_date": (first + timedelta(days=count - 1)).isoformat(),
        },
    ).json_body
    end = (first + timedelta(days=count - 1)).isoformat()
    body = {"from": first.isoformat(), "to": end}
    return school.manager.post(f"/classes/{cls['id']}/sessions", body).json_body["sessions"]


def _request(target: tuple[str, str], waitlist: bool) -> AppointmentCreateRequest:
    kind, target_id = target
    if kind == "event":
        return AppointmentCreateRequest(kind="event", event_id=target_id, waitlist=waitlist)
    return AppointmentCreateRequest(kind="trial", session_id=target_id, waitlist=waitlist)


def _ids(target: tuple[str, str]) -> dict:
    return {"event_id": target[1]} if target[0] == "event" else {"session_id": target[1]}


def _state(tenant: str, target: tuple[str, str]) -> dict:
    """The counters of a session or event beside what its booking items say."""
    ids = _ids(target)
    seats = (
        schedule_db.get_event(tenant, target[1]) if target[0] == "event" else schedule_db.get_session(tenant, target[1])
    )
    found = schedule_db.bookings(tenant, **ids)
    return {
        "taken": int(seats.get("taken") or 0),
        "waitlist": int(seats.get("waitlist") or 0),
        "capacity": int(seats["capacity"]),
        "booked_items": sum(1 for b in found if b["state"] != "waitlisted"),
        "waiting_items": sum(1 for b in found if b["state"] == "waitlisted"),
    }


def _status(tenant: str, appointment) -> str:
    return schedule_db.get_appointment(tenant, appointment.lead_id, appointment.id).status


def _targets(school, count: int) -> list[tuple[str, str]]:
    sessions = _sessions(school, count - count // 2)
    return [("event", _event(school)["id"]) for _ in range(count // 2)] + [("session", s["id"]) for s in sessions]


@race_rounds
def test_a_seat_freed_while_a_newcomer_books_always_goes_to_the_head_of_the_waitlist(centre, race_round):  # noqa: F811
    principal = auth.authenticate(f"Bearer {centre.alice.token}")
    tenant = principal.tenant
    violations = []
    for n, target in enumerate(_targets(centre, TRIALS)):
        holder, head, newcomer = (_lead(centre, f"{name}{n}") for name in ("持座", "候补", "新来"))
        seat = schedule.book(principal, holder["id"], _request(target, waitlist=False))
        waiting = schedule.book(principal, head["id"], _request(target, waitlist=True))
        assert (seat.status, waiting.status) == ("booked", "waitlisted")
        queue_newcomer = n % 2 == 0  # half ask to join the waitlist, half want a seat or nothing
        start = threading.Barrier(2)

        def cancel(appointment_id=seat.id, start=start):
            start.wait()
            schedule.cancel(principal, appointment_id)

        def book(lead_id=newcomer["id"], target=target, start=start, queue=queue_newcomer):
            start.wait()
            try:
                return schedule.book(principal, lead_id, _request(target, waitlist=queue)).status
            except ConflictError as exc:
                return exc.code

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            cancelled, booked = pool.submit(cancel), pool.submit(book)
            cancelled.result()
            newcomer_got = booked.result()
        state = _state(tenant, target)
        expected = {"taken": 1, "waitlist": 1 if queue_newcomer else 0, "capacity": 1}
        expected |= {"booked_items": 1, "waiting_items": expected["waitlist"]}
        if (
            _status(tenant, waiting) != "booked"
            or newcomer_got != ("waitlisted" if queue_newcomer else "SESSION_FULL")
            or state != expected
        ):
            violations.append((target, _status(tenant, waiting), newcomer_got, state))
    race_report("cancellation vs newcomer (waiter passed over)", TRIALS, len(violations))
    assert violations == []


def _refuse_transactions_naming(text: str):
    """DynamoDB refuses (TransactionConflict, every time) each transaction that touches an
    item named by `text`, as it does while others write those items."""
    events = connection().client.meta.events
    refused: list[str] = []

    def handler(request, **_kw):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        if text not in body:
            return None
        refused.append(text)
        return _cancelled(len(json.loads(body).get("TransactItems", [])) or 1, "TransactionConflict")

    class Refusing:
        def __enter__(self):
            events.register("before-send.dynamodb.TransactWriteItems", handler, unique_id=f"refuse-{id(refused)}")
            return refused

        def __exit__(self, *exc):
            events.unregister("before-send.dynamodb.TransactWriteItems", unique_id=f"refuse-{id(refused)}")

    return Refusing()


@pytest.mark.parametrize("kind", ["session", "event"])
def test_a_busy_cancellation_writes_nothing_and_sent_again_gives_the_seat_to_the_waiter(centre, kind):  # noqa: F811
    principal = auth.authenticate(f"Bearer {centre.alice.token}")
    tenant, target = principal.tenant, _targets(centre, 2)[0 if kind == "event" else 1]
    holder, head = _lead(centre, "持座人"), _lead(centre, "排队的小朋友")
    seat = schedule.book(principal, holder["id"], _request(target, waitlist=False))
    waiting = schedule.book(principal, head["id"], _request(target, waitlist=True))
    before = _state(tenant, target)

    with _refuse_transactions_naming(waiting.id) as refused:  # the waiter's items stay busy
        busy = centre.alice.delete(f"/appointments/{seat.id}")
    assert refused, "the promotion was never attempted"
    assert busy.status_code == 409 and busy.json_body["error"]["code"] == "BUSY", busy.body
    # nothing was written: the seat is still held, the waiter still waits
    assert (_status(tenant, seat), _status(tenant, waiting)) == ("booked", "waitlisted")
    assert _state(tenant, target) == before

    assert centre.alice.delete(f"/appointments/{seat.id}").status_code == 204
    assert (_status(tenant, seat), _status(tenant, waiting)) == ("cancelled", "booked")
    assert _state(tenant, target) == {"taken": 1, "waitlist": 0, "capacity": 1, "booked_items": 1, "waiting_items": 0}
    notes = centre.alice.get("/notifications").json_body["items"]
    assert sum("排队的小朋友" in n["message"] and "候补" in n["message"] for n in notes) == 1


def _free_a_seat_behind_the_rules(tenant: str, target: tuple[str, str]) -> None:
    """What an older version could leave behind (or a capacity written by hand): a free seat
    while someone waits."""
    model, pk, sk = (
        (EventItem, keys.event_pk(tenant, target[1]), keys.EVENT_SK)
        if target[0] == "event"
        else (SessionItem, keys.session_pk(tenant, target[1]), keys.SESSION_SK)
    )
    model(pk, sk).update(actions=[model.capacity.add(1)])


@pytest.mark.parametrize("kind", ["session", "event"])
def test_a_newcomer_joins_the_waitlist_even_when_a_seat_looks_free_and_the_head_takes_it(centre, kind):  # noqa: F811
    principal = auth.authenticate(f"Bearer {centre.alice.token}")
    tenant, target = principal.tenant, _targets(centre, 2)[0 if kind == "event" else 1]
    holder, head, hurried, queued = (_lead(centre, n) for n in ("甲", "乙", "丙", "丁"))
    schedule.book(principal, holder["id"], _request(target, waitlist=False))
    waiting = schedule.book(principal, head["id"], _request(target, waitlist=True))
    _free_a_seat_behind_the_rules(tenant, target)  # capacity 2, one seat taken, one waiting

    with pytest.raises(ConflictError) as refused:
        schedule.book(principal, hurried["id"], _request(target, waitlist=False))
    assert refused.value.code == "SESSION_FULL"
    late = schedule.book(principal, queued["id"], _request(target, waitlist=True))
    assert late.status == "waitlisted"
    assert _status(tenant, waiting) == "booked"  # the free seat went to the head of the waitlist
    assert _state(tenant, target) == {"taken": 2, "waitlist": 1, "capacity": 2, "booked_items": 2, "waiting_items": 1}


def test_a_cancellation_sent_again_repairs_a_seat_left_free_while_someone_waits(centre):  # noqa: F811
    principal = auth.authenticate(f"Bearer {centre.alice.token}")
    tenant, target = principal.tenant, _targets(centre, 2)[0]
    early, holder, head = _lead(centre, "早退"), _lead(centre, "持座"), _lead(centre, "候补")
    gone = schedule.book(principal, early["id"], _request(target, waitlist=False))
    assert centre.alice.delete(f"/appointments/{gone.id}").status_code == 204
    schedule.book(principal, holder["id"], _request(target, waitlist=False))
    waiting = schedule.book(principal, head["id"], _request(target, waitlist=True))
    _free_a_seat_behind_the_rules(tenant, target)

    assert centre.alice.delete(f"/appointments/{gone.id}").status_code == 204  # sent again
    assert _status(tenant, waiting) == "booked"
    assert _state(tenant, target) == {"taken": 2, "waitlist": 0, "capacity": 2, "booked_items": 2, "waiting_items": 0}


def test_raising_a_sessions_capacity_gives_the_new_seats_to_the_waitlist_in_order(centre):  # noqa: F811
    principal = auth.authenticate(f"Bearer {centre.alice.token}")
    tenant, target = principal.tenant, _targets(centre, 2)[1]
    holder, first, second, third = (_lead(centre, n) for n in ("座", "一", "二", "三"))
    schedule.book(principal, holder["id"], _request(target, waitlist=False))
    queue = [schedule.book(principal, lead["id"], _request(target, waitlist=True)) for lead in (first, second, third)]

    patched = centre.manager.patch(f"/sessions/{target[1]}", {"capacity": 3})
    assert patched.status_code == 200 and patched.json_body["seats_left"] == 0
    assert [_status(tenant, a) for a in queue] == ["booked", "booked", "waitlisted"]
    assert _state(tenant, target) == {"taken": 3, "waitlist": 1, "capacity": 3, "booked_items": 3, "waiting_items": 1}
