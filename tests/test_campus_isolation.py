"""Two campuses of one school: staff of campus A read, list or change nothing of campus B's
families, on every route (issue 13, item 6).

Every registered route either has a probe here or is in NO_CAMPUS_DATA with the reason it
returns nothing of a campus's families: a route added later with neither fails
`test_every_route_has_a_campus_probe_or_a_reason`.
"""

from __future__ import annotations

import pytest

from chalicelib.api.routing import REGISTRY
from chalicelib.db import telemetry
from tests.conftest import without_quiet_hours
from tests.test_tenant_isolation import PUBLIC

B_NAMES = ("B 的孩子", "B 会员")
B_PHONE = "13700137001"

NO_CAMPUS_DATA = {
    ("GET", "/me"): "the caller's own account",
    ("POST", "/announcements/attachments"): "the school's board (admins)",
    ("GET", "/announcements/{announcement_id}/attachment"): "the school's board",
    ("POST", "/announcements"): "the school's board (admins)",
    ("GET", "/announcements"): "the school's board",
    ("POST", "/announcements/{announcement_id}/read"): "the caller's own read receipt",
    ("DELETE", "/announcements/{announcement_id}"): "the school's board (admins)",
    ("POST", "/glossary"): "school-wide phrases",
    ("GET", "/glossary"): "school-wide phrases",
    ("DELETE", "/glossary/{phrase_id}"): "school-wide phrases",
    ("PATCH", "/glossary/{phrase_id}"): "school-wide phrases",
    ("POST", "/campuses"): "admins",
    ("GET", "/campuses"): "the campus directory (names, addresses)",
    ("PATCH", "/campuses/{campus_id}"): "managers change only their own campuses (403 NOT_YOUR_CAMPUS, test_leads)",
    ("GET", "/settings/dictionaries/{kind}"): "school settings",
    ("PUT", "/settings/dictionaries/{kind}"): "school settings (admins)",
    ("GET", "/settings/dictionaries"): "school settings",
    ("GET", "/settings/lead-fields"): "school settings",
    ("PUT", "/settings/lead-fields"): "school settings (admins)",
    ("GET", "/settings/leads"): "school settings",
    ("PATCH", "/settings/leads"): "school settings (admins)",
    ("GET", "/settings/assessment"): "school settings",
    ("PUT", "/settings/assessment"): "school settings (admins)",
    ("GET", "/settings/cards"): "school settings",
    ("PATCH", "/settings/cards"): "school settings (admins)",
    ("GET", "/settings/messaging"): "school settings",
    ("PATCH", "/settings/messaging"): "school settings (admins)",
    ("GET", "/settings/security"): "admins",
    ("PATCH", "/settings/security"): "admins",
    ("POST", "/settings/api-keys"): "admins",
    ("GET", "/settings/api-keys"): "admins",
    ("DELETE", "/settings/api-keys/{key_id}"): "admins",
    ("GET", "/notifications"): "the caller's own notifications",
    ("GET", "/leads/import-template"): "an empty spreadsheet",
    ("POST", "/templates"): "school-wide templates",
    ("GET", "/templates"): "school-wide templates",
    ("GET", "/templates/{template_id}"): "school-wide templates",
    ("PUT", "/templates/{template_id}"): "school-wide templates",
    ("DELETE", "/templates/{template_id}"): "school-wide templates",
    ("GET", "/templates/variables"): "the fixed list of template variables, no school's data",
    ("POST", "/templates/preview"): "renders on fixed sample data, reads and writes nothing",
    ("POST", "/programmes"): "the catalogue",
    ("GET", "/programmes"): "the catalogue",
    ("GET", "/programmes/{programme_id}"): "the catalogue",
    ("PATCH", "/programmes/{programme_id}"): "the catalogue",
    ("GET", "/cohorts"): "the timetable (also on the school's website)",
    ("GET", "/cohorts/open"): "the timetable (also on the school's website)",
    ("GET", "/cohorts/{cohort_id}"): "the timetable (counts, no names)",
    ("PATCH", "/cohorts/{cohort_id}"): "managers change only their own campuses (403 NOT_YOUR_CAMPUS, test_programmes)",
    ("POST", "/courses"): "the timetable",
    ("GET", "/courses"): "the timetable",
    ("POST", "/classes"): "the timetable; the campus must be the manager's own (test_appointments)",
    ("GET", "/classes"): "the timetable",
    ("GET", "/sessions"): "the timetable (seats, no names)",
    ("GET", "/me/sessions"): "the caller's own sessions (seats, no names); a teacher is of its class's campus",
    ("POST", "/events"): "the timetable; the campus must be the manager's own",
    ("GET", "/events"): "the timetable (seats, no names)",
    ("GET", "/events/{event_id}"): "the timetable (seats, no names)",
    ("POST", "/users"): "staff accounts (admins)",
    ("GET", "/users"): "the staff directory",
    ("GET", "/users/{user_id}"): "the staff directory",
    ("PATCH", "/users/{user_id}"): "staff accounts (admins)",
    ("POST", "/users/{user_id}/password"): "staff accounts (admins)",
    ("POST", "/users/{user_id}/offboard"): "staff accounts (admins); answers counts, no family's data",
    ("GET", "/users/{user_id}/offboarding"): "staff accounts (admins); counts, no family's data",
    ("GET", "/users/{user_id}/record"): "employee records (admins)",
    ("PUT", "/users/{user_id}/record"): "employee records (admins)",
    ("GET", "/usage"): "admins",
}


