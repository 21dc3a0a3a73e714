"""Website integration: public API keys, the web form's applications, rate limits, the honeypot."""

from __future__ import annotations

import concurrent.futures
import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import clock
from chalicelib.errors import ThrottledError


def _phone() -> str:
    return "137" + "".join(secrets.choice("0123456789") for _ in range(8))


def form(phone=None, **extra):
    return {
        "learner_name": "王小明",
        "guardian_name": "王妈妈",
        "phone": phone or _phone(),
        "programme": "少儿英语",
        "message": "想了解周末班",
        "consent": True,
        **extra,
    }


def public(client, method, path, key=None, body=None, headers=None):
    sent = {"Content-Type": "application/json", **({"X-Api-Key": key} if key else {}), **(headers or {})}
    data = json.dumps(body, ensure_ascii=False) if body is not None else b""
    return client.http.request(method, path, headers=sent, body=data)


def apply(client, key, body=None, headers=None):
    return public(client, "POST", "/public/applications", key, body if body is not None else form(), headers)


def new_key(school, **fields):
    body = {"name": "官网报名表", "campus_id": school.campus["id"], **fields}
    response = school.admin.post("/settings/api-keys", body)
    assert response.status_code == 201, response.body
    return response.json_body


def leads_with(school, phone):
    return school.admin.get(f"/leads?q={phone}").json_body["items"]


def notes(session):
    return [n["message"] for n in session.get("/notifications").json_body["items"]]


@pytest.fixture
def web(school):
    school.duty = school.staff("consultant", display_name="值班顾问小李")
    school.other = school.staff("consultant", display_name="顾问小张")
    school.manager = school.staff("manager", display_name="店长老王")
    school.key = new_key(school)["key"]
    return school


def _set_duty(school, user_id):
    response = school.admin.patch(f"/campuses/{school.campus['id']}", {"duty_consultant_id": user_id})
    assert response.status_code == 200, response.body
    return response.json_body


# --- keys -------------------------------------------------------------------------------


def test_an_admin_creates_a_key_shown_once_and_listed_by_prefix(school):
    created = new_key(school, allowed_origins=["https://www.School.cn/"], rate_limit_per_minute=30)
    assert created["key"].startswith("pk_") and len(created["key"]) > 40
    assert created["prefix"] == created["key"][:7]
    assert created["allowed_origins"] == ["https://www.school.cn"]
    listed = school.admin.get("/settings/api-keys").json_body["items"]
    assert [(k["id"], k["name"], k["prefix"], k["revoked"]) for k in listed] == [
        (created["id"], "官网报名表", created["prefix"], False)
    ]
    assert listed[0]["rate_limit_per_minute"] == 30 and listed[0]["campus_id"] == school.campus["id"]
    text = school.admin.get("/settings/api-keys").body.decode()
    assert created["key"] not in text and "hash" not in text


def test_keys_are_paginated(school):
    for n in range(3):
        new_key(school, name=f"key {n}")
    first = school.admin.get("/settings/api-keys?limit=2").json_body
    second = school.admin.get(f"/settings/api-keys?limit=2&cursor={first['next_cursor']}").json_body
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert {k["name"] for k in first["items"] + second["items"]} == {"key 0", "key 1", "key 2"}


def test_only_admins_manage_keys_and_a_key_needs_a_real_campus(school):
    key = new_key(school)
    for role in ("consultant", "manager"):
        staff = school.staff(role)
        assert staff.post("/settings/api-keys", {"name": "x", "campus_id": school.campus["id"]}).status_code == 403
        assert staff.get("/settings/api-keys").status_code == 403
        assert staff.delete(f"/settings/api-keys/{key['id']}").status_code == 403
    response = school.admin.post("/settings/api-keys", {"name": "x", "campus_id": "nope"})
    assert response.status_code == 400
    bad_origin = school.admin.post(
        "/settings/api-keys", {"name": "x", "campus_id": school.campus["id"], "allowed_origins": ["not a url"]}
    )
    assert bad_origin.status_code == 400
    assert school.admin.delete("/settings/api-keys/unknown").json_body["error"]["code"] == "API_KEY_NOT_FOUND"


