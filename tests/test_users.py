"""Staff accounts: who may manage them and what a valid account looks like."""

from __future__ import annotations

import concurrent.futures
import json

import pytest

from chalicelib.db import telemetry
from tests.conftest import login


def _new_user(school, **overrides):
    body = {
        "username": "wang.laoshi",
        "password": "long-enough-password",
        "display_name": "王老师",
        "role": "teacher",
        "campus_ids": [school.campus["id"]],
    }
    body.update(overrides)
    return body


def test_admin_creates_a_consultant_who_can_sign_in(school):
    response = school.admin.post("/users", _new_user(school, role="consultant", username="李娜"))
    assert response.status_code == 201
    assert response.json_body["display_name"] == "王老师"
    assert response.json_body["username"] == "李娜"  # Chinese login names are fine
    session = school.sign_in("李娜", "long-enough-password")
    assert session.get("/me").json_body["user"]["role"] == "consultant"


@pytest.mark.parametrize("role", ["manager", "supervisor", "consultant", "frontdesk", "teacher", "finance"])
def test_only_an_admin_manages_users(school, role):
    # GIVEN a signed-in non-admin and another staff member
    actor = school.staff(role)
    target = school.staff("teacher")
    # WHEN they try to create or change a user THEN they are refused, and nothing changed
    created = actor.post("/users", _new_user(school, username=f"x{role}"))
    changed = actor.patch(f"/users/{target.user['id']}", {"display_name": "hacked"})
    assert created.status_code == changed.status_code == 403
    assert created.json_body["error"]["code"] == "ROLE_FORBIDDEN"
    assert school.admin.get(f"/users/{target.user['id']}").json_body["display_name"] == target.user["display_name"]
    assert school.admin.post("/users", _new_user(school, username=f"ok{role}")).status_code == 201