def _clean(response) -> None:
    text = response.body.decode("utf-8", "replace")
    assert not any(name in text for name in B_NAMES), text[:300]
    assert B_PHONE not in text


def _spies(s):
    return (s.manager_a, s.consultant_a, s.teacher_a)


def _b_lead_unchanged(s) -> None:
    lead = s.admin.get(f"/leads/{s.lead_b['id']}").json_body
    assert (lead["name"], lead["owner_id"], lead["deleted_at"]) == ("B 的孩子", s.consultant_b.user["id"], None)
    assert len(lead["follow_ups"]) == 1 and [p["status"] for p in lead["plans"]] == ["open"]
    assert [(a["status"], a["attendance"]) for a in lead["appointments"]] == [("booked", None), ("booked", None)]


def _not_found(method: str, path: str, body=None, *, after=None):
    """Each spy of campus A: 404 (or 403 by role), nothing of B's in the answer, nothing changed."""

    def probe(s):
        for spy in _spies(s):
            response = spy.request(method, path.format(**s.ids), body)
            # 404 as for another school; or a refusal by role, the same whether B's record exists or not
            by_role = response.status_code == 403 and response.json_body["error"]["code"] == "ROLE_FORBIDDEN"
            assert response.status_code == 404 or by_role, (spy.user["role"], method, path, response.body[:300])
            _clean(response)
        (after or _b_lead_unchanged)(s)

    return probe


def _b_money_unchanged(s) -> None:
    contract = s.admin.get(f"/contracts/{s.contract_b['id']}").json_body
    assert (contract["paid"], contract["refunded"], contract["status"]) == ("100.00", "0.00", "partly_paid")
    card = s.admin.get(f"/cards/{s.card_b['id']}").json_body
    assert (card["status"], card["credits"], card["number"], card["sub_card_ids"]) == (
        "active",
        "10.00",
        "B-CARD-1",
        [],
    )


def _lists_clean(*paths):
    def probe(s):
        for spy in _spies(s):
            for path in paths:
                response = spy.get(path.format(**s.ids))
                assert response.status_code in (200, 400, 403, 404), (path, response.body[:300])
                _clean(response)

    return probe


# --- the probes that need more than "404 and nothing of B's" ------------------------------


def probe_create_lead(s):
    body = {"name": "越界", "campus_id": s.campus_b["id"], "guardians": [{"name": "x", "phones": ["13700137999"]}]}
    for spy in (s.manager_a, s.consultant_a):
        response = spy.post("/leads", body)
        assert response.status_code == 400 and response.json_body["error"]["details"][0]["field"] == "campus_id"
    # the phone of B's lead: the duplicate answer names no child of B's to A's staff
    duplicate = s.consultant_a.post("/leads", {"name": "重复", "guardians": [{"name": "x", "phones": [B_PHONE]}]})
    assert duplicate.status_code == 409
    _clean(duplicate)