def test_public_routes_refuse_a_missing_or_unknown_key(web, client):
    for method, path, body in (("GET", "/public/cohorts", None), ("POST", "/public/applications", form())):
        missing = public(client, method, path, None, body)
        assert missing.status_code == 401 and missing.json_body["error"]["code"] == "API_KEY_REQUIRED"
        unknown = public(client, method, path, "pk_" + secrets.token_urlsafe(32), body)
        assert unknown.status_code == 401 and unknown.json_body["error"]["code"] == "API_KEY_INVALID"
    # the key is checked before the body: a bad body without a key is still a 401
    assert public(client, "POST", "/public/applications", None, {"x": 1}).status_code == 401
    assert web.admin.get("/leads").json_body["items"] == []


def test_a_revoked_key_is_refused_at_once(web, client):
    created = new_key(web)
    assert apply(client, created["key"]).status_code == 202
    assert public(client, "GET", "/public/cohorts", created["key"]).status_code == 200
    assert web.admin.delete(f"/settings/api-keys/{created['id']}").status_code == 204
    refused = apply(client, created["key"])
    assert refused.status_code == 401 and refused.json_body["error"]["code"] == "API_KEY_INVALID"
    assert public(client, "GET", "/public/cohorts", created["key"]).status_code == 401
    listed = {k["id"]: k for k in web.admin.get("/settings/api-keys").json_body["items"]}
    assert listed[created["id"]]["revoked"] is True and listed[created["id"]]["revoked_at"]
    assert web.admin.delete(f"/settings/api-keys/{created['id']}").status_code == 204  # again: no harm
    assert apply(client, web.key).status_code == 202  # the school's other key still works


def test_a_key_reaches_only_its_own_school(web, other_school, client):
    phone = _phone()
    b_lead = other_school.admin.post(
        "/leads",
        {"name": "B 的孩子", "campus_id": other_school.campus["id"], "guardians": [{"name": "B", "phones": [phone]}]},
    ).json_body
    assert apply(client, web.key, form(phone=phone)).status_code == 202
    mine = leads_with(web, phone)
    assert len(mine) == 1 and mine[0]["campus_id"] == web.campus["id"]  # no duplicate across schools
    assert [x["id"] for x in leads_with(other_school, phone)] == [b_lead["id"]]
    history = other_school.admin.get(f"/leads/{b_lead['id']}").json_body["history"]
    assert [h["action"] for h in history] == ["created"]


def test_the_key_decides_even_if_the_form_names_a_tenant(web, client):
    response = apply(client, web.key, form(tenant="someone-else"))
    assert response.status_code == 400  # unknown fields are refused


# --- origins, CORS ------------------------------------------------------------------------


def test_allowed_origins_are_enforced(web, client):
    key = new_key(web, allowed_origins=["https://www.school.cn"])["key"]
    ok = apply(client, key, headers={"Origin": "https://www.school.cn"})
    assert ok.status_code == 202
    for origin in ({"Origin": "https://evil.example"}, {}):
        refused = apply(client, key, headers=origin)
        assert refused.status_code == 403 and refused.json_body["error"]["code"] == "ORIGIN_FORBIDDEN"
    assert len(web.admin.get("/leads").json_body["items"]) == 1
    assert apply(client, web.key, headers={"Origin": "https://anywhere.example"}).status_code == 202


def test_public_routes_answer_any_origin_with_the_key_header_allowed(web, client):
    response = apply(client, web.key, headers={"Origin": "https://www.school.cn"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Api-Key" in response.headers["Access-Control-Allow-Headers"]


# --- rate limits ----------------------------------------------------------------------------


def _minute(second: int) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=5)).replace(second=second, microsecond=0)


def test_a_key_is_rate_limited_per_minute_with_retry_after(web, client):
    key = new_key(web, rate_limit_per_minute=3)["key"]
    start = _minute(15)
    with clock.frozen(start):
        assert [public(client, "GET", "/public/cohorts", key).status_code for _ in range(3)] == [200] * 3
        throttled = public(client, "GET", "/public/cohorts", key)
        assert throttled.status_code == 429
        assert throttled.json_body["error"]["code"] == "RATE_LIMITED"
        assert throttled.headers["Retry-After"] == "45"
        assert apply(client, key).status_code == 429  # every public route counts
        assert public(client, "GET", "/public/cohorts", web.key).status_code == 200  # other keys are not
    with clock.frozen(start + timedelta(seconds=45)):  # the next minute
        assert public(client, "GET", "/public/cohorts", key).status_code == 200
    assert web.admin.get("/leads").json_body["items"] == []


