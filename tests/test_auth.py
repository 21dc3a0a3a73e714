"""Sign-in, bearer tokens and the end of a session."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from chalicelib.domain import clock
from tests.conftest import login


def test_sign_in_returns_a_signed_token_and_the_user(school):
    # GIVEN a school with an admin
    # WHEN the admin signs in
    response = login(school.client, school.slug, "admin", school.admin_password)
    # THEN a bearer token and the user come back, never the password hash
    assert response.status_code == 200
    body = response.json_body
    assert body["token_type"] == "Bearer"
    assert body["user"]["username"] == "admin"
    assert "password_hash" not in body["user"]
    header, payload, signature = body["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["ten"] == school.slug and claims["sub"] == body["user"]["id"]
    assert claims["exp"] - claims["iat"] <= 3600


def test_wrong_password_and_unknown_user_get_the_same_401(school):
    # WHEN one sign-in has a wrong password and another names nobody
    wrong = login(school.client, school.slug, "admin", "not-the-password")
    nobody = login(school.client, school.slug, "no-such-user", "whatever-password")
    other_school = login(school.client, "no-such-school", "admin", school.admin_password)
    # THEN all three answers are identical: nothing tells which part was wrong
    assert wrong.status_code == nobody.status_code == other_school.status_code == 401
    assert wrong.json_body == nobody.json_body == other_school.json_body
    assert wrong.json_body["error"]["code"] == "INVALID_CREDENTIALS"


def test_repeated_failures_lock_the_login_name_even_with_the_right_password(school):
    # GIVEN five failed sign-ins for one login name
    for _ in range(5):
        assert login(school.client, school.slug, "admin", "guess-guess").status_code == 401
    # WHEN the right password is tried
    response = login(school.client, school.slug, "admin", school.admin_password)
    # THEN the name is locked for a while, with a Retry-After
    assert response.status_code == 429
    assert response.json_body["error"]["code"] == "LOGIN_LOCKED"
    assert int(response.headers["Retry-After"]) > 0
    # AND after the lock expires the right password works again
    with clock.frozen(clock.now() + timedelta(minutes=16)):
        assert login(school.client, school.slug, "admin", school.admin_password).status_code == 200


def test_unknown_login_names_lock_the_same_way(school):
    # An attacker cannot tell an existing account from a missing one by its lockout
    for _ in range(5):
        login(school.client, school.slug, "ghost", "guess-guess")
    response = login(school.client, school.slug, "ghost", "guess-guess")
    assert response.status_code == 429
    assert response.json_body["error"]["code"] == "LOGIN_LOCKED"


def test_a_success_resets_the_failure_count(school):
    for _ in range(4):
        login(school.client, school.slug, "admin", "guess-guess")
    assert login(school.client, school.slug, "admin", school.admin_password).status_code == 200
    for _ in range(4):
        login(school.client, school.slug, "admin", "guess-guess")
    assert login(school.client, school.slug, "admin", school.admin_password).status_code == 200


@pytest.fixture
def from_address(monkeypatch):
    """Sends the following requests from another source address (as API Gateway reports it)."""
    from chalice.local import LambdaEventConverter

    def use(address: str) -> None:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)

    return use


def test_an_attacker_elsewhere_locks_only_their_own_address_and_the_lock_is_audited(school, from_address):
    # GIVEN an attacker at another address guessing the admin's password until locked out
    from_address("203.0.113.9")
    for _ in range(5):
        assert login(school.client, school.slug, "admin", "guess-guess").status_code == 401
    locked = login(school.client, school.slug, "admin", school.admin_password)
    assert locked.status_code == 429 and locked.json_body["error"]["code"] == "LOGIN_LOCKED"
    # WHEN the admin signs in from the school's own address
    from_address("127.0.0.1")
    # THEN the attacker has not locked them out
    assert login(school.client, school.slug, "admin", school.admin_password).status_code == 200
    # AND the lockout is in the audit, with the attacker's address
    entries = school.admin.get(f"/audit?from={clock.now().date()}").json_body["items"]
    locks = [e for e in entries if e["action"] == "sign_in_locked"]
    assert [(e["username"], e["ip"]) for e in locks] == [("admin", "203.0.113.9")]


def test_failures_from_many_addresses_slow_unknown_addresses_progressively_not_known_ones(school, from_address):
    # GIVEN ten addresses, each failing once for the admin's login name
    start = clock.now()
    with clock.frozen(start):
        for n in range(10):
            from_address(f"198.51.100.{n + 1}")
            assert login(school.client, school.slug, "admin", "guess-guess").status_code == 401
        # WHEN an eleventh address the admin never used tries
        from_address("198.51.100.99")
        slowed = login(school.client, school.slug, "admin", school.admin_password)
        # THEN it must wait a moment, told how long
        assert slowed.status_code == 429, slowed.body
        assert slowed.json_body["error"]["code"] == "LOGIN_THROTTLED"
        assert int(slowed.headers["Retry-After"]) == 1
        # AND the admin at the address they signed in from before is not slowed
        from_address("127.0.0.1")
        assert login(school.client, school.slug, "admin", school.admin_password).status_code == 200
    # AND the delay doubles with each further failure
    with clock.frozen(start + timedelta(seconds=2)):
        from_address("198.51.100.99")
        assert login(school.client, school.slug, "admin", "guess-again").status_code == 401
        again = login(school.client, school.slug, "admin", school.admin_password)
        assert again.status_code == 429 and int(again.headers["Retry-After"]) == 2
    with clock.frozen(start + timedelta(seconds=5)):
        assert login(school.client, school.slug, "admin", school.admin_password).status_code == 200
    entries = school.admin.get(f"/audit?from={clock.now().date()}").json_body["items"]
    assert [e["action"] for e in entries].count("sign_in_throttled") == 1


def test_every_route_but_login_needs_a_token(client):
    response = client.http.get("/me")
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "TOKEN_MISSING"


def test_a_tampered_token_is_refused(school):
    # GIVEN a valid token whose payload is edited to claim another user
    header, payload, signature = school.admin.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    claims["sub"] = "01SOMEONEELSE0000000000000"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    forged = f"{header}.{forged_payload}.{signature}"
    # WHEN it is used THEN it is refused
    response = school.client.http.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "TOKEN_INVALID"


def test_an_expired_token_is_refused(school):
    with clock.frozen(clock.now() + timedelta(hours=2)):
        response = school.admin.get("/me")
    assert response.status_code == 401
    assert response.json_body["error"]["code"] == "TOKEN_EXPIRED"


def test_a_disabled_users_old_token_is_refused_and_stays_dead_after_re_enabling(school):
    # GIVEN a consultant who is signed in
    consultant = school.staff("consultant")
    assert consultant.get("/me").status_code == 200
    # WHEN the admin disables the account
    response = school.admin.patch(f"/users/{consultant.user['id']}", {"active": False})
    assert response.status_code == 200 and response.json_body["active"] is False
    # THEN the old token is refused, and so is a new sign-in
    refused = consultant.get("/me")
    assert refused.status_code == 401
    assert refused.json_body["error"]["code"] == "ACCOUNT_DISABLED"
    assert login(school.client, school.slug, consultant.user["username"], consultant.password).status_code == 401
    # AND re-enabling the account does not revive the old token; a new sign-in works
    school.admin.patch(f"/users/{consultant.user['id']}", {"active": True})
    assert consultant.get("/me").json_body["error"]["code"] == "TOKEN_REVOKED"
    assert login(school.client, school.slug, consultant.user["username"], consultant.password).status_code == 200


def test_a_password_reset_ends_existing_sessions(school):
    from chalicelib.domain.users import set_password

    consultant = school.staff("consultant")
    set_password(school.slug, consultant.user["username"], "a-brand-new-password")
    assert consultant.get("/me").status_code == 401
    assert login(school.client, school.slug, consultant.user["username"], consultant.password).status_code == 401
    assert login(school.client, school.slug, consultant.user["username"], "a-brand-new-password").status_code == 200


def test_me_shows_the_user_and_the_school_in_its_own_language(school):
    body = school.admin.get("/me").json_body
    assert body["tenant"]["slug"] == school.slug
    assert body["tenant"]["name"].startswith("测试学校")
    assert body["tenant"]["timezone"] == "Asia/Shanghai"


def test_the_sign_in_throttle_is_configured_from_the_environment():
    from chalicelib.settings import Settings

    env = {"CRM_LOGIN_DELAY_AFTER": "20", "CRM_LOGIN_DELAY_MAX_SECONDS": "60", "CRM_LOGIN_KNOWN_DAYS": "30"}
    settings = Settings.from_env(env)
    assert (settings.login_delay_after, settings.login_delay_max_seconds, settings.login_known_days) == (20, 60, 30)