def probe_sign_in_sheet(s):
    """The sheet of an event of both campuses: each campus's staff see their own guests."""
    path = f"/events/{s.event['id']}/sign-in-sheet"
    for spy in (s.manager_a, s.consultant_a):
        for fmt in ("html", "csv"):
            sheet = spy.get(f"{path}?format={fmt}")
            assert sheet.status_code == 200
            assert "A 的孩子" in sheet.body.decode("utf-8")
            _clean(sheet)
    assert s.teacher_a.get(path).status_code == 403
    assert s.teacher_a.get(f"{path}?format=csv").status_code == 403
    both = s.admin.get(f"{path}?format=csv").body.decode("utf-8")
    assert "A 的孩子" in both and "B 的孩子" in both
    theirs = s.manager_b.get(path).body.decode("utf-8")
    assert "B 的孩子" in theirs and "A 的孩子" not in theirs


def probe_appointments(s):
    for spy in (s.manager_a, s.consultant_a):
        items = spy.get("/appointments").json_body["items"]
        assert items and {a["lead_id"] for a in items} == {s.lead_a["id"]}
    assert s.teacher_a.get("/appointments").status_code == 403


def probe_follow_ups(s):
    for spy in (s.manager_a, s.consultant_a):
        assert spy.get("/follow-ups").json_body["items"]  # A's own
        for query in ("", f"?campus={s.campus_b['id']}", f"?consultant={s.consultant_b.user['id']}"):
            response = spy.get(f"/follow-ups{query}")
            assert response.status_code in (200, 403)
            assert all(f["lead_id"] != s.lead_b["id"] for f in (response.json_body.get("items") or []))
            _clean(response)
    assert s.teacher_a.get("/follow-ups").status_code == 403


def probe_audit(s):
    mine = s.manager_a.get("/audit").json_body["items"]
    assert mine and {e["user_id"] for e in mine} <= {
        s.manager_a.user["id"],
        s.consultant_a.user["id"],
        s.teacher_a.user["id"],
    }
    assert s.consultant_a.user["id"] in {e["user_id"] for e in mine}  # their own campus's staff
    assert s.manager_a.get(f"/audit?user={s.consultant_b.user['id']}").json_body["items"] == []
    assert s.manager_a.get(f"/audit?lead={s.lead_b['id']}").json_body["items"] == []
    assert s.manager_b.get(f"/audit?lead={s.lead_b['id']}").json_body["items"]  # B's manager does see them
    assert s.admin.get(f"/audit?lead={s.lead_b['id']}").json_body["items"]
    for spy in (s.consultant_a, s.teacher_a):
        assert spy.get("/audit").status_code == 403


def probe_messages(s):
    for spy in _spies(s):
        listed = spy.get("/messages").json_body["items"]
        assert s.message_b["id"] not in {m["id"] for m in listed}
        record = spy.get(f"/messages/{s.message_b['id']}")
        assert record.status_code == 404
        _clean(record)
    listed = {m["id"] for m in s.manager_a.get("/messages").json_body["items"]}
    assert listed == {s.message_a["id"], s.message_both["id"]}  # A's, and the one that reached A's families
    detail = s.manager_a.get(f"/messages/{s.message_both['id']}").json_body  # a message to both campuses
    assert [r["lead_id"] for r in detail["items"]] == [s.lead_a["id"]]
    assert len(s.admin.get(f"/messages/{s.message_both['id']}").json_body["items"]) == 2
    # nor can they send to B's families
    sent = s.manager_a.post(
        "/messages", {"channel": "sms", "purpose": "notice", "text": "x", "recipients": {"lead_ids": [s.lead_b["id"]]}}
    ).json_body
    assert (sent["sent"], sent["skipped_by_reason"]) == (0, {"not_found": 1})


def probe_outbox(s):
    entries = s.manager_a.get("/outbox?limit=100").json_body["items"]
    assert all(B_PHONE not in e["to"] and "B 的孩子" not in e["body"] for e in entries)
    assert "+8613700137002" in {e["to"] for e in entries}  # A's lead, in full
    everything = s.admin.get("/outbox?limit=100").json_body["items"]
    assert "+86" + B_PHONE in {e["to"] for e in everything}
    assert s.consultant_a.get("/outbox").status_code == 403


def probe_contract_lists(s):
    day = s.contract_b["signed_on"]
    for spy in (s.manager_a,):
        for path in (f"/contracts?from={day}&to={day}", f"/payments?from={day}&to={day}"):
            response = spy.get(path)
            assert response.status_code == 200 and response.json_body["items"] == []
            assert spy.get(f"{path}&campus={s.campus_b['id']}").status_code == 400
    assert s.admin.get(f"/contracts?from={day}&to={day}").json_body["items"]


