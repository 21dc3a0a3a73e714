"""Appending is not editing (issue 14, item 4): follow-ups, plans and history entries
recorded at once on one lead never conflict; only two writers changing the same field of
the lead from the same value do, and the later one is told what changed.

Races are threads against DynamoDB Local. `all_read_before_any_write(n)` holds the first n
transactions until all n are ready to be sent, so every writer has read the lead before
any of them writes: the worst case, every time."""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta

from chalicelib.db.base import connection
from chalicelib.domain import clock
from tests.conftest import race_report, race_rounds
from tests.test_followups import team  # noqa: F401 - the fixture
from tests.test_leads import lead_body


@contextlib.contextmanager
def all_read_before_any_write(parties: int) -> Iterator[None]:
    barrier = threading.Barrier(parties, timeout=60)
    calls = itertools.count()
    events = connection().client.meta.events

    def hold(**_kw):
        if next(calls) < parties:
            barrier.wait()

    event = "before-send.dynamodb.TransactWriteItems"
    events.register(event, hold, unique_id=f"hold-{id(barrier)}")
    try:
        yield
    finally:
        events.unregister(event, unique_id=f"hold-{id(barrier)}")


def _race(calls: list, writers: int | None = None) -> list:
    """Runs the calls at once; the first `writers` (default: all) send one transaction each."""
    with all_read_before_any_write(writers or len(calls)), concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


@race_rounds
def test_fifty_follow_ups_recorded_at_once_on_one_lead_are_all_kept(team, race_round):  # noqa: F811
    lead = team.alice.post("/leads", lead_body(name="热门线索")).json_body
    url = f"/leads/{lead['id']}/follow-ups"
    trials = 50

    def follow_up(n):
        return lambda: team.alice.post(url, {"method": "phone", "content": f"第{n}次联系：家长问课程"})

    answers = _race([follow_up(n) for n in range(trials)])
    refused = [(a.status_code, a.json_body) for a in answers if a.status_code != 201]
    stored = team.alice.get(f"/follow-ups?lead={lead['id']}&limit=100").json_body["items"]
    detail = team.alice.get(f"/leads/{lead['id']}").json_body
    latest = max(a.json_body["followed_at"] for a in answers if a.status_code == 201)
    violations = len(refused) + abs(len({f["id"] for f in stored}) - trials) + abs(detail["follow_up_count"] - trials)
    violations += detail["last_contacted_at"] != latest
    race_report("follow-ups on one lead (refused or lost)", trials, violations)
    assert refused == []
    assert sorted(f["content"] for f in stored) == sorted(f"第{n}次联系：家长问课程" for n in range(trials))
    assert detail["follow_up_count"] == trials and detail["last_contacted_at"] == latest
    assert violations == 0


@race_rounds
def test_twenty_plans_appended_at_once_all_succeed(team, race_round):  # noqa: F811
    lead = team.alice.post("/leads", lead_body()).json_body
    at = (clock.now() + timedelta(hours=2)).isoformat()
    url = f"/leads/{lead['id']}/plans"
    people = [team.alice, team.bob]

    def plan(n):
        body = {"planned_at": at, "purpose": f"计划{n}", "assignee_id": people[n % 2].user["id"]}
        return lambda: team.alice.post(url, body)

    answers = _race([plan(n) for n in range(20)])
    plans = team.alice.get(f"/leads/{lead['id']}").json_body["plans"]
    lost = sum(a.status_code != 201 for a in answers) + abs(len(plans) - 20)
    race_report("plans appended to one lead (refused or lost)", 20, lost)
    assert [a.status_code for a in answers] == [201] * 20
    assert sorted(p["purpose"] for p in plans) == sorted(f"计划{n}" for n in range(20))
    # Bob may do each of his ten; with all ten done his access through them ends
    mine = [p for p in plans if p["assignee_id"] == team.bob.user["id"]]
    assert len(mine) == 10 and team.bob.get(f"/leads/{lead['id']}").status_code == 200

    def done(plan):
        body = {"method": "phone", "content": plan["purpose"], "plan_id": plan["id"]}
        return lambda: team.bob.post(f"/leads/{lead['id']}/follow-ups", body)

    answers = _race([done(p) for p in mine])
    assert [a.status_code for a in answers] == [201] * 10
    assert team.bob.get(f"/leads/{lead['id']}").status_code == 404


