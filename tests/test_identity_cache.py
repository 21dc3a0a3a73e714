"""Identity without a read (issue 17): a warm container authenticates a request, and finds
its school and its settings, without reading the caller's user item, the tenant item or the
configuration again, for RECENT_SECONDS. What this container changes is seen at once; what
another container changes (the stream function freezing, an admin on another Lambda, the
console) at most RECENT_SECONDS late, except on customer-data routes, which read the account
as it is now in the BatchGetItem they make anyway and refuse at once.

"Another container" is a write straight to the table (the stream runs in-process in tests, so
its freeze goes through the same repository, which forgets the user here as well).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from chalicelib.db import keys, telemetry
from chalicelib.domain import clock
from chalicelib.domain.config import RECENT_SECONDS
from tests.test_leads import lead_body


def _read_keys(rec: telemetry.Recorder) -> list[tuple[str, str, str]]:
    """(operation, PK, SK or the Query's key condition values) of every read a request made."""
    found = []
    for call in rec.calls:
        params = call.params
        if call.operation == "GetItem":
            found.append(("GetItem", params["Key"]["PK"]["S"], params["Key"]["SK"]["S"]))
        elif call.operation == "BatchGetItem":
            for table in params["RequestItems"].values():
                found += [("BatchGetItem", k["PK"]["S"], k["SK"]["S"]) for k in table["Keys"]]
        elif call.operation == "Query":
            values = [v.get("S", "") for v in params.get("ExpressionAttributeValues", {}).values()]
            found.append(("Query", values[0] if values else "", " ".join(values[1:])))
    return found


def _identity_reads(rec: telemetry.Recorder, tenant: str) -> list[tuple[str, str, str]]:
    """The reads of a user, the tenant or its configuration."""
    return [
        (op, pk, sk)
        for op, pk, sk in _read_keys(rec)
        if pk == keys.users_pk(tenant)
        or (pk == keys.tenant_pk(tenant) and (sk == keys.TENANT_SK or sk.startswith("CONFIG#")))
    ]


VALUES = {":f": {"BOOL": False}, ":one": {"N": "1"}, ":at": {"S": "2030-01-01T00:00:00.000Z"}, ":admin": {"S": "admin"}}


def _another_container(ddb_client, tenant: str, user_id: str, update: str) -> None:
    """A change to a user made elsewhere: straight to the table, nothing here is told."""
    values = {k: v for k, v in VALUES.items() if k in update}
    ddb_client.update_item(
        TableName=os.environ["CRM_TABLE"],
        Key={"PK": {"S": keys.users_pk(tenant)}, "SK": {"S": keys.user_sk(user_id)}},
        UpdateExpression=update,
        **({"ExpressionAttributeNames": {"#r": "role"}} if "#r" in update else {}),
        **({"ExpressionAttributeValues": values} if values else {}),
    )


def _code(response) -> str | None:
    return json.loads(response.body)["error"]["code"] if response.status_code >= 400 else None


@pytest.fixture
def later():
    """A clock two minutes ahead (what was read before is stale by then), steppable: later(s)
    freezes it s seconds after that start."""
    start = clock.now() + timedelta(seconds=120)
    stack = []

    def at(seconds: float = 0):
        if stack:
            stack.pop().__exit__(None, None, None)
        frozen = clock.frozen(start + timedelta(seconds=seconds))
        frozen.__enter__()
        stack.append(frozen)

    yield at
    while stack:
        stack.pop().__exit__(None, None, None)


# --- no read on a warm container -----------------------------------------------------------


def test_a_warm_container_reads_neither_the_user_nor_the_tenant_nor_the_settings_again(school):
    consultant = school.staff("consultant")
    # (the first lead marks its status used, which the next one reads back once)
    warm_up = [consultant.get("/me"), consultant.post("/leads", lead_body()), consultant.post("/leads", lead_body())]
    assert [r.status_code for r in warm_up] == [200, 201, 201]
    with telemetry.record() as me:
        assert consultant.get("/me").status_code == 200
    with telemetry.record() as write:
        assert consultant.post("/leads", lead_body()).status_code == 201
    assert _identity_reads(me, school.slug) == []
    assert me.calls == [c for c in me.calls if c.operation == "PutItem"]  # the audit entry alone
    assert _identity_reads(write, school.slug) == []


def test_a_customer_data_route_reads_the_account_in_the_batch_it_makes_anyway(school):
    consultant = school.staff("consultant")
    assert consultant.get("/leads").status_code == 200
    with telemetry.record() as rec:
        assert consultant.get("/leads").status_code == 200
    user = ("BatchGetItem", keys.users_pk(school.slug), keys.user_sk(consultant.user["id"]))
    # one BatchGetItem: the account beside the access counters; no GetItem, and the read limits
    # as this container read them (the settings, like every route's, kept RECENT_SECONDS)
    assert _identity_reads(rec, school.slug) == [user]
    batch = next(c for c in rec.calls if c.operation == "BatchGetItem")
    batched = {(k["PK"]["S"], k["SK"]["S"]) for t in batch.params["RequestItems"].values() for k in t["Keys"]}
    assert user[1:] in batched and (keys.tenant_pk(school.slug), keys.SECURITY_SETTINGS_SK) not in batched
    assert any(sk.startswith("m#") for _, sk in batched)  # the minute's access counter


def test_read_limits_lowered_elsewhere_hold_within_the_window_and_here_at_once(school, ddb_client):
    from chalicelib.domain.access_windows import windows

    consultant = school.staff("consultant")
    assert consultant.post("/leads", lead_body(name="限额")).status_code == 201
    table = os.environ["CRM_TABLE"]
    minute = (clock.now() + timedelta(minutes=10)).replace(second=5, microsecond=0)
    with clock.frozen(minute):
        assert consultant.get("/leads?limit=1").status_code == 200  # this container reads the limits now
    # the stream counted that read; another container (an admin on another Lambda) lowers the
    # limit to 1 a minute: both straight to the table, nothing here is told
    (_, counter, _), *_ = windows(minute)
    ddb_client.put_item(
        TableName=table,
        Item={
            "PK": {"S": keys.access_pk(school.slug, consultant.user["id"])},
            "SK": {"S": counter},
            "weight": {"N": "1"},
        },
    )
    body = {"reads_per_minute": 1, "reads_per_hour": 500, "reads_per_day": 2000}
    config = {"PK": {"S": keys.tenant_pk(school.slug)}, "SK": {"S": keys.SECURITY_SETTINGS_SK}}
    ddb_client.put_item(TableName=table, Item={**config, "type": {"S": "Config"}, "body": {"S": json.dumps(body)}})
    with clock.frozen(minute + timedelta(seconds=1)):  # the old limit still holds here
        assert consultant.get("/leads?limit=1").status_code == 200
    with clock.frozen(minute + timedelta(seconds=RECENT_SECONDS + 2)):  # read again: 1 of 1 spent
        refused = consultant.get("/leads?limit=1")
        assert refused.status_code == 423 and refused.json_body["error"]["code"] == "READ_LIMIT_REACHED"
        # an admin's change in this container holds at once
        assert school.admin.patch("/settings/security", {"reads_per_minute": 100}).status_code == 200
        assert consultant.get("/leads?limit=1").status_code == 200


def test_after_the_window_the_account_is_read_again(school, later):
    consultant = school.staff("consultant")
    later(0)
    assert consultant.get("/me").status_code == 200
    later(RECENT_SECONDS - 1)
    with telemetry.record() as inside:
        assert consultant.get("/me").status_code == 200
    later(RECENT_SECONDS + 1)
    with telemetry.record() as after:
        assert consultant.get("/me").status_code == 200
    assert _identity_reads(inside, school.slug) == []
    assert ("GetItem", keys.users_pk(school.slug), keys.user_sk(consultant.user["id"])) in _identity_reads(
        after, school.slug
    )


# --- changed by this container: at once ------------------------------------------------------


def test_a_user_disabled_here_is_refused_at_once(school):
    consultant = school.staff("consultant")
    assert consultant.get("/me").status_code == 200
    assert school.admin.patch(f"/users/{consultant.user['id']}", {"active": False}).status_code == 200
    refused = consultant.get("/me")
    assert refused.status_code == 401 and _code(refused) == "ACCOUNT_DISABLED"


def test_a_password_reset_here_ends_the_session_at_once(school):
    from chalicelib.domain import users

    consultant = school.staff("consultant")
    assert consultant.get("/me").status_code == 200
    users.set_password(school.slug, consultant.user["username"], "a-new-password-1")
    refused = consultant.get("/me")
    assert refused.status_code == 401 and _code(refused) == "TOKEN_REVOKED"


def test_a_freeze_here_is_refused_at_once_and_an_unfreeze_lets_the_user_back_in_at_once(school):
    from chalicelib.domain import audit

    consultant = school.staff("consultant")
    assert consultant.get("/me").status_code == 200
    assert audit.freeze(school.slug, consultant.user["id"], "test: read too fast")
    refused = consultant.get("/me")
    assert refused.status_code == 423 and _code(refused) == "ACCOUNT_FROZEN"
    audit.unfreeze(school.slug, consultant.user["id"], "test: cleared")
    again = school.sign_in(consultant.user["username"], consultant.password)
    assert again.get("/me").status_code == 200
    assert again.get("/leads").status_code == 200
    assert consultant.get("/me").status_code == 401  # the token from before the freeze stays dead


def test_a_role_or_campus_change_here_applies_to_the_next_request(school):
    consultant = school.staff("consultant")
    assert consultant.get("/me").json_body["user"]["role"] == "consultant"
    assert consultant.get("/admin/frozen-users").status_code == 403
    assert school.admin.patch(f"/users/{consultant.user['id']}", {"role": "admin"}).status_code == 200
    assert consultant.get("/me").json_body["user"]["role"] == "admin"
    assert consultant.get("/admin/frozen-users").status_code == 200


def test_a_settings_change_here_applies_to_the_next_write(school):
    consultant = school.staff("consultant")
    assert consultant.post("/leads", lead_body(source="walk_in")).status_code == 201  # the settings read
    sources = school.admin.get("/settings/dictionaries/sources").json_body["entries"]
    added = [*sources, {"key": "douyin", "label": "抖音"}]
    assert school.admin.put("/settings/dictionaries/sources", {"entries": added}).status_code == 200
    assert consultant.post("/leads", lead_body(source="douyin")).status_code == 201


# --- changed by another container: at most RECENT_SECONDS late, customer data at once ----------


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("SET active = :f ADD token_version :one", 401, "ACCOUNT_DISABLED"),
        ("ADD token_version :one", 401, "TOKEN_REVOKED"),
        ("SET frozen_at = :at ADD token_version :one", 423, "ACCOUNT_FROZEN"),
    ],
    ids=["disabled", "signed-out", "frozen"],
)
def test_a_change_made_elsewhere_is_seen_within_the_window(school, ddb_client, later, change, status, code):
    consultant = school.staff("consultant")
    later(0)
    assert consultant.get("/me").status_code == 200
    _another_container(ddb_client, school.slug, consultant.user["id"], change)
    later(RECENT_SECONDS - 1)
    assert consultant.get("/me").status_code == 200  # not yet seen here: at most the window late
    later(RECENT_SECONDS + 1)
    refused = consultant.get("/me")
    assert (refused.status_code, _code(refused)) == (status, code)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ("SET frozen_at = :at ADD token_version :one", 423, "ACCOUNT_FROZEN"),
        ("SET active = :f ADD token_version :one", 401, "ACCOUNT_DISABLED"),
        ("ADD token_version :one", 401, "TOKEN_REVOKED"),
    ],
    ids=["frozen", "disabled", "signed-out"],
)
def test_a_customer_data_route_refuses_a_change_made_elsewhere_at_once(school, ddb_client, later, change, status, code):
    consultant = school.staff("consultant")
    assert consultant.post("/leads", lead_body()).status_code == 201
    later(0)
    assert consultant.get("/leads").status_code == 200
    _another_container(ddb_client, school.slug, consultant.user["id"], change)
    later(1)  # well inside the window
    refused = consultant.get("/leads")
    assert (refused.status_code, _code(refused)) == (status, code)
    # what that read found is what this container now knows: every route refuses from here on
    again = consultant.get("/me")
    assert (again.status_code, _code(again)) == (status, code)