def probe_sign_contract(s):
    body = {
        "lead_ids": [s.member_b["id"]],
        "credits": "1",
        "price": "1",
        "starts_on": "2099-01-01",
        "ends_on": "2099-02-01",
    }
    for spy in _spies(s):
        assert spy.post("/contracts", body).status_code in ((403, 404) if spy is s.teacher_a else (404,))
    _b_money_unchanged(s)


def probe_cards(s):
    body = {"holder_lead_id": s.member_b["id"], "contract_ids": [s.contract_b["id"]]}
    for spy in _spies(s):
        opened = spy.post("/cards", body)
        assert opened.status_code in ((403, 404) if spy is s.teacher_a else (404,))
        found = spy.get("/cards?number=B-CARD-1")
        assert found.status_code in (200, 403) and not (found.json_body.get("items") or [])
        assert spy.get(f"/cards?lead_id={s.member_b['id']}").status_code in (403, 404)
    _b_money_unchanged(s)


def probe_check_in(s):
    for spy in _spies(s):
        response = spy.post(f"/sessions/{s.session_b['id']}/check-ins", {"lead_id": s.member_b["id"]})
        assert response.status_code in (403, 404)
        _clean(response)
    _b_money_unchanged(s)


def probe_schedule_writes(s):
    assert s.manager_a.patch(f"/sessions/{s.session_b['id']}", {"capacity": 99}).status_code == 404
    generated = s.manager_a.post(f"/classes/{s.class_b['id']}/sessions", {"from": "2099-01-01", "to": "2099-01-31"})
    assert generated.status_code == 404
    session = [x for x in s.admin.get("/sessions?date=2099-01-05").json_body["items"] if x["id"] == s.session_b["id"]]
    assert session[0]["capacity"] == 3


def probe_enrolments(s):
    cohort = s.cohort_b["id"]
    for spy in _spies(s):
        listed = spy.get(f"/cohorts/{cohort}/enrolments")
        assert listed.status_code in (200, 403, 404)
        assert s.lead_b["id"] not in {e["lead_id"] for e in (listed.json_body.get("items") or [])}
        _clean(listed)
        again = spy.post(f"/cohorts/{cohort}/enrolments", {"lead_id": s.lead_b["id"]})
        assert again.status_code in (403, 404)
        for action in ("confirm", "decline"):
            assert spy.post(f"/enrolments/{s.enrolment_b['id']}/{action}").status_code in (403, 404)
    assert s.admin.get(f"/cohorts/{cohort}").json_body["pending"] == 1
    cohort_body = {
        "campus_id": s.campus_b["id"],
        "name": "越界班",
        "starts_on": "2099-03-01",
        "price": "1.00",
        "seats": 2,
    }
    made = s.manager_a.post(f"/programmes/{s.programme['id']}/cohorts", cohort_body)
    assert made.status_code == 400


def probe_receivables(s):
    """B's contract is owed (500.00 less 100.00 paid): A's staff list nothing of it, however they ask."""
    owed_b = [r["source_id"] for r in s.manager_b.get("/receivables").json_body["items"]]
    assert owed_b == [s.contract_b["id"]]  # the probe sees something to leak
    for spy in (s.manager_a, s.consultant_a):
        for query in ("", "?status=paid", "?status=overdue", "?status=due", f"?consultant={s.consultant_b.user['id']}"):
            response = spy.get(f"/receivables{query}")
            assert response.status_code in (200, 400), response.body
            assert all(r["source_id"] != s.contract_b["id"] for r in (response.json_body.get("items") or []))
            _clean(response)
        assert spy.get(f"/receivables?campus={s.campus_b['id']}").status_code == 400
    assert s.consultant_a.get(f"/receivables?consultant={s.consultant_b.user['id']}").status_code == 400
    assert s.teacher_a.get("/receivables").status_code == 403


def probe_imports(s):
    upload = {"Content-Type": "application/octet-stream"}
    sheet = "姓名,电话\n越界,13700137888\n".encode("gbk")
    assert s.manager_a.post(f"/leads/imports?campus_id={s.campus_b['id']}", sheet, headers=upload).status_code == 400
    for spy in _spies(s):
        assert s.import_b["id"] not in {i["id"] for i in (spy.get("/leads/imports").json_body.get("items") or [])}
        assert spy.get(f"/leads/imports/{s.import_b['id']}").status_code in (403, 404)
        assert spy.get(f"/leads/imports/{s.import_b['id']}/errors").status_code in (403, 404)


