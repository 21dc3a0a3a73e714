"""The lead page reads a bounded amount whatever the lead's history (issue 17): the lead,
its latest follow-ups, appointments and history entries, and the rest page by page through
GET /follow-ups?lead=, GET /leads/{id}/appointments and GET /leads/{id}/history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench import capacity
from chalicelib.db import followups as followups_db
from chalicelib.db import keys, telemetry
from chalicelib.db import leads as leads_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db.items import AppointmentItem, FollowUpItem, LeadHistoryItem, MemberLinkItem
from chalicelib.domain import clock, ids
from chalicelib.schemas.followups import FollowUp
from chalicelib.schemas.leads import HistoryEntry
from chalicelib.schemas.schedule import Appointment
from tests.test_leads import lead_body

LATEST = leads_db.LATEST
# what a consultant writes after a call: about 60 characters
NOTE = "电话沟通: 家长对周末的英语课感兴趣, 想先带孩子来试听一次, 约了下周六上午十点到校参观, 要准备课程介绍。"


@pytest.fixture
def sales(school):
    """Alice's lead is seen by her and her supervisor, not by Carol (another team)."""
    school.supervisor = school.staff("supervisor")
    school.alice = school.staff("consultant", display_name="顾问Alice", supervisor_id=school.supervisor.user["id"])
    school.carol = school.staff("consultant", display_name="顾问Carol")
    school.manager = school.staff("manager")
    return school


def _seed_follow_ups(school, lead, n):
    """n follow-ups written straight to the table, a minute apart; newest first."""
    start = clock.now() - timedelta(days=30)
    made = []
    with FollowUpItem.batch_write() as batch:
        for i in range(n):
            at = start + timedelta(minutes=i)
            f = FollowUp(
                id=ids.new_id(),
                lead_id=lead["id"],
                lead_name=lead["name"],
                campus_id=lead["campus_id"],
                method="phone",
                content=f"{NOTE} #{i}",
                followed_at=at,
                by=school.alice.user["id"],
                by_name="顾问Alice",
                created_at=at,
            )
            batch.save(followups_db.follow_up_item(school.slug, f))
            made.append(f.id)
    return made[::-1]


def _seed_appointments(school, lead, n):
    made = []
    with AppointmentItem.batch_write() as batch:
        for i in range(n):
            at = clock.now() + timedelta(days=i + 1)
            a = Appointment(
                id=f"{lead['id']}-{ids.new_id()}",
                lead_id=lead["id"],
                lead_name=lead["name"],
                kind="visit",
                at=at,
                campus_id=lead["campus_id"],
                owner_id=school.alice.user["id"],
                status="booked",
                booked_by=school.alice.user["id"],
                created_at=clock.now(),
            )
            batch.save(schedule_db.appointment_item(school.slug, a))
            made.append(a.id)
    return sorted(made, reverse=True)  # the latest booked first: the ids sort by booking time


def _seed_history(school, lead, n):
    pk = f"T#{school.slug}#LEAD#{lead['id']}"
    start = clock.now() + timedelta(seconds=1)  # after the lead's creation, as a lead's changes come
    with LeadHistoryItem.batch_write() as batch:
        for i in range(n):
            entry = HistoryEntry(at=start + timedelta(minutes=i), by=None, action="edited", details={"n": i})
            batch.save(leads_db.history_item(pk, entry, ids.new_id()))


def _seed_links(school, lead, contracts, cards):
    """Contract and card links in the learner's partition (ids in key order)."""
    pk = keys.lead_pk(school.slug, lead["id"])
    made = {"contract_ids": sorted(ids.new_id() for _ in range(contracts))}
    made["card_ids"] = sorted(ids.new_id() for _ in range(cards))
    with MemberLinkItem.batch_write() as batch:
        for i in made["contract_ids"]:
            batch.save(MemberLinkItem(pk, keys.contract_link_sk(i), other_id=i, at=clock.iso(clock.now())))
        for i in made["card_ids"]:
            batch.save(MemberLinkItem(pk, keys.card_link_sk(i), other_id=i, at=clock.iso(clock.now())))
    return made