def test_a_role_changed_elsewhere_applies_within_the_window(school, ddb_client, later):
    consultant = school.staff("consultant")
    later(0)
    assert consultant.get("/admin/frozen-users").status_code == 403
    _another_container(ddb_client, school.slug, consultant.user["id"], "SET #r = :admin")
    later(RECENT_SECONDS - 1)
    assert consultant.get("/admin/frozen-users").status_code == 403
    later(RECENT_SECONDS + 1)
    assert consultant.get("/admin/frozen-users").status_code == 200


def test_unfrozen_elsewhere_and_signed_in_again_is_let_in_at_once(school, ddb_client, later):
    """What this container read earlier refuses; a token newer than that read is decided on
    the account as it is now (a consistent read), not refused for the rest of the window."""
    from chalicelib.domain import audit

    consultant = school.staff("consultant")
    later(0)
    assert audit.freeze(school.slug, consultant.user["id"], "test: read too fast")
    assert consultant.get("/me").status_code in (401, 423)  # this container now holds the frozen account
    _another_container(
        ddb_client, school.slug, consultant.user["id"], "REMOVE frozen_at, frozen_reason, GSI2PK, GSI2SK"
    )
    later(1)
    again = school.sign_in(consultant.user["username"], consultant.password)
    assert again.get("/me").status_code == 200
    assert again.get("/leads").status_code == 200