def probe_reports(s):
    from datetime import date

    today = date.today().isoformat()
    for path in (
        "/reports/funnel",
        "/reports/consultants",
        "/reports/sources",
        "/reports/finance",
        "/reports/referrals",
    ):
        response = s.manager_a.get(f"{path}?from={today}&to={today}&campus={s.campus_b['id']}")
        assert response.status_code == 400, (path, response.body)
    breakdown = s.manager_a.get(f"/reports/breakdown?field=source&from={today}&to={today}&campus={s.campus_b['id']}")
    assert breakdown.status_code == 400, breakdown.body


def probe_today(s):
    for spy in _spies(s):
        response = spy.get("/dashboard/today")
        assert response.status_code == 200
        _clean(response)


LEAD = "/leads/{lead_b}"


def _both(*probes):
    """One route probed in each of its answers (?format=)."""

    def probe(s):
        for each in probes:
            each(s)

    return probe


def probe_frozen(s) -> None:
    """A manager lifts the freezes of their own campuses' staff only: B's frozen consultant is
    not in A's manager's list, and unfreezing it is 404 (it stays frozen); consultants and
    teachers are refused by role."""
    from chalicelib.domain import audit

    assert audit.freeze(s.slug, s.consultant_b.user["id"], "B: 130 reads in the minute")
    try:
        for spy in _spies(s):
            listed = spy.get("/admin/frozen-users")
            if spy is s.manager_a:
                assert listed.status_code == 200 and listed.json_body["items"] == []
            else:
                assert listed.status_code == 403
            tried = spy.post(f"/admin/users/{s.consultant_b.user['id']}/unfreeze", {"reason": "越界"})
            assert tried.status_code == (404 if spy is s.manager_a else 403), tried.body[:300]
            _clean(listed)
        assert [u["id"] for u in s.manager_b.get("/admin/frozen-users").json_body["items"]] == [
            s.consultant_b.user["id"]
        ]
        assert s.admin.get(f"/users/{s.consultant_b.user['id']}").json_body["frozen_at"] is not None
    finally:
        audit.unfreeze(s.slug, s.consultant_b.user["id"], "test over")