def _page_reads(rec, lead_id):
    """The recorded reads of the lead's partition: (calls, read units by AWS's rules)."""
    calls = [
        c
        for c in rec.calls
        if c.operation in capacity.READ_OPERATIONS and lead_id in str(c.params.get("ExpressionAttributeValues", ""))
    ]
    return calls, sum(capacity.cost_call(c).rru for c in calls)


def _rru(rec):
    return sum(capacity.cost_call(c).rru for c in rec.calls if c.operation in capacity.READ_OPERATIONS)


def test_the_page_of_a_lead_with_300_follow_ups_reads_what_it_reads_with_none(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body
    with telemetry.record() as none:
        empty = sales.alice.get(f"/leads/{lead['id']}")
    assert empty.status_code == 200 and empty.json_body["follow_ups"] == []
    assert empty.json_body["follow_ups_cursor"] is None
    newest = _seed_follow_ups(sales, lead, 300)
    with telemetry.record() as many:
        full = sales.alice.get(f"/leads/{lead['id']}").json_body
    assert [f["id"] for f in full["follow_ups"]] == newest[:LATEST]  # the latest, newest first
    assert full["follow_ups_cursor"]
    small_calls, small_rru = _page_reads(none, lead["id"])
    big_calls, big_rru = _page_reads(many, lead["id"])
    # the same bounded Queries on the base table, eventually consistent, never a Scan
    assert [c.operation for c in big_calls] == [c.operation for c in small_calls]
    assert "Scan" not in many.operations
    assert all(c.operation == "Query" and "IndexName" not in c.params for c in big_calls)
    assert all(c.params["Limit"] <= leads_db.PARTS_CAP and not c.params.get("ConsistentRead") for c in big_calls)
    read = sum(len(c.response["Items"]) for c in big_calls)
    assert read <= 1 + 3 * LATEST  # the lead, 5 follow-ups, and nothing else here
    # read units by AWS's rules: the page, and the whole request
    assert big_rru <= 1.1 * small_rru, (small_rru, big_rru)
    assert _rru(many) <= 1.1 * _rru(none), (_rru(none), _rru(many))


def test_the_follow_ups_page_on_from_the_lead_page_returns_all_300_exactly_once(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body
    newest = _seed_follow_ups(sales, lead, 300)
    detail = sales.alice.get(f"/leads/{lead['id']}").json_body
    seen = [f["id"] for f in detail["follow_ups"]]
    cursor = detail["follow_ups_cursor"]
    pages = 0
    while cursor:
        page = sales.alice.get(f"/follow-ups?lead={lead['id']}&limit=100&cursor={cursor}").json_body
        seen += [f["id"] for f in page["items"]]
        cursor, pages = page["next_cursor"], pages + 1
    assert seen == newest  # every one, once, newest first
    assert pages <= 4


def test_history_and_appointments_show_the_latest_and_page_the_rest(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body  # its history: "created"
    _seed_history(sales, lead, 12)
    booked = _seed_appointments(sales, lead, 8)
    with telemetry.record() as rec:
        detail = sales.alice.get(f"/leads/{lead['id']}").json_body
    calls, _ = _page_reads(rec, lead["id"])
    # the lead and 5 entries; the appointments' Query reads up to LINKS_FIRST + 1 more appointments
    # when the lead has fewer links (and a birthday marker)
    assert sum(len(c.response["Items"]) for c in calls) <= 1 + LATEST + leads_db.reading.LINKS_FIRST + 1 + LATEST
    # the latest history entries, oldest first as the page always showed them
    assert [h["details"].get("n") for h in detail["history"]] == [7, 8, 9, 10, 11]
    assert [a["id"] for a in detail["appointments"]] == booked[:LATEST]
    history, cursor = [], None
    while True:
        query = f"?limit=4&cursor={cursor}" if cursor else "?limit=4"
        page = sales.alice.get(f"/leads/{lead['id']}/history{query}").json_body
        history += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # newest first, each once; the last, the lead's creation (kept on the lead, not an item)
    assert [h["action"] for h in history] == ["edited"] * 12 + ["created"]
    assert [h["details"]["n"] for h in history[:-1]] == list(range(11, -1, -1))
    assert history[-1]["by"] == sales.alice.user["id"] and history[-1]["at"] == lead["created_at"]
    # from the page's cursor on: the older entries only
    rest = sales.alice.get(f"/leads/{lead['id']}/history?cursor={detail['history_cursor']}").json_body
    assert [h["details"].get("n") for h in rest["items"]] == [6, 5, 4, 3, 2, 1, 0, None]
    more = sales.alice.get(f"/leads/{lead['id']}/appointments?cursor={detail['appointments_cursor']}").json_body
    assert [a["id"] for a in more["items"]] == booked[LATEST:] and more["next_cursor"] is None
    everything = sales.alice.get(f"/leads/{lead['id']}/appointments?limit=100").json_body
    assert [a["id"] for a in everything["items"]] == booked


def test_the_paged_lists_are_refused_like_the_lead_page(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body
    _seed_follow_ups(sales, lead, LATEST + 2)
    _seed_appointments(sales, lead, 2)
    mine = sales.alice.get(f"/leads/{lead['id']}").json_body
    for path in ("", "/history", "/appointments"):
        refused = sales.carol.get(f"/leads/{lead['id']}{path}")  # another team's consultant
        assert refused.status_code == 404 and refused.json_body["error"]["code"] == "LEAD_NOT_FOUND", path
        assert sales.supervisor.get(f"/leads/{lead['id']}{path}").status_code == 200, path  # Alice's supervisor
    assert sales.carol.get(f"/follow-ups?lead={lead['id']}").status_code == 404
    # a cursor is bound to its list: the history's cannot page the appointments
    cursor = sales.alice.get(f"/leads/{lead['id']}/history?limit=1").json_body["next_cursor"]
    assert sales.alice.get(f"/leads/{lead['id']}/appointments?cursor={cursor}").status_code == 400
    assert sales.alice.get(f"/follow-ups?lead={lead['id']}&cursor={mine['follow_ups_cursor']}").status_code == 200


def test_the_paged_lists_count_as_customer_reads(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body
    _seed_history(sales, lead, 3)
    from chalicelib.api.routing import REGISTRY

    reads = {(s.method, s.path): s.reads_customers for s in REGISTRY}
    assert reads[("GET", "/leads/{lead_id}/history")] and reads[("GET", "/leads/{lead_id}/appointments")]


def test_a_learner_with_many_links_still_gets_them_all_and_the_latest_appointments(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body
    links = _seed_links(sales, lead, contracts=6, cards=8)  # more than the appointments' Query reads first
    booked = _seed_appointments(sales, lead, 7)
    with telemetry.record() as rec:
        detail = sales.alice.get(f"/leads/{lead['id']}").json_body
    assert detail["contract_ids"] == links["contract_ids"] and detail["card_ids"] == links["card_ids"]
    assert detail["truncated"] == []
    assert [a["id"] for a in detail["appointments"]] == booked[:LATEST]
    rest = sales.alice.get(f"/leads/{lead['id']}/appointments?cursor={detail['appointments_cursor']}").json_body
    assert [a["id"] for a in rest["items"]] == booked[LATEST:]
    calls, _ = _page_reads(rec, lead["id"])
    assert len(calls) == len(leads_db.reading._RANGES) + 1  # one more Query for the links past the first 10


def test_more_links_than_the_page_shows_are_named_and_the_appointments_still_reachable(sales):
    lead = sales.alice.post("/leads", lead_body()).json_body
    _seed_links(sales, lead, contracts=30, cards=30)
    booked = _seed_appointments(sales, lead, 3)
    detail = sales.alice.get(f"/leads/{lead['id']}").json_body
    assert detail["truncated"] == ["links"]
    assert len(detail["contract_ids"]) + len(detail["card_ids"]) == leads_db.PARTS_CAP
    shown = [a["id"] for a in detail["appointments"]]
    more = sales.alice.get(f"/leads/{lead['id']}/appointments?cursor={detail['appointments_cursor']}").json_body
    assert shown + [a["id"] for a in more["items"]] == booked
