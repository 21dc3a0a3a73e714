"""Input bounds (issue 13, items 3 and 4): no control character and no date outside
1900-01-01..2100-12-31 gets past the request models, each answered 400 naming the field;
a card frozen far ahead can still be unfrozen."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.test_cards import _card, _contract
from tests.test_leads import lead_body


@pytest.fixture
def desk(school):
    """A manager, a consultant with a lead, a front desk; a card with a contract; a class."""
    school.manager = school.staff("manager")
    school.alice = school.staff("consultant", display_name="顾问Alice")
    school.front = school.staff("frontdesk")
    school.lead = school.alice.post(
        "/leads", lead_body(name="李小龙", phone=f"139{uuid.uuid4().int % 10**8:08d}")
    ).json_body
    school.contract = _contract(school.alice, [school.lead["id"]], credits="5")
    school.card = _card(school.front, school.lead["id"], [school.contract["id"]])
    course = school.manager.post("/courses", {"name": "少儿美术", "lesson_cost": "1"}).json_body
    today = date.today()
    school.cls = school.manager.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": school.campus["id"],
            "teacher": "刘老师",
            "capacity": 5,
            "slots": [{"weekday": 1, "start": "10:00", "end": "11:00"}],
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=30)).isoformat(),
        },
    ).json_body
    return school


def _fields(response) -> list[str]:
    return [d.get("field") for d in response.json_body["error"]["details"]]


FAR_DATES = [
    ("GET", "/cards/{card}/ledger?from=0001-01-01", None, "from"),
    ("GET", "/cards/{card}/ledger?from=9999-12-31&to=9999-12-31", None, "from"),
    ("GET", "/appointments?date=0001-01-01", None, "date"),
    ("GET", "/follow-ups?from=0001-01-01T00:00:00&to=9999-12-31T00:00:00", None, "from"),
    ("GET", "/leads?created_from=0001-01-01T00:00:00&created_to=9999-12-31T23:59:59", None, "created_from"),
    ("GET", "/contracts?from=9999-12-31&to=9999-12-31", None, "from"),
    ("POST", "/classes/{cls}/sessions", {"from": "0001-01-01", "to": "0001-01-31"}, "from"),
    (
        "POST",
        "/leads/{lead}/follow-ups",
        {"method": "phone", "content": "回访", "followed_at": "0001-01-01T00:00:00"},
        "followed_at",
    ),
    ("POST", "/cards/{card}/freeze", {"reason": "出国", "until": "9999-12-31"}, "until"),
    ("POST", "/leads", lead_body(birthday="1850-01-01"), "birthday"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), FAR_DATES, ids=[f"{m} {p}" for m, p, _, _ in FAR_DATES])
def test_a_date_outside_1900_to_2100_is_a_400_naming_the_field(desk, method, path, body, field):
    url = path.format(card=desk.card["id"], cls=desk.cls["id"], lead=desk.lead["id"])
    response = desk.manager.request(method, url, body)
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "VALIDATION_FAILED"
    assert field in _fields(response)


def test_a_birthday_or_a_contact_in_the_future_is_a_400_naming_the_field(desk, client):
    from tests.test_public import apply, form, new_key

    next_year = (date.today() + timedelta(days=366)).isoformat()
    lead = desk.alice.post("/leads", lead_body(birthday=next_year))
    assert lead.status_code == 400 and "birthday" in _fields(lead)
    patched = desk.alice.patch(f"/leads/{desk.lead['id']}", {"birthday": next_year})
    assert patched.status_code == 400 and "birthday" in _fields(patched)
    web = apply(client, new_key(desk)["key"], form(birthday=next_year))
    assert web.status_code == 400 and "birthday" in _fields(web)
    contact = {"method": "phone", "content": "回访", "followed_at": f"{next_year}T10:00:00"}
    followed = desk.alice.post(f"/leads/{desk.lead['id']}/follow-ups", contact)
    assert followed.status_code == 400 and "followed_at" in _fields(followed)
    today = desk.alice.patch(f"/leads/{desk.lead['id']}", {"birthday": date.today().isoformat()})
    assert today.status_code == 200, today.body


# --- control characters ------------------------------------------------------------


def test_an_import_row_with_a_control_character_ends_done_with_that_row_in_the_error_sheet(school):
    from tests.test_imports import _rejected

    manager = school.staff("manager")
    text = "姓名,电话,备注\n周一,13000130101,周末上课\n吴二,13000130102,坏\u0001备注\n郑三\u0000,13000130103,\n"
    made = manager.post("/leads/imports", text.encode("utf-8"), headers={"Content-Type": "application/octet-stream"})
    assert made.status_code == 201, made.body
    result = manager.get(f"/leads/imports/{made.json_body['id']}").json_body
    assert result["status"] == "done", result
    assert (result["counts"]["imported"], result["counts"]["invalid"]) == (1, 2)
    rejected = _rejected(manager, result["id"])
    assert [(number, "备注 Notes" in reason, "姓名 Name" in reason) for number, reason, _ in rejected] == [
        (3, True, False),
        (4, False, True),
    ]
    assert all("U+000" in reason for _, reason, _ in rejected)
    assert [lead["name"] for lead in manager.get("/leads?scope=pool").json_body["items"]] == ["周一"]


def test_a_control_character_anywhere_in_a_body_or_query_is_a_400_naming_the_field(desk):
    nul_name = desk.alice.post("/leads", lead_body(name="王\u0000小明"))
    assert nul_name.status_code == 400 and "name" in _fields(nul_name)
    assert "U+0000" in nul_name.json_body["error"]["message"]
    nested = desk.alice.post("/leads", lead_body(guardians=[{"name": "王妈妈\u0007", "phones": ["13800138000"]}]))
    assert nested.status_code == 400 and "guardians.0.name" in _fields(nested)
    in_a_list = desk.alice.post("/leads", lead_body(tags=["周末班", "vip\u001b"]))
    assert in_a_list.status_code == 400 and "tags" in _fields(in_a_list)
    assert "item 1" in in_a_list.json_body["error"]["details"][0]["message"]
    label = desk.admin.put("/settings/dictionaries/sources", {"entries": [{"key": "ad", "label": "广告\u0001"}]})
    assert label.status_code == 400 and "entries.0.label" in _fields(label)
    query = desk.manager.get("/leads?q=%01%E7%8E%8B")
    assert query.status_code == 400 and "q" in _fields(query)
    assert [lead["name"] for lead in desk.alice.get("/leads?scope=mine").json_body["items"]] == ["李小龙"]


def test_line_breaks_tabs_and_chinese_text_are_kept(desk):
    note = "第一行\r\n第二行\n\t缩进 🌱"
    response = desk.alice.post(f"/leads/{desk.lead['id']}/follow-ups", {"method": "phone", "content": f"回访：{note}"})
    assert response.status_code == 201, response.body
    assert response.json_body["content"] == f"回访：{note}"


PATH_IDS = [
    ("GET", "/leads/{bad}"),
    ("PATCH", "/leads/{bad}"),
    ("GET", "/cards/{bad}"),
    ("GET", "/cards/{bad}/ledger"),
    ("POST", "/cards/{bad}/unfreeze"),
    ("GET", "/contracts/{bad}"),
    ("GET", "/leads/imports/{bad}"),
    ("GET", "/leads/imports/{bad}/errors"),
    ("GET", "/settings/dictionaries/{bad}"),
    ("POST", "/classes/{bad}/sessions"),
    ("GET", "/events/{bad}/sign-in-sheet"),
    ("DELETE", "/appointments/{bad}"),
    ("GET", "/users/{bad}"),
    ("GET", "/messages/{bad}"),
    ("PATCH", "/campuses/{bad}"),
]


def test_a_control_character_in_a_path_id_is_a_client_error(school):
    for method, path in PATH_IDS:
        for bad in ("%00", "abc%01def", "%1F"):
            body = {} if method in ("POST", "PATCH") else None
            response = school.admin.request(method, path.format(bad=bad), body)
            assert response.status_code in (400, 404), (method, path, bad, response.body)


def test_a_nul_in_the_public_web_form_is_refused_and_the_export_still_works(school, client):
    from tests.test_exports import XLSX
    from tests.test_public import apply, form, new_key

    key = new_key(school)["key"]
    refused = apply(client, key, form(message="想了解\u0000周末班"))
    assert refused.status_code == 400, refused.body
    assert "message" in _fields(refused)
    taken = apply(client, key, form(message="想了解周末班\r\n谢谢"))
    assert taken.status_code == 202, taken.body
    export = school.admin.request("GET", "/leads/export?format=xlsx", headers={"Accept": XLSX})
    assert export.status_code == 200, export.body


# --- card freeze ---------------------------------------------------------------------


def test_a_freeze_may_last_at_most_the_schools_limit(desk):
    card = desk.card["id"]
    assert desk.admin.get("/settings/cards").json_body["max_freeze_days"] == 366
    too_far = (date.today() + timedelta(days=400)).isoformat()
    refused = desk.front.post(f"/cards/{card}/freeze", {"reason": "出国", "until": too_far})
    assert refused.status_code == 400 and "until" in _fields(refused)
    assert desk.front.get(f"/cards/{card}").json_body["status"] == "active"
    assert desk.admin.patch("/settings/cards", {"max_freeze_days": 500}).status_code == 200
    frozen = desk.front.post(f"/cards/{card}/freeze", {"reason": "出国", "until": too_far})
    assert frozen.status_code == 200 and frozen.json_body["frozen_until"] == too_far


def test_a_card_stored_frozen_until_9999_can_be_unfrozen(desk):
    from pynamodb.expressions.operand import Path

    from chalicelib.db import keys
    from chalicelib.db.items import CardItem

    card, contract = desk.card["id"], desk.contract["id"]
    assert desk.front.post(f"/cards/{card}/freeze", {"reason": "长期请假"}).status_code == 200
    # as an earlier version let it be stored: frozen for ever, a contract that never ends
    CardItem(keys.card_pk(desk.slug, card), keys.CARD_SK).update(
        actions=[CardItem.frozen_until.set("9999-12-31"), Path(["lots", contract, "ends_on"]).set("9999-12-31")]
    )
    assert desk.front.get(f"/cards/{card}").json_body["frozen_until"] == "9999-12-31"
    thawed = desk.front.post(f"/cards/{card}/unfreeze")
    assert thawed.status_code == 200, thawed.body
    assert thawed.json_body["status"] == "active" and thawed.json_body["frozen_until"] is None


def test_every_request_body_and_query_gets_the_input_bounds():
    import app  # noqa: F401 - registers every route
    from chalicelib.api.routing import REGISTRY
    from chalicelib.schemas.common import StrictModel

    models = {(spec.method, spec.path): m for spec in REGISTRY for m in (spec.body, spec.query) if m is not None}
    assert ("POST", "/public/applications") in models
    assert {route for route, model in models.items() if not issubclass(model, StrictModel)} == set()


def test_text_stored_before_the_bounds_is_still_read_and_written_around(desk):
    """The bounds refuse what a caller sends, never what is already stored."""
    from chalicelib.db import config as config_db
    from tests.test_exports import XLSX

    entries = [{"key": "ad", "label": "广告\u0001"}, {"key": "referral", "label": "转介绍"}]
    config_db.put_dictionary(desk.slug, "sources", entries, must_not_use=set())
    listed = desk.admin.get("/settings/dictionaries/sources")
    assert listed.status_code == 200 and listed.json_body["entries"][0]["label"] == "广告\u0001"
    lead = desk.alice.post("/leads", lead_body(name="周小舟", source="ad"))
    assert lead.status_code == 201, lead.body
    assert desk.admin.get("/leads/import-template", headers={"Accept": XLSX}).status_code == 200


def test_a_number_for_a_day_or_true_for_a_number_is_refused_not_reinterpreted(school):
    # GIVEN pydantic would read 0 as 1970-01-01 and true as 1
    manager = school.staff("manager")
    for number in ("0", "2.2250738585e-313", "1700000000"):
        as_day = manager.get(f"/sessions?date={number}")
        assert as_day.status_code == 400, as_day.body
        assert as_day.json_body["error"]["details"][0]["field"] == "date"
    as_number = school.admin.patch("/settings/cards", {"max_sub_cards": False})
    assert as_number.status_code == 400, as_number.body
    assert as_number.json_body["error"]["details"][0]["field"] == "max_sub_cards"
    # AND the ordinary forms still work
    assert manager.get("/sessions?date=2026-12-01").status_code == 200
    assert school.admin.patch("/settings/cards", {"max_sub_cards": 3}).json_body["max_sub_cards"] == 3


def test_a_range_that_runs_backwards_is_a_400_not_a_refusal_from_the_table(school):
    consultant = school.staff("consultant")
    backwards = consultant.get("/follow-ups?from=2026-12-04T19:22:10.946Z&to=2026-12-04T19:22:09.824Z")
    assert backwards.status_code == 400, backwards.body
    assert backwards.json_body["error"]["details"][0]["field"] in ("to", "query")
    in_school_time = consultant.get("/follow-ups?from=2026-12-04T19:22:10&to=2026-12-04T19:22:09Z")
    assert in_school_time.status_code in (200, 400), in_school_time.body