def test_one_address_is_limited_across_keys(web, client):
    keys = [new_key(web)["key"], new_key(web)["key"]]
    with clock.frozen(_minute(1)):
        answers = [public(client, "GET", "/public/cohorts", keys[n % 2]).status_code for n in range(10)]
        assert answers == [200] * 10
        throttled = public(client, "GET", "/public/cohorts", keys[1])  # this key has sent only 5
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "59"


def test_cohorts_are_a_page(web, client):
    response = public(client, "GET", "/public/cohorts?limit=10", web.key)
    assert response.status_code == 200
    assert set(response.json_body) == {"items", "next_cursor"}
    assert public(client, "GET", "/public/cohorts?limit=1000", web.key).status_code == 400


def _cohort(school, campus_id, name="周六上午班", seats=8, **fields):
    programme = school.admin.post("/programmes", {"name": "少儿英语", "kind": "course"}).json_body
    body = {"campus_id": campus_id, "name": name, "starts_on": "2099-03-06", "price": "3600.00", "seats": seats}
    made = school.admin.post(f"/programmes/{programme['id']}/cohorts", {**body, **fields})
    assert made.status_code == 201, made.body
    return made.json_body


def test_the_website_lists_open_cohorts_with_seats_left_and_nothing_staff_only(web, client):
    teacher = web.staff("teacher", display_name="Emma 老师")
    cohort = _cohort(web, web.campus["id"], teacher_id=teacher.user["id"], schedule="每周六 10:00-11:30")
    closed = _cohort(web, web.campus["id"], name="已满班")
    web.admin.patch(f"/cohorts/{closed['id']}", {"status": "closed"})
    listed = public(client, "GET", "/public/cohorts", web.key).json_body["items"]
    assert [(c["id"], c["programme_name"], c["name"], c["seats_left"]) for c in listed] == [
        (cohort["id"], "少儿英语", "周六上午班", 8)
    ]
    shown = listed[0]
    assert shown["teacher_name"] == "Emma 老师" and shown["schedule"] == "每周六 10:00-11:30"
    assert shown["price"] == "3600.00" and shown["campus_name"] == web.campus["name"]
    assert not {"teacher_id", "confirmed", "pending", "enrolments", "created_by"} & set(shown)
    only = public(client, "GET", f"/public/cohorts?programme_id={cohort['programme_id']}", web.key).json_body
    assert [c["id"] for c in only["items"]] == [cohort["id"]]


def test_an_application_for_a_cohort_goes_to_the_cohorts_campus_and_names_it(web, client):
    north = web.admin.post("/campuses", {"name": "北山校区"}).json_body
    duty = web.staff("consultant", display_name="北山值班", campus_ids=[north["id"]])
    web.admin.patch(f"/campuses/{north['id']}", {"duty_consultant_id": duty.user["id"]})
    cohort = _cohort(web, north["id"])
    phone = _phone()
    assert apply(client, web.key, form(phone=phone, programme=None, cohort_id=cohort["id"])).status_code == 202
    [lead] = leads_with(web, phone)
    assert lead["campus_id"] == north["id"] and lead["owner_id"] == duty.user["id"]
    assert lead["intended_courses"] == ["少儿英语", "周六上午班"]
    web.admin.patch(f"/cohorts/{cohort['id']}", {"status": "closed"})
    late = apply(client, web.key, form(cohort_id=cohort["id"]))
    assert late.status_code == 400 and late.json_body["error"]["code"] == "COHORT_NOT_OPEN"
    unknown = apply(client, web.key, form(cohort_id="nope"))
    assert unknown.status_code == 400 and unknown.json_body["error"]["code"] == "COHORT_NOT_OPEN"


# --- applications ---------------------------------------------------------------------------