PROBES = {
    ("POST", "/leads"): probe_create_lead,
    ("GET", "/leads"): _lists_clean("/leads", "/leads?scope=pool", f"/leads?q={B_PHONE}", "/leads?q=B"),
    ("GET", "/leads/export"): _lists_clean("/leads/export?format=csv"),
    ("GET", "/leads/recycle-bin"): _lists_clean("/leads/recycle-bin"),
    ("GET", "/leads/{lead_id}"): _both(_not_found("GET", LEAD), _not_found("GET", LEAD + "?format=html")),
    ("GET", "/leads/{lead_id}/history"): _not_found("GET", LEAD + "/history"),
    ("GET", "/leads/{lead_id}/appointments"): _not_found("GET", LEAD + "/appointments"),
    ("PATCH", "/leads/{lead_id}"): _not_found("PATCH", LEAD, {"name": "越界"}),
    ("DELETE", "/leads/{lead_id}"): _not_found("DELETE", LEAD),
    ("POST", "/leads/{lead_id}/restore"): _not_found("POST", LEAD + "/restore"),
    ("POST", "/leads/{lead_id}/assign"): _not_found("POST", LEAD + "/assign", {"owner_id": "x"}),
    ("POST", "/leads/{lead_id}/claim"): _not_found("POST", LEAD + "/claim"),
    ("POST", "/leads/{lead_id}/release"): _not_found("POST", LEAD + "/release"),
    ("POST", "/leads/{lead_id}/reveal-phone"): _not_found("POST", LEAD + "/reveal-phone"),
    ("GET", "/leads/{lead_id}/export"): _not_found("GET", LEAD + "/export"),
    ("POST", "/leads/{lead_id}/erase"): _not_found("POST", LEAD + "/erase", {"reason": "越界"}),
    ("POST", "/leads/{lead_id}/assessments"): _not_found(
        "POST", LEAD + "/assessments", {"questionnaire_id": "q1", "answers": {"a": "b"}}
    ),
    ("POST", "/leads/{lead_id}/follow-ups"): _not_found(
        "POST", LEAD + "/follow-ups", {"method": "phone", "content": "越界"}
    ),
    ("POST", "/leads/{lead_id}/plans"): _not_found(
        "POST", LEAD + "/plans", {"planned_at": "2099-01-01T10:00:00Z", "purpose": "越界"}
    ),
    ("PATCH", "/leads/{lead_id}/plans/{plan_id}"): _not_found(
        "PATCH", LEAD + "/plans/{plan_b}", {"status": "cancelled"}
    ),
    ("POST", "/leads/{lead_id}/appointments"): _not_found(
        "POST", LEAD + "/appointments", {"kind": "visit", "at": "2099-01-10T10:00:00"}
    ),
    ("POST", "/leads/{lead_id}/walk-ins"): _not_found("POST", LEAD + "/walk-ins", {"content": "越界"}),
    ("GET", "/leads/{lead_id}/contracts"): _not_found("GET", "/leads/{member_b}/contracts", after=_b_money_unchanged),
    ("GET", "/follow-ups"): probe_follow_ups,
    ("GET", "/dashboard/today"): probe_today,
    ("GET", "/events/{event_id}/sign-in-sheet"): probe_sign_in_sheet,
    ("GET", "/appointments"): probe_appointments,
    ("PATCH", "/appointments/{appointment_id}"): _not_found(
        "PATCH", "/appointments/{appointment_b}", {"attendance": "arrived"}
    ),
    ("DELETE", "/appointments/{appointment_id}"): _not_found("DELETE", "/appointments/{appointment_b}"),
    ("PATCH", "/sessions/{session_id}"): probe_schedule_writes,
    ("POST", "/classes/{class_id}/sessions"): probe_schedule_writes,
    ("POST", "/sessions/{session_id}/check-ins"): probe_check_in,
    ("GET", "/sessions/{session_id}/roster"): _not_found(
        "GET", "/sessions/{session_b}/roster", after=_b_money_unchanged
    ),
    ("PUT", "/sessions/{session_id}/records/{lead_id}"): _not_found(
        "PUT", "/sessions/{session_b}/records/{member_b}", {"rating": 3}, after=_b_money_unchanged
    ),
    ("GET", "/audit"): probe_audit,
    ("POST", "/messages"): probe_messages,
    ("GET", "/messages"): probe_messages,
    ("GET", "/messages/{message_id}"): probe_messages,
    ("GET", "/outbox"): probe_outbox,
    ("POST", "/contracts"): probe_sign_contract,
    ("GET", "/contracts"): probe_contract_lists,
    ("GET", "/payments"): probe_contract_lists,
    ("GET", "/contracts/{contract_id}"): _not_found("GET", "/contracts/{contract_b}", after=_b_money_unchanged),
    ("POST", "/contracts/{contract_id}/payments"): _not_found(
        "POST", "/contracts/{contract_b}/payments", {"amount": "1", "method": "cash"}, after=_b_money_unchanged
    ),
    ("POST", "/contracts/{contract_id}/refunds"): _not_found(
        "POST", "/contracts/{contract_b}/refunds", {"amount": "100", "reason": "越界"}, after=_b_money_unchanged
    ),
    ("POST", "/contracts/{contract_id}/void"): _not_found(
        "POST", "/contracts/{contract_b}/void", {"reason": "越界"}, after=_b_money_unchanged
    ),
    ("POST", "/cards"): probe_cards,
    ("GET", "/cards"): probe_cards,
    ("GET", "/cards/{card_id}"): _not_found("GET", "/cards/{card_b}", after=_b_money_unchanged),
    ("PATCH", "/cards/{card_id}"): _not_found(
        "PATCH", "/cards/{card_b}", {"holder_note": "越界"}, after=_b_money_unchanged
    ),
    ("GET", "/cards/{card_id}/ledger"): _not_found("GET", "/cards/{card_b}/ledger", after=_b_money_unchanged),
    ("GET", "/cards/{card_id}/history"): _not_found("GET", "/cards/{card_b}/history", after=_b_money_unchanged),
    ("POST", "/cards/{card_id}/movements"): _not_found(
        "POST", "/cards/{card_b}/movements", {"kind": "deduction", "credits": "1"}, after=_b_money_unchanged
    ),
    ("POST", "/cards/{card_id}/contracts"): _not_found(
        "POST", "/cards/{card_b}/contracts", {"contract_id": "x"}, after=_b_money_unchanged
    ),
    ("POST", "/cards/{card_id}/sub-cards"): _not_found(
        "POST", "/cards/{card_b}/sub-cards", {"holder_lead_id": "x", "shared": True}, after=_b_money_unchanged
    ),
    ("POST", "/cards/{card_id}/report-lost"): _not_found(
        "POST", "/cards/{card_b}/report-lost", after=_b_money_unchanged
    ),
    ("POST", "/cards/{card_id}/reissue"): _not_found("POST", "/cards/{card_b}/reissue", {}, after=_b_money_unchanged),
    ("POST", "/cards/{card_id}/freeze"): _not_found(
        "POST", "/cards/{card_b}/freeze", {"reason": "越界"}, after=_b_money_unchanged
    ),
    ("POST", "/cards/{card_id}/unfreeze"): _not_found("POST", "/cards/{card_b}/unfreeze", after=_b_money_unchanged),
    ("POST", "/programmes/{programme_id}/cohorts"): probe_enrolments,
    ("POST", "/cohorts/{cohort_id}/enrolments"): probe_enrolments,
    ("GET", "/cohorts/{cohort_id}/enrolments"): probe_enrolments,
    ("POST", "/enrolments/{enrolment_id}/confirm"): probe_enrolments,
    ("POST", "/enrolments/{enrolment_id}/decline"): probe_enrolments,
    ("GET", "/receivables"): probe_receivables,
    ("POST", "/enrolments/{enrolment_id}/payments"): _not_found(
        "POST", "/enrolments/{enrolment_b}/payments", {"amount": "1", "method": "cash"}
    ),
    ("POST", "/leads/imports"): probe_imports,
    ("GET", "/leads/imports"): probe_imports,
    ("GET", "/leads/imports/{import_id}"): probe_imports,
    ("GET", "/leads/imports/{import_id}/errors"): probe_imports,
    ("GET", "/admin/frozen-users"): probe_frozen,
    ("POST", "/admin/users/{user_id}/unfreeze"): probe_frozen,
    ("GET", "/reports/funnel"): probe_reports,
    ("GET", "/reports/consultants"): probe_reports,
    ("GET", "/reports/sources"): probe_reports,
    ("GET", "/reports/finance"): probe_reports,
    ("GET", "/reports/referrals"): probe_reports,
    ("GET", "/reports/breakdown"): probe_reports,
}


