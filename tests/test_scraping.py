"""Anti-scraping (智能预警): a read of customer data weighs the records it returned, every route
that returns customer data counts, and a request is refused in its path once the caller's
window is spent (the stream then freezes the account)."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from chalicelib.api.routing import REGISTRY
from chalicelib.db import keys
from chalicelib.db import reports as reports_db
from chalicelib.domain import audit, clock
from tests.conftest import without_quiet_hours
from tests.test_cards import member_with_contract
from tests.test_leads import lead_body
from tests.test_streams import Tap, lambda_like


def _noon() -> datetime:
    """The last 12:00 in Shanghai (04:00 UTC) up to now: every booking and follow-up of a test
    falls on the same school day, and never after the wall clock (a token signed now would have
    expired at a noon still to come: the test failed between 00:00 and 04:00 UTC)."""
    now = datetime.now(UTC)
    noon = now.replace(hour=4, minute=0, second=5, microsecond=0)
    return noon if noon <= now else noon - timedelta(days=1)


def _weights(school, user_id: str) -> dict[str, int]:
    """Route -> the anti-scraping weight its requests by this user carried (from the audit)."""
    entries = school.admin.get(f"/audit?user={user_id}&limit=100").json_body["items"]
    found: dict[str, int] = {}
    for entry in entries:
        found[entry["route"]] = found.get(entry["route"], 0) + entry["weight"]
    return found


def _minute_reads(tenant: str, user_id: str, at: datetime) -> int:
    (_, minute, _), *_ = audit.windows(at)
    return int(
        reports_db.get_many([(keys.access_pk(tenant, user_id), minute)])
        .get((keys.access_pk(tenant, user_id), minute), {})
        .get("weight", 0)
    )


def test_an_export_of_n_rows_adds_n_to_the_read_counters(school, dynamodb_endpoint, tmp_path):
    consultant, manager = school.staff("consultant"), school.staff("manager")
    for name in ("张一", "张二", "张三"):
        assert consultant.post("/leads", lead_body(name=name)).status_code == 201
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    at = datetime.now(UTC).replace(second=5, microsecond=0)
    with clock.frozen(at):
        export = manager.get("/leads/export?format=csv")
        assert export.status_code == 200
        assert export.body.decode("utf-8").count("张") == 3
        lambda_like(tap.drain())
    assert _weights(school, manager.user["id"])["/leads/export"] == 3  # not a flat 20
    assert _minute_reads(school.slug, manager.user["id"], at) == 3


def test_an_export_bigger_than_what_the_window_has_left_is_refused_whole(school):
    school.admin.patch("/settings/security", {"reads_per_minute": 2})
    consultant, manager = school.staff("consultant"), school.staff("manager")
    for name in ("李一", "李二", "李三"):
        consultant.post("/leads", lead_body(name=name))
    refused = manager.get("/leads/export?format=csv")
    assert refused.status_code == 423
    error = refused.json_body["error"]
    assert error["code"] == "EXPORT_OVER_READ_LIMIT" and "3" in error["message"] and "2 more" in error["message"]
    assert "李" not in refused.body.decode()  # nothing of the rows was served
    assert _weights(school, manager.user["id"])["/leads/export"] == 0  # and nothing counted: the filter can narrow
    assert manager.get("/leads/export?format=csv&q=李一").status_code == 200


def test_paging_the_pool_is_refused_at_the_limit_and_the_account_then_freezes(school, dynamodb_endpoint, tmp_path):
    school.admin.patch("/settings/security", {"reads_per_minute": 4})
    owner, scraper = school.staff("consultant"), school.staff("consultant", display_name="翻页的人")
    for n in range(10):
        assert owner.post("/leads", lead_body(name=f"公海{n}", to_pool=True)).status_code == 201
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    with clock.frozen(datetime.now(UTC).replace(second=5, microsecond=0)):
        me = school.sign_in(scraper.user["username"], scraper.password)
        served, cursor, refused = 0, None, None
        for _ in range(10):
            page = me.get("/leads?scope=pool&limit=2" + (f"&cursor={cursor}" if cursor else ""))
            lambda_like(tap.drain())  # the stream keeps up between pages
            if page.status_code != 200:
                refused = page
                break
            served += len(page.json_body["items"])
            cursor = page.json_body["next_cursor"]
        assert served == 4  # the limit, not 10 (before: a page of 2 weighed 1)
        assert refused.status_code == 423 and refused.json_body["error"]["code"] == "READ_LIMIT_REACHED"
        assert "公海" not in refused.body.decode()
        frozen = me.get("/me")  # the refused attempt counted: the stream froze the account
    assert frozen.status_code == 423 and frozen.json_body["error"]["code"] == "ACCOUNT_FROZEN"


def test_an_admin_is_never_refused_for_reading(school, dynamodb_endpoint, tmp_path):
    school.admin.patch("/settings/security", {"reads_per_minute": 1})
    lead = school.admin.post("/leads", lead_body(campus_id=school.campus["id"])).json_body
    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    with clock.frozen(datetime.now(UTC).replace(second=5, microsecond=0)):
        for _ in range(3):
            assert school.admin.get(f"/leads/{lead['id']}").status_code == 200
            lambda_like(tap.drain())


def test_every_route_that_returns_customer_data_counts_what_it_returned(school):
    without_quiet_hours(school)
    alice = school.staff("consultant", display_name="顾问Alice")
    front, manager = school.staff("frontdesk"), school.staff("manager")
    with clock.frozen(_noon()):  # sessions signed in before: a token's expiry is checked on the wall clock too
        lead = alice.post("/leads", lead_body(name="被数的孩子", phone="13800138111")).json_body
        later = (clock.now() + timedelta(hours=1)).isoformat()
        follow_up = {"method": "phone", "content": "约了参观", "next_follow_up_at": later}
        assert alice.post(f"/leads/{lead['id']}/follow-ups", follow_up).status_code == 201
        visit = {"kind": "visit", "at": (clock.now() + timedelta(hours=2)).isoformat()}
        assert alice.post(f"/leads/{lead['id']}/appointments", visit).status_code == 201
        event = school.admin.post(
            "/events",
            {
                "name": "亲子派对",
                "starts_at": (clock.now() + timedelta(days=2)).isoformat(),
                "capacity": 5,
                "location": "大厅",
            },
        )
        assert event.status_code == 201, event.body
        event = event.json_body
        booked = alice.post(f"/leads/{lead['id']}/appointments", {"kind": "event", "event_id": event["id"]})
        assert booked.status_code == 201
        message = alice.post(
            "/messages",
            {"channel": "sms", "purpose": "notice", "text": "您好", "recipients": {"lead_ids": [lead["id"]]}},
        ).json_body
        today = clock.now().astimezone(UTC).date().isoformat()
        contract = alice.post(
            "/contracts",
            {"lead_ids": [lead["id"]], "credits": "10", "price": "100.00", "starts_on": today, "ends_on": "2099-01-01"},
        ).json_body
        card = front.post(
            "/cards", {"holder_lead_id": lead["id"], "contract_ids": [contract["id"]], "holder_phone": "13800138111"}
        ).json_body
        reads = {
            "/follow-ups": manager.get("/follow-ups"),
            "/appointments": manager.get("/appointments"),
            "/dashboard/today": manager.get("/dashboard/today"),
            "/events/{event_id}/sign-in-sheet": manager.get(f"/events/{event['id']}/sign-in-sheet"),
            "/messages/{message_id}": manager.get(f"/messages/{message['id']}"),
            "/cards/{card_id}": manager.get(f"/cards/{card['id']}"),
        }
    assert {route: answer.status_code for route, answer in reads.items()} == dict.fromkeys(reads, 200)
    weights = _weights(school, manager.user["id"])
    assert {route: weights.get(route, 0) for route in reads} == {
        "/follow-ups": 1,
        "/appointments": 2,  # the visit and the event booking
        "/dashboard/today": 2,  # the follow-up due today and the visit
        "/events/{event_id}/sign-in-sheet": 1,
        "/messages/{message_id}": 1,
        "/cards/{card_id}": 1,
    }
    assert _weights(school, manager.user["id"]).get("/events", 0) == 0  # a write weighs nothing


def test_a_card_shows_its_holder_phone_masked_like_every_phone(school):
    alice, front = school.staff("consultant"), school.staff("frontdesk")
    lead, contract = member_with_contract(alice)
    opened = front.post(
        "/cards", {"holder_lead_id": lead["id"], "contract_ids": [contract["id"]], "holder_phone": "13900139222"}
    )
    assert opened.status_code == 201 and opened.json_body["holder_phone"] == "139****9222"
    card = opened.json_body
    shown = alice.get(f"/cards/{card['id']}")
    assert shown.json_body["holder_phone"] == "139****9222" and "13900139222" not in shown.body.decode()
    found = alice.get(f"/cards?lead_id={lead['id']}")
    assert found.status_code == 200 and "13900139222" not in found.body.decode()
    changed = front.patch(f"/cards/{card['id']}", {"holder_phone": "+86 139 0013 9333"})
    assert changed.json_body["holder_phone"] == "139****9333"
    history = alice.get(f"/cards/{card['id']}/history").body.decode()
    assert "9333" in history and "13900139333" not in history and "139 0013 9333" not in history


CUSTOMER_FIELDS = {"lead_name", "lead_names", "holder_name", "holder_phone", "guardians", "phones"}
CUSTOMER_MODELS = {"RecipientOut", "OutboxEntry", "DueLead"}  # a recipient's or a lead's name and number


def _carries_customers(tp: typing.Any, seen: set) -> bool:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return False
        seen.add(tp)
        if tp.__name__ in CUSTOMER_MODELS or tp.__name__.startswith("Lead") and "name" in tp.model_fields:
            return True
        return any(
            name in CUSTOMER_FIELDS or _carries_customers(field.annotation, seen)
            for name, field in tp.model_fields.items()
        )
    return any(_carries_customers(arg, seen) for arg in typing.get_args(tp))


def test_every_get_route_whose_answer_carries_a_lead_name_or_phone_is_declared_a_customer_read():
    import app  # noqa: F401 - registers every route

    carrying = {
        spec.path
        for spec in REGISTRY
        if spec.method == "GET" and spec.response is not None and _carries_customers(spec.response, set())
    }
    assert {"/leads", "/leads/{lead_id}", "/cards/{card_id}", "/follow-ups", "/appointments"} <= carrying
    undeclared = {spec.path for spec in REGISTRY if spec.path in carrying and spec.method == "GET"} - {
        spec.path for spec in REGISTRY if spec.reads_customers
    }
    assert undeclared == set()
    # and the files and pages whose models the registry cannot see
    files = {"/leads/export", "/leads/imports/{import_id}/errors", "/events/{event_id}/sign-in-sheet"}
    assert files | {"/dashboard/today", "/messages/{message_id}"} <= {s.path for s in REGISTRY if s.reads_customers}
    assert not any(spec.reads_customers for spec in REGISTRY if spec.roles is None)  # public routes never do