def test_a_new_application_lands_with_the_duty_consultant_who_is_told(web, client):
    _set_duty(web, web.duty.user["id"])
    phone = _phone()
    response = apply(client, web.key, form(phone=phone, email="wang@example.cn"))
    assert response.status_code == 202
    assert response.json_body["received"] is True
    [lead] = leads_with(web, phone)
    assert (lead["name"], lead["guardians"][0]["name"]) == ("王小明", "王妈妈")
    assert lead["owner_id"] == web.duty.user["id"] and lead["owner_name"] == "值班顾问小李"
    assert lead["source"] == "website" and lead["campus_id"] == web.campus["id"]
    assert lead["intended_courses"] == ["少儿英语"] and lead["notes"] == "想了解周末班"
    assert lead["reclaim_on"] is not None  # protected like any owned lead
    history = web.duty.get(f"/leads/{lead['id']}").json_body["history"]
    assert history[0]["action"] == "created" and history[0]["by"] is None
    assert history[0]["details"]["via"] == "website" and history[0]["details"]["programme"] == "少儿英语"
    assert notes(web.duty) == ["官网报名：新线索「王小明」已分配给您，请尽快联系。"]
    assert notes(web.manager) == [] and notes(web.other) == []


def test_without_a_duty_consultant_it_lands_in_the_pool_and_managers_are_told(web, client):
    phone = _phone()
    assert apply(client, web.key, form(phone=phone)).status_code == 202
    [lead] = leads_with(web, phone)
    assert lead["owner_id"] is None
    assert lead["id"] in {x["id"] for x in web.other.get("/leads?scope=pool").json_body["items"]}
    assert notes(web.manager) == ["官网报名：新线索「王小明」已进入公海，请安排跟进。"]
    assert notes(web.duty) == []


def test_a_duty_consultant_at_their_cap_sends_it_to_the_pool(web, client):
    _set_duty(web, web.duty.user["id"])
    assert web.admin.patch("/settings/leads", {"max_leads_per_consultant": 1}).status_code == 200
    web.duty.post("/leads", {"name": "已有", "guardians": [{"name": "家长", "phones": [_phone()]}]})
    phone = _phone()
    assert apply(client, web.key, form(phone=phone)).status_code == 202
    [lead] = leads_with(web, phone)
    assert lead["owner_id"] is None
    assert len(notes(web.manager)) == 1


def test_the_honeypot_answers_like_success_and_creates_nothing(web, client):
    _set_duty(web, web.duty.user["id"])
    real = apply(client, web.key, form())
    caught = apply(client, web.key, form(website="http://cheap-pills.example"))
    assert caught.status_code == real.status_code == 202
    assert caught.json_body == real.json_body
    assert len(web.admin.get("/leads").json_body["items"]) == 1
    assert len(notes(web.duty)) == 1


def test_consent_is_required(web, client):
    refused = apply(client, web.key, form(consent=False))
    assert refused.status_code == 400 and refused.json_body["error"]["code"] == "CONSENT_REQUIRED"
    body = form()
    del body["consent"]
    assert apply(client, web.key, body).status_code == 400
    bad_phone = apply(client, web.key, form(phone="abc"))
    assert bad_phone.status_code == 400 and bad_phone.json_body["error"]["details"][0]["field"] == "phone"
    assert web.admin.get("/leads").json_body["items"] == []


def test_an_application_with_a_known_phone_makes_no_second_lead_and_tells_the_owner(web, client):
    existing = web.other.post(
        "/leads", {"name": "王小明", "guardians": [{"name": "王妈妈", "phones": ["138 0013 8000"]}]}
    ).json_body
    _set_duty(web, web.duty.user["id"])
    new = apply(client, web.key, form(phone=_phone()))
    again = apply(client, web.key, form(phone="+86 138-0013-8000", programme="美术", message="再问一下"))
    assert again.status_code == new.status_code == 202 and again.json_body == new.json_body  # reveals nothing
    assert [x["id"] for x in leads_with(web, "13800138000")] == [existing["id"]]
    history = web.other.get(f"/leads/{existing['id']}").json_body["history"]
    applied = [h for h in history if h["action"] == "applied_online"]
    assert len(applied) == 1
    assert applied[0]["details"]["programme"] == "美术" and applied[0]["details"]["message"] == "再问一下"
    assert notes(web.other) == ["官网报名：已有线索「王小明」再次在官网提交了报名，请跟进。"]
    assert len(notes(web.duty)) == 1  # only for the really new lead