def test_every_route_has_a_campus_probe_or_a_reason(app):
    registered = {(s.method, s.path) for s in REGISTRY} - PUBLIC
    assert not set(PROBES) & set(NO_CAMPUS_DATA)
    assert registered - set(NO_CAMPUS_DATA) - set(PROBES) == set(), "a new route needs a campus probe here"
    assert set(PROBES) | set(NO_CAMPUS_DATA) <= registered  # no probe of a route that is gone


def _lead(session, name, phone):
    response = session.post("/leads", {"name": name, "guardians": [{"name": name + "家长", "phones": [phone]}]})
    assert response.status_code == 201, response.body
    return response.json_body


@pytest.fixture
def two_campuses(school):
    s = school
    without_quiet_hours(s)
    s.campus_a = s.campus
    s.campus_b = s.admin.post("/campuses", {"name": "北山校区"}).json_body
    on_b = {"campus_ids": [s.campus_b["id"]]}
    s.manager_a, s.consultant_a, s.teacher_a = (s.staff(r) for r in ("manager", "consultant", "teacher"))
    s.manager_b, s.consultant_b = s.staff("manager", **on_b), s.staff("consultant", **on_b)
    s.lead_a = _lead(s.consultant_a, "A 的孩子", "13700137002")
    s.lead_b = _lead(s.consultant_b, "B 的孩子", B_PHONE)
    s.member_b = _lead(s.consultant_b, "B 会员", "13700137003")
    for who, lead in ((s.consultant_a, s.lead_a), (s.consultant_b, s.lead_b)):
        url = f"/leads/{lead['id']}"
        assert who.post(f"{url}/follow-ups", {"method": "phone", "content": "跟进"}).status_code == 201
        assert who.get(url).status_code == 200  # an audit entry about the lead
    s.plan_b = s.consultant_b.post(
        f"/leads/{s.lead_b['id']}/plans", {"planned_at": "2099-01-01T10:00:00Z", "purpose": "B 的计划"}
    ).json_body["plan"]
    # an event of the whole school, with a guest of each campus
    s.event = s.admin.post("/events", {"name": "全校活动", "starts_at": "2099-02-01T10:00:00", "capacity": 5}).json_body
    for who, lead in ((s.consultant_a, s.lead_a), (s.consultant_b, s.lead_b)):
        booked = who.post(f"/leads/{lead['id']}/appointments", {"kind": "event", "event_id": s.event["id"]})
        assert booked.status_code == 201, booked.body
    s.appointment_b = s.consultant_b.post(
        f"/leads/{s.lead_b['id']}/appointments", {"kind": "visit", "at": "2099-01-10T10:00:00"}
    ).json_body
    course = s.admin.post("/courses", {"name": "B 课", "lesson_cost": "1"}).json_body
    s.class_b = s.manager_b.post(
        "/classes",
        {
            "course_id": course["id"],
            "campus_id": s.campus_b["id"],
            "teacher": "B 老师",
            "capacity": 3,
            "slots": [{"weekday": 1, "start": "10:00", "end": "11:00"}],
            "start_date": "2099-01-05",
            "end_date": "2099-01-05",
        },
    ).json_body
    s.session_b = s.manager_b.post(
        f"/classes/{s.class_b['id']}/sessions", {"from": "2099-01-05", "to": "2099-01-05"}
    ).json_body["sessions"][0]
    s.contract_b = s.consultant_b.post(
        "/contracts",
        {
            "lead_ids": [s.member_b["id"]],
            "credits": "10",
            "price": "500.00",
            "starts_on": "2026-01-01",
            "ends_on": "2099-12-31",
        },
    ).json_body
    s.manager_b.post(f"/contracts/{s.contract_b['id']}/payments", {"amount": "100.00", "method": "cash"})
    s.card_b = s.manager_b.post(
        "/cards", {"holder_lead_id": s.member_b["id"], "contract_ids": [s.contract_b["id"]], "number": "B-CARD-1"}
    ).json_body
    assert s.card_b.get("id"), s.card_b

    def send(who, lead_ids):
        body = {
            "channel": "sms",
            "purpose": "notice",
            "text": "您好 {{ learner.name }}",
            "recipients": {"lead_ids": lead_ids},
        }
        message = who.post("/messages", body).json_body
        assert message.get("id"), message
        return message

    s.message_b = send(s.manager_b, [s.lead_b["id"]])
    s.message_a = send(s.manager_a, [s.lead_a["id"]])
    s.message_both = send(s.admin, [s.lead_a["id"], s.lead_b["id"]])
    s.programme = s.admin.post("/programmes", {"name": "全校课程"}).json_body
    s.cohort_b = s.manager_b.post(
        f"/programmes/{s.programme['id']}/cohorts",
        {"campus_id": s.campus_b["id"], "name": "B 班", "starts_on": "2099-03-01", "price": "1.00", "seats": 2},
    ).json_body
    s.enrolment_b = s.consultant_b.post(
        f"/cohorts/{s.cohort_b['id']}/enrolments", {"lead_id": s.lead_b["id"]}
    ).json_body
    upload = {"Content-Type": "application/octet-stream"}
    sheet = "姓名,电话\nB 的孩子二,13700137555\n".encode("gbk")
    s.import_b = s.manager_b.post(f"/leads/imports?campus_id={s.campus_b['id']}", sheet, headers=upload).json_body
    assert s.import_b.get("id"), s.import_b
    s.manager_a.get("/me")
    s.ids = {
        "lead_b": s.lead_b["id"],
        "member_b": s.member_b["id"],
        "plan_b": s.plan_b["id"],
        "appointment_b": s.appointment_b["id"],
        "contract_b": s.contract_b["id"],
        "card_b": s.card_b["id"],
        "session_b": s.session_b["id"],
        "enrolment_b": s.enrolment_b["id"],
    }
    return s


@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1]}")
def test_campus_a_cannot_touch_campus_b(two_campuses, route):
    with telemetry.record() as rec:
        PROBES[route](two_campuses)
    assert "Scan" not in rec.operations