def test_who_may_read_staff_accounts(school):
    consultant = school.staff("consultant")
    supervisor = school.staff("supervisor")
    other = school.staff("teacher")
    # a consultant sees only themself
    assert consultant.get(f"/users/{consultant.user['id']}").status_code == 200
    assert consultant.get(f"/users/{other.user['id']}").status_code == 403
    assert consultant.get("/users").status_code == 403
    # a supervisor may look up staff (to assign leads)
    assert supervisor.get(f"/users/{other.user['id']}").status_code == 200
    assert supervisor.get("/users").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"role": "principal"}, "role"),
        ({"password": "short"}, "password"),
        ({"username": "has space"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"campus_ids": "not-a-list"}, "campus_ids"),
        ({"display_name": ""}, "display_name"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_validation_errors_name_the_field(school, overrides, field):
    response = school.admin.post("/users", _new_user(school, **overrides))
    assert response.status_code == 400
    error = response.json_body["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert field in error["message"]
    assert any(d["field"] == field for d in error["details"])


def test_a_missing_field_is_named(school):
    body = _new_user(school)
    del body["role"]
    error = school.admin.post("/users", body).json_body["error"]
    assert error["details"][0]["field"] == "role"


def test_bad_json_is_a_400_not_a_stack_trace(school):
    response = school.admin.post("/users", '{"username": "x",')
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "MALFORMED_JSON"


def test_a_role_working_in_campuses_needs_a_real_campus(school):
    none = school.admin.post("/users", _new_user(school, campus_ids=[]))
    unknown = school.admin.post("/users", _new_user(school, campus_ids=["01NOSUCHCAMPUS000000000000"]))
    assert none.status_code == unknown.status_code == 400
    assert none.json_body["error"]["details"][0]["field"] == "campus_ids"
    assert "01NOSUCHCAMPUS000000000000" in unknown.json_body["error"]["message"]


def test_login_names_are_unique_ignoring_case(school):
    assert school.admin.post("/users", _new_user(school, username="Zhang.San")).status_code == 201
    response = school.admin.post("/users", _new_user(school, username="zhang.san"))
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "USERNAME_TAKEN"


def test_two_concurrent_creations_of_one_login_name_make_one_account(school):
    # Chalice keeps the current request on the app object (one request per Lambda), so the
    # race is run where it happens: eight threads in the domain layer, against DynamoDB Local.
    from chalicelib.domain import auth, users
    from chalicelib.errors import ConflictError
    from chalicelib.schemas.users import UserCreateRequest

    principal = auth.authenticate(f"Bearer {school.admin.token}")

    def create(i):
        request = UserCreateRequest(**_new_user(school, username="race", display_name=f"racer {i}"))
        try:
            users.create_user(principal, request)
            return 201
        except ConflictError:
            return 409

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(create, range(8)))
    # THEN exactly one wins and the others get a conflict
    assert codes == [201] + [409] * 7
    names = [u["username"] for u in _all_users(school.admin)]
    assert names.count("race") == 1


def _all_users(session, **params):
    items, cursor = [], None
    while True:
        query = "&".join([f"limit={params.get('limit', 100)}"] + ([f"cursor={cursor}"] if cursor else []))
        extra = "".join(f"&{k}={v}" for k, v in params.items() if k != "limit")
        page = session.get(f"/users?{query}{extra}").json_body
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_listing_pages_through_every_user_exactly_once(school):
    for i in range(7):
        school.admin.post("/users", _new_user(school, username=f"page{i}"))
    users = _all_users(school.admin, limit=3)
    ids = [u["id"] for u in users]
    assert len(ids) == len(set(ids)) == 8  # seven teachers and the admin


def test_a_cursor_cannot_be_forged_or_used_in_another_school(school, other_school):
    for i in range(3):
        school.admin.post("/users", _new_user(school, username=f"c{i}"))
    cursor = school.admin.get("/users?limit=1").json_body["next_cursor"]
    assert cursor
    assert other_school.admin.get(f"/users?limit=1&cursor={cursor}").status_code == 400
    assert school.admin.get(f"/users?limit=1&cursor={cursor[:-2]}xx").status_code == 400


def test_a_supervisor_has_a_team_of_consultants(school):
    supervisor = school.staff("supervisor")
    a = school.staff("consultant", supervisor_id=supervisor.user["id"])
    b = school.staff("consultant")
    school.admin.patch(f"/users/{b.user['id']}", {"supervisor_id": supervisor.user["id"]})
    school.staff("consultant")  # not in the team
    team = _all_users(supervisor, supervisor_id=supervisor.user["id"])
    assert sorted(u["id"] for u in team) == sorted([a.user["id"], b.user["id"]])
    # leaving the consultant role leaves the team
    school.admin.patch(f"/users/{a.user['id']}", {"role": "teacher"})
    team = _all_users(supervisor, supervisor_id=supervisor.user["id"])
    assert [u["id"] for u in team] == [b.user["id"]]


def test_only_an_active_supervisor_can_lead_a_team(school):
    teacher = school.staff("teacher")
    consultant = school.staff("consultant")
    as_lead = school.admin.patch(f"/users/{consultant.user['id']}", {"supervisor_id": teacher.user["id"]})
    assert as_lead.status_code == 400
    assert as_lead.json_body["error"]["details"][0]["field"] == "supervisor_id"
    supervisor = school.staff("supervisor")
    not_consultant = school.admin.patch(f"/users/{teacher.user['id']}", {"supervisor_id": supervisor.user["id"]})
    assert not_consultant.status_code == 400


def test_an_admin_cannot_lock_themself_out(school):
    me = school.admin.user["id"]
    for change in ({"active": False}, {"role": "manager"}):
        response = school.admin.patch(f"/users/{me}", change)
        assert response.status_code == 409
        assert response.json_body["error"]["code"] == "CANNOT_CHANGE_SELF"
    assert school.admin.get("/me").status_code == 200


def test_patching_a_missing_user_is_a_404(school):
    response = school.admin.patch("/users/01NOSUCHUSER00000000000000", {"display_name": "x"})
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "NOT_FOUND"


def test_user_routes_read_by_key_never_by_scan(school):
    with telemetry.record() as rec:
        school.staff("consultant")
        _all_users(school.admin, limit=2)
        school.admin.get("/me")
    assert rec.calls
    assert "Scan" not in rec.operations


def test_an_admin_sets_a_forgotten_password_and_every_session_of_that_account_ends(school):
    consultant = school.staff("consultant")
    assert consultant.get("/me").status_code == 200
    path = f"/users/{consultant.user['id']}/password"
    short = school.admin.post(path, {"password": "short"})
    assert short.status_code == 400 and short.json_body["error"]["details"][0]["field"] == "password"
    refused = school.staff("manager").post(path, {"password": "一个新的好密码2026"})
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "ROLE_FORBIDDEN"
    assert school.admin.post("/users/nobody/password", {"password": "一个新的好密码2026"}).status_code == 404
    done = school.admin.post(path, {"password": "一个新的好密码2026"})
    assert done.status_code == 200 and done.json_body["id"] == consultant.user["id"]
    assert "password" not in json.dumps(done.json_body)  # never echoed, nor its hash
    old = consultant.get("/me")
    assert old.status_code == 401 and old.json_body["error"]["code"] == "TOKEN_REVOKED"  # the old session ended
    assert school.sign_in(consultant.user["username"], "一个新的好密码2026").get("/me").status_code == 200
    assert login(school.client, school.slug, consultant.user["username"], consultant.password).status_code == 401