def test_two_status_changes_from_one_value_one_wins_the_other_is_told_what_changed(team):  # noqa: F811
    lead = team.alice.post("/leads", lead_body()).json_body
    url = f"/leads/{lead['id']}"
    answers = _race(
        [lambda: team.alice.patch(url, {"status": "intent"}), lambda: team.supervisor.patch(url, {"status": "lost"})]
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    won = next(a for a in answers if a.status_code == 200).json_body["status"]
    error = next(a for a in answers if a.status_code == 409).json_body["error"]
    assert error["code"] == "EDIT_CONFLICT"
    assert error["details"] == [
        {"field": "status", "message": "changed meanwhile", "current": won, "yours_was": "potential"}
    ]
    assert team.alice.get(url).json_body["status"] == won


def test_edits_of_different_fields_and_appends_go_through_together(team):  # noqa: F811
    lead = team.alice.post("/leads", lead_body()).json_body
    url = f"/leads/{lead['id']}"
    answers = _race(
        [
            lambda: team.alice.patch(url, {"status": "intent"}),
            lambda: team.supervisor.post(f"{url}/follow-ups", {"method": "wechat", "content": "发了课程表"}),
            lambda: team.supervisor.patch(url, {"notes": "喜欢画画"}),
            lambda: team.alice.post(f"{url}/reveal-phone"),  # a history entry: a single put
        ],
        writers=3,
    )
    assert [a.status_code for a in answers] == [200, 201, 200, 200], [a.body for a in answers]
    detail = team.alice.get(url).json_body
    assert (detail["status"], detail["notes"], detail["follow_up_count"]) == ("intent", "喜欢画画", 1)
    assert [h["action"] for h in detail["history"]].count("edited") == 2


def test_two_follow_ups_moving_the_next_time_from_one_value_one_is_told(team):  # noqa: F811
    lead = team.alice.post("/leads", lead_body()).json_body
    url = f"/leads/{lead['id']}/follow-ups"

    def call(days):
        at = (clock.now() + timedelta(days=days)).isoformat()
        return lambda: team.alice.post(url, {"method": "phone", "content": "再约", "next_follow_up_at": at})

    answers = _race([call(1), call(2)])
    assert sorted(a.status_code for a in answers) == [201, 409]
    error = next(a for a in answers if a.status_code == 409).json_body["error"]
    assert error["code"] == "EDIT_CONFLICT" and [d["field"] for d in error["details"]] == ["next_follow_up_at"]
    assert team.alice.get(f"/leads/{lead['id']}").json_body["follow_up_count"] == 1


def test_a_follow_up_that_meets_busy_transactions_is_counted_once_or_not_at_all(team):  # noqa: F811
    from tests.test_busy import dynamodb_busy

    lead = team.alice.post("/leads", lead_body()).json_body
    url = f"/leads/{lead['id']}/follow-ups"
    with dynamodb_busy(times=2) as refused:
        kept = team.alice.post(url, {"method": "phone", "content": "重试后记下"})
    assert len(refused) == 2 and kept.status_code == 201, kept.body
    with dynamodb_busy(times=1000):
        busy = team.alice.post(url, {"method": "phone", "content": "没记下", "status": "intent"})
    assert busy.status_code == 409 and busy.json_body["error"]["code"] == "BUSY"
    detail = team.alice.get(f"/leads/{lead['id']}").json_body
    assert [f["content"] for f in detail["follow_ups"]] == ["重试后记下"]
    assert (detail["follow_up_count"], detail["status"]) == (1, "potential")


def test_a_plan_handover_that_stays_busy_moves_neither_the_plan_nor_the_access(team):  # noqa: F811
    from tests.test_busy import dynamodb_busy

    lead = team.alice.post("/leads", lead_body()).json_body
    at = (clock.now() + timedelta(hours=2)).isoformat()
    plan = team.alice.post(f"/leads/{lead['id']}/plans", {"planned_at": at, "purpose": "回电"}).json_body["plan"]
    with dynamodb_busy(times=1000):
        busy = team.alice.patch(f"/leads/{lead['id']}/plans/{plan['id']}", {"assignee_id": team.bob.user["id"]})
    assert busy.status_code == 409 and busy.json_body["error"]["code"] == "BUSY"
    assert team.bob.get(f"/leads/{lead['id']}").status_code == 404
    plans = team.alice.get(f"/leads/{lead['id']}").json_body["plans"]
    assert [(p["assignee_id"], p["status"]) for p in plans] == [(team.alice.user["id"], "open")]


def test_two_guardian_edits_clash_without_showing_full_phone_numbers(team):  # noqa: F811
    lead = team.alice.post("/leads", lead_body()).json_body
    url = f"/leads/{lead['id']}"

    def guardians(phone):
        body = {"guardians": [{"name": "王爸爸", "relation": "father", "phones": [phone]}]}
        return lambda: team.alice.patch(url, body)

    answers = _race([guardians("13700137001"), guardians("13700137002")])
    assert sorted(a.status_code for a in answers) == [200, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json_body["error"]["details"] == [{"field": "guardians", "message": "changed meanwhile"}]
    assert "1370013700" not in loser.body.decode()