def test_settings_changed_elsewhere_apply_to_writes_within_the_window(school, ddb_client, later):
    consultant = school.staff("consultant")
    sources = school.admin.get("/settings/dictionaries/sources").json_body["entries"]
    assert school.admin.put("/settings/dictionaries/sources", {"entries": sources}).status_code == 200  # stored
    later(0)
    for _ in range(2):  # the first marks walk_in used; the second reads that back, and keeps it
        assert consultant.post("/leads", lead_body(source="walk_in")).status_code == 201
    body = json.dumps([*sources, {"key": "xhs", "label": "小红书"}], ensure_ascii=False)
    ddb_client.update_item(
        TableName=os.environ["CRM_TABLE"],
        Key={"PK": {"S": keys.tenant_pk(school.slug)}, "SK": {"S": keys.dictionary_sk("sources")}},
        UpdateExpression="SET body = :b",
        ExpressionAttributeValues={":b": {"S": body}},
    )
    later(RECENT_SECONDS - 1)
    assert consultant.post("/leads", lead_body(source="xhs")).status_code == 400  # not yet seen here
    assert any(e["key"] == "xhs" for e in school.admin.get("/settings/dictionaries/sources").json_body["entries"])
    later(RECENT_SECONDS + 1)
    assert consultant.post("/leads", lead_body(source="xhs")).status_code == 201


# --- isolation -------------------------------------------------------------------------------


def test_what_is_kept_of_one_school_never_serves_another(school, other_school):
    """A token naming school B with the id of a user of school A (kept warm here) finds no
    account: the entries are keyed by tenant and user."""
    from chalicelib.domain import tokens

    consultant = school.staff("consultant")
    assert consultant.get("/me").status_code == 200
    assert other_school.admin.get("/me").status_code == 200
    forged, _ = tokens.issue(other_school.slug, consultant.user["id"], "consultant", 0)
    refused = consultant.client.http.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401 and _code(refused) == "ACCOUNT_DISABLED"
    mine, theirs = consultant.get("/me").json_body, other_school.admin.get("/me").json_body
    assert mine["tenant"]["slug"] == school.slug and theirs["tenant"]["slug"] == other_school.slug
    assert mine["user"]["id"] == consultant.user["id"] and theirs["user"]["id"] == other_school.admin.user["id"]