def test_a_known_phone_in_the_pool_tells_the_duty_consultant(web, client):
    phone = _phone()
    pooled = web.admin.post(
        "/leads",
        {"name": "公海客户", "campus_id": web.campus["id"], "guardians": [{"name": "家长", "phones": [phone]}]},
    ).json_body
    assert pooled["owner_id"] is None
    _set_duty(web, web.duty.user["id"])
    assert apply(client, web.key, form(phone=phone)).status_code == 202
    assert [x["id"] for x in leads_with(web, phone)] == [pooled["id"]]
    assert notes(web.duty) == ["官网报名：已有线索「公海客户」再次在官网提交了报名，请跟进。"]


def test_a_double_submitted_form_makes_one_lead(web, client):
    phone = _phone()
    body = form(phone=phone)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: apply(client, web.key, body).status_code, range(2)))
    assert answers == [202, 202]
    [lead] = leads_with(web, phone)
    actions = [h["action"] for h in web.admin.get(f"/leads/{lead['id']}").json_body["history"]]
    assert actions == ["created", "applied_online"]


# --- the duty consultant ------------------------------------------------------------------


def test_the_duty_consultant_must_be_an_active_consultant_of_the_campus(web):
    assert _set_duty(web, web.duty.user["id"])["duty_consultant_id"] == web.duty.user["id"]
    listed = {c["id"]: c for c in web.admin.get("/campuses").json_body["items"]}
    assert listed[web.campus["id"]]["duty_consultant_id"] == web.duty.user["id"]
    elsewhere = web.admin.post("/campuses", {"name": "福田校区"}).json_body
    stranger = web.staff("consultant", campus_ids=[elsewhere["id"]])
    for user_id in (web.manager.user["id"], stranger.user["id"], "nobody"):
        response = web.admin.patch(f"/campuses/{web.campus['id']}", {"duty_consultant_id": user_id})
        assert response.status_code == 400, user_id
    assert web.duty.patch(f"/campuses/{web.campus['id']}", {"duty_consultant_id": None}).status_code == 403
    # a manager names the duty consultant of their own campus only
    assert web.manager.patch(f"/campuses/{web.campus['id']}", {"duty_consultant_id": None}).status_code == 200
    assert web.manager.patch(f"/campuses/{elsewhere['id']}", {"duty_consultant_id": None}).status_code == 403
    assert web.admin.patch("/campuses/nope", {"duty_consultant_id": None}).status_code == 404
    listed = {c["id"]: c for c in web.admin.get("/campuses").json_body["items"]}
    assert listed[web.campus["id"]]["duty_consultant_id"] is None


def test_a_duty_consultant_who_left_no_longer_receives_applications(web, client):
    _set_duty(web, web.duty.user["id"])
    assert web.admin.patch(f"/users/{web.duty.user['id']}", {"active": False}).status_code == 200
    phone = _phone()
    assert apply(client, web.key, form(phone=phone)).status_code == 202
    assert leads_with(web, phone)[0]["owner_id"] is None
    assert len(notes(web.manager)) == 1


def test_public_requests_are_in_the_schools_audit_as_their_key(web, client):
    created = new_key(web)
    assert apply(client, created["key"]).status_code == 202
    entries = web.admin.get("/audit").json_body["items"]
    mine = [e for e in entries if e.get("username") == f"api-key:{created['id']}"]
    assert [(e["route"], e["status"]) for e in mine] == [("/public/applications", 202)]


def test_an_address_over_its_limit_does_not_use_up_the_schools_key(web):
    from chalicelib.domain import api_keys

    key = new_key(web, rate_limit_per_minute=12)["key"]
    headers = {"x-api-key": key}
    with clock.frozen(datetime(2031, 5, 1, 9, 0, 5, tzinfo=UTC)):
        for _ in range(api_keys.IP_LIMIT_PER_MINUTE):
            api_keys.authenticate(headers, "203.0.113.7")
        with pytest.raises(ThrottledError) as refused:
            api_keys.authenticate(headers, "203.0.113.7")
        assert refused.value.code == "RATE_LIMITED"
        # the refused request was not counted on the key: another family still gets through
        api_keys.authenticate(headers, "198.51.100.2")
        api_keys.authenticate(headers, "198.51.100.2")
        with pytest.raises(ThrottledError) as full:
            api_keys.authenticate(headers, "198.51.100.2")
        assert full.value.code == "RATE_LIMITED"
