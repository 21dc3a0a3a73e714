"""A token of school B can read, list or change nothing of school A, on every route.

Every registered route must have a probe here: adding a route without one fails
`test_every_route_has_an_isolation_probe`.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from chalicelib.api.routing import REGISTRY
from chalicelib.db import telemetry

PUBLIC = {
    ("POST", "/auth/login"),
    ("GET", "/openapi.json"),
    ("GET", "/public/cohorts"),
    ("POST", "/public/applications"),
}


def _ids(items):
    return {i["id"] for i in items}


def probe_me(a, b):
    body = b.admin.get("/me").json_body
    assert body["tenant"]["slug"] == b.slug
    assert body["user"]["id"] != a.admin.user["id"]


def probe_create_campus(a, b):
    before = _ids(a.admin.get("/campuses").json_body["items"])
    assert b.admin.post("/campuses", {"name": "B 校区"}).status_code == 201
    assert _ids(a.admin.get("/campuses").json_body["items"]) == before
    # the request cannot name a tenant
    smuggled = b.admin.post("/campuses", {"name": "x", "tenant": a.slug})
    assert smuggled.status_code == 400


def probe_list_campuses(a, b):
    assert not _ids(b.admin.get("/campuses").json_body["items"]) & _ids(a.admin.get("/campuses").json_body["items"])


def probe_create_user(a, b):
    body = {
        "username": "spy",
        "password": "long-enough-pass",
        "display_name": "spy",
        "role": "consultant",
        "campus_ids": [a.campus["id"]],
    }
    response = b.admin.post("/users", body)
    assert response.status_code == 400  # A's campus does not exist for B
    assert "spy" not in {u["username"] for u in a.admin.get("/users").json_body["items"]}


def probe_list_users(a, b):
    assert a.consultant.user["id"] not in _ids(b.admin.get("/users").json_body["items"])
    team = b.admin.get(f"/users?supervisor_id={a.supervisor.user['id']}").json_body["items"]
    assert team == []


def probe_get_user(a, b):
    response = b.admin.get(f"/users/{a.consultant.user['id']}")
    assert response.status_code == 404
    assert a.consultant.user["username"] not in response.body.decode()


def probe_patch_user(a, b):
    response = b.admin.patch(f"/users/{a.consultant.user['id']}", {"active": False, "display_name": "pwned"})
    assert response.status_code == 404
    after = a.admin.get(f"/users/{a.consultant.user['id']}").json_body
    assert after["active"] is True and after["display_name"] == a.consultant.user["display_name"]
    assert a.consultant.get("/me").status_code == 200


def probe_reset_password(a, b):
    response = b.admin.post(f"/users/{a.consultant.user['id']}/password", {"password": "another-school-pw-2026"})
    assert response.status_code == 404
    assert a.consultant.get("/me").status_code == 200  # A's session lives on; its password is A's own


def probe_offboard(a, b):
    # B cannot offboard A's consultant, nor hand B's consultant's work to A's, nor read A's handovers
    response = b.admin.post(f"/users/{a.consultant.user['id']}/offboard", {"handover_to": "pool"})
    assert response.status_code == 404
    assert a.consultant.get("/me").status_code == 200
    assert a.admin.get(f"/leads/{a.lead['id']}").json_body["owner_id"] == a.consultant.user["id"]
    other = b.staff("consultant")
    smuggled = b.admin.post(f"/users/{other.user['id']}/offboard", {"handover_to": a.consultant.user["id"]})
    assert smuggled.status_code == 400 and other.get("/me").status_code == 200
    assert b.admin.get(f"/users/{a.consultant.user['id']}/offboarding").status_code == 404


def probe_employee_record(a, b):
    path = f"/users/{a.consultant.user['id']}/record"
    assert a.admin.put(path, {"notes": "A 的档案", "id_number": "11010519491231002X"}).status_code == 200
    read = b.admin.get(path)
    assert read.status_code == 404 and "A 的档案" not in read.body.decode()
    assert b.admin.put(path, {"notes": "B 改的"}).status_code == 404
    assert a.admin.get(path).json_body["notes"] == "A 的档案"


def _a_lead(a):
    return a.lead["id"]


def probe_create_lead(a, b):
    # the same phone in another school is no duplicate, and reveals nothing of A's lead
    response = b.admin.post(
        "/leads",
        {"name": "B 的孩子", "campus_id": b.campus["id"], "guardians": [{"name": "家长", "phones": [a.lead_phone]}]},
    )
    assert response.status_code == 201
    assert a.admin.get(f"/leads/{_a_lead(a)}").json_body["name"] == "A 的孩子"


def probe_list_leads(a, b):
    for query in ("", "?scope=pool", f"?q={a.lead_phone}", "?q=A"):
        assert _a_lead(a) not in _ids(b.admin.get(f"/leads{query}").json_body["items"])


def probe_recycle_bin(a, b):
    assert a.admin.delete(f"/leads/{a.deleted_lead}").status_code == 204
    assert a.deleted_lead not in _ids(b.admin.get("/leads/recycle-bin").json_body["items"])


def _lead_route_404(method, suffix, body=None, who="admin"):
    def probe(a, b):
        response = getattr(b, who).request(method, f"/leads/{_a_lead(a)}{suffix}", body)
        assert response.status_code == 404, response.body
        assert "A 的孩子" not in response.body.decode()
        after = a.admin.get(f"/leads/{_a_lead(a)}").json_body
        assert after["deleted_at"] is None and after["name"] == "A 的孩子"
        assert after["owner_id"] == a.consultant.user["id"]

    return probe


def _both(*probes):
    """One route probed in each of its answers (?format=)."""

    def probe(a, b):
        for each in probes:
            each(a, b)

    return probe


def probe_dictionary(a, b):
    a.admin.put("/settings/dictionaries/sources", {"entries": [{"key": "a_only", "label": "A 的来源"}]})
    b.admin.put("/settings/dictionaries/sources", {"entries": [{"key": "b_only", "label": "B 的来源"}]})
    assert [e["key"] for e in a.admin.get("/settings/dictionaries/sources").json_body["entries"]] == ["a_only"]
    assert [e["key"] for e in b.admin.get("/settings/dictionaries/sources").json_body["entries"]] == ["b_only"]


def probe_custom_lists_and_fields(a, b):
    entries = [{"key": "teacher", "label": "教师"}]
    assert a.admin.put("/settings/dictionaries/occupation", {"entries": entries}).status_code == 200
    fields = [{"key": "occupation", "label": "职业", "type": "list", "list": "occupation"}]
    assert a.admin.put("/settings/lead-fields", {"fields": fields}).status_code == 200
    assert b.admin.get("/settings/dictionaries/occupation").status_code == 404
    assert "occupation" not in [d["kind"] for d in b.admin.get("/settings/dictionaries").json_body["items"]]
    assert b.admin.get("/settings/lead-fields").json_body["fields"] == []
    b.admin.put("/settings/lead-fields", {"fields": []})
    assert len(a.admin.get("/settings/lead-fields").json_body["fields"]) == 1


def probe_lead_settings(a, b):
    b.admin.patch("/settings/leads", {"protection_days": 2})
    assert a.admin.get("/settings/leads").json_body["protection_days"] == 30


def probe_assessment(a, b):
    config = {"questionnaires": [], "levels": [{"level": "B-only", "min_score": 0}]}
    assert b.admin.put("/settings/assessment", config).status_code == 200
    assert a.admin.get("/settings/assessment").json_body["levels"] == []


def probe_follow_ups(a, b):
    for query in ("", f"?lead={_a_lead(a)}", f"?consultant={a.consultant.user['id']}"):
        response = b.admin.get(f"/follow-ups{query}")
        assert response.status_code in (200, 404)
        assert "A 的跟进" not in response.body.decode()


def probe_patch_plan(a, b):
    response = b.admin.patch(f"/leads/{_a_lead(a)}/plans/{a.plan['id']}", {"status": "cancelled"})
    assert response.status_code == 404
    plans = a.admin.get(f"/leads/{_a_lead(a)}").json_body["plans"]
    assert plans[0]["status"] == "open"


def probe_today(a, b):
    today = b.admin.get("/dashboard/today").json_body
    names = [i["name"] for bucket in ("contacts_due", "contacts_overdue") for i in today[bucket]["items"]]
    assert "A 的孩子" not in names


def probe_courses_and_classes(a, b):
    assert b.admin.post("/courses", {"name": "B 课程", "lesson_cost": "1"}).status_code == 201
    assert a.course["id"] not in _ids(b.admin.get("/courses").json_body["items"])
    assert a.cls["id"] not in _ids(b.admin.get("/classes").json_body["items"])
    assert "B 课程" not in {c["name"] for c in a.admin.get("/courses").json_body["items"]}


def probe_create_class(a, b):
    response = b.admin.post(
        "/classes",
        {
            "course_id": a.course["id"],
            "campus_id": b.campus["id"],
            "teacher": "x",
            "capacity": 1,
            "slots": [{"weekday": 1, "start": "10:00", "end": "11:00"}],
            "start_date": "2099-01-05",
            "end_date": "2099-01-06",
        },
    )
    assert response.status_code == 400  # A's course is unknown to B


def probe_generate_sessions(a, b):
    response = b.admin.post(f"/classes/{a.cls['id']}/sessions", {"from": "2099-01-05", "to": "2099-01-06"})
    assert response.status_code == 404


def probe_sessions(a, b):
    assert b.admin.get(f"/sessions?date={a.session['date']}").json_body["items"] == []
    assert b.admin.patch(f"/sessions/{a.session['id']}", {"capacity": 99}).status_code == 404
    assert a.admin.get(f"/sessions?date={a.session['date']}").json_body["items"][0]["capacity"] == 3


def probe_events(a, b):
    assert (
        b.admin.post("/events", {"name": "B 活动", "starts_at": "2099-01-05T10:00:00", "capacity": 1}).status_code
        == 201
    )
    assert a.event["id"] not in _ids(b.admin.get(f"/events?date={a.event_day}").json_body["items"])
    assert b.admin.get(f"/events/{a.event['id']}").status_code == 404
    sheet = b.admin.get(f"/events/{a.event['id']}/sign-in-sheet")
    assert sheet.status_code == 404 and "A 的孩子" not in sheet.body.decode()


def probe_appointments(a, b):
    assert a.appointment["id"] not in _ids(b.admin.get("/appointments").json_body["items"])
    for method, body in (("PATCH", {"attendance": "arrived"}), ("DELETE", None)):
        response = b.admin.request(method, f"/appointments/{a.appointment['id']}", body)
        assert response.status_code == 404
    mine = a.admin.get("/appointments").json_body["items"]
    assert [(x["status"], x["attendance"]) for x in mine if x["id"] == a.appointment["id"]] == [("booked", None)]


def probe_notifications(a, b):
    assert b.consultant.get("/notifications").json_body["items"] == []


def _a_money_unchanged(a):
    contract = a.admin.get(f"/contracts/{a.contract['id']}").json_body
    assert (contract["paid"], contract["refunded"], contract["status"]) == ("100.00", "0.00", "partly_paid")
    card = a.admin.get(f"/cards/{a.card['id']}").json_body
    assert (card["status"], card["credits"], card["cash"], card["number"]) == ("active", "10.00", "0.00", "A-CARD-1")
    assert card["sub_card_ids"] == [] and card["lots"][0]["ends_on"] == a.contract["ends_on"]


def _contract_route_404(method, suffix, body=None):
    def probe(a, b):
        response = b.admin.request(method, f"/contracts/{a.contract['id']}{suffix}", body)
        assert response.status_code == 404, response.body
        assert "A 会员" not in response.body.decode()
        _a_money_unchanged(a)

    return probe


def _card_route_404(method, suffix, body=None):
    def probe(a, b):
        response = b.admin.request(method, f"/cards/{a.card['id']}{suffix}", body)
        assert response.status_code == 404, response.body
        assert "A 会员" not in response.body.decode() and "A-CARD-1" not in response.body.decode()
        _a_money_unchanged(a)

    return probe


def probe_sign_contract(a, b):
    body = {
        "lead_ids": [a.member["id"]],
        "credits": "1",
        "price": "1",
        "starts_on": "2099-01-01",
        "ends_on": "2099-02-01",
    }
    assert b.admin.post("/contracts", body).status_code == 404
    assert [c["id"] for c in a.admin.get(f"/leads/{a.member['id']}/contracts").json_body["items"]] == [a.contract["id"]]


def probe_contract_lists(a, b):
    day = a.contract["signed_on"]
    assert b.admin.get(f"/contracts?from={day}&to={day}").json_body["items"] == []
    assert b.admin.get(f"/payments?from={day}&to={day}").json_body["items"] == []
    assert b.admin.get(f"/leads/{a.member['id']}/contracts").status_code == 404
    assert len(a.admin.get(f"/payments?from={day}&to={day}").json_body["items"]) == 1


def probe_open_card(a, b):
    response = b.admin.post("/cards", {"holder_lead_id": a.member["id"], "contract_ids": [a.contract["id"]]})
    assert response.status_code == 404
    # the same printed number is free in another school, and finds nothing of A's
    assert b.admin.get("/cards?number=A-CARD-1").json_body["items"] == []
    assert b.admin.get(f"/cards?lead_id={a.member['id']}").status_code == 404
    _a_money_unchanged(a)


def probe_check_in(a, b):
    response = b.admin.post(f"/sessions/{a.session['id']}/check-ins", {"lead_id": a.member["id"]})
    assert response.status_code == 404
    _a_money_unchanged(a)


def probe_teaching(a, b):
    """A's session's roster and records (issue 19, part 2): nothing of it for B's admin."""
    assert b.admin.get(f"/me/sessions?date={a.session['date']}").json_body["items"] == []
    roster = b.admin.get(f"/sessions/{a.session['id']}/roster")
    assert roster.status_code == 404 and "A 的孩子" not in roster.body.decode()
    record = b.admin.put(f"/sessions/{a.session['id']}/records/{a.lead['id']}", {"rating": 1})
    assert record.status_code == 404
    mine = a.admin.get(f"/sessions/{a.session['id']}/roster").json_body["items"]
    assert [(e["name"], e["record"]) for e in mine] == [("A 的孩子", None)]


def probe_card_settings(a, b):
    b.admin.patch("/settings/cards", {"exchange_rate": "99.00"})
    assert a.admin.get("/settings/cards").json_body["exchange_rate"] is None


def probe_templates(a, b):
    assert a.template["id"] not in _ids(b.admin.get("/templates").json_body["items"])
    assert b.admin.get(f"/templates/{a.template['id']}").status_code == 404
    body = {"name": "B", "channel": "sms", "body": "B 的模板"}
    assert b.admin.put(f"/templates/{a.template['id']}", body).status_code == 404
    assert b.admin.delete(f"/templates/{a.template['id']}").status_code == 404
    assert b.admin.post("/templates", body).status_code == 201
    mine = a.admin.get(f"/templates/{a.template['id']}").json_body
    assert mine["body"] == "A 的模板 {{ learner.name }}"
    assert "B" not in {t["name"] for t in a.admin.get("/templates").json_body["items"]}


def probe_template_preview(a, b):
    """Rendered on the fixed sample data, never on a school's: B sees nothing of A's."""
    offered = b.admin.get("/templates/variables").json_body["items"]
    assert offered == a.admin.get("/templates/variables").json_body["items"]
    preview = b.admin.post("/templates/preview", {"channel": "sms", "body": "{{ learner.name }} {{ school.name }}"})
    assert preview.status_code == 200 and "A 的" not in preview.json_body["text"]
    assert a.admin.get("/templates").json_body["items"] == [a.template]  # a preview saves nothing


def probe_messages(a, b):
    assert b.admin.get("/messages").json_body["items"] == []
    record = b.admin.get(f"/messages/{a.message['id']}")
    assert record.status_code == 404 and "A 会员" not in record.body.decode()
    # B cannot send to A's leads: they do not exist for B
    sent = b.admin.post(
        "/messages",
        {"channel": "sms", "purpose": "notice", "text": "x", "recipients": {"lead_ids": [a.member["id"]]}},
    ).json_body
    assert (sent["sent"], sent["skipped_by_reason"]) == (0, {"not_found": 1})
    assert all("A 会员" not in e["body"] for e in b.admin.get("/outbox").json_body["items"])
    assert a.message["id"] not in {e["reference"].split("#")[0] for e in b.admin.get("/outbox").json_body["items"]}


def probe_messaging_settings(a, b):
    b.admin.patch("/settings/messaging", {"quiet_from": "18:00"})
    assert a.admin.get("/settings/messaging").json_body["quiet_from"] == "21:00"


def probe_reports(a, b):
    from datetime import date

    today = date.today().isoformat()
    for path in ("/reports/funnel", "/reports/consultants"):
        assert b.admin.get(f"{path}?from={today}&to={today}&campus={a.campus['id']}").status_code in (200, 400)
    funnel = b.admin.get(f"/reports/funnel?from={today}&to={today}").json_body
    assert funnel["campus"] is None and funnel["contracts"] == 0  # B's stream figures only (none were pumped)
    rows = b.admin.get(f"/reports/consultants?from={today}&to={today}").json_body["items"]
    assert a.consultant.user["id"] not in {r["user_id"] for r in rows}
    assert b.admin.get(f"/reports/sources?from={today}&to={today}").json_body["items"] == []
    assert b.admin.get(f"/reports/finance?from={today}&to={today}").json_body["revenue"] == "0.00"
    assert b.admin.get(f"/reports/referrals?from={today}&to={today}").json_body["items"] == []
    breakdown = b.admin.get(f"/reports/breakdown?field=source&from={today}&to={today}").json_body
    assert (breakdown["leads"], breakdown["members"]) == (0, 0)  # A's leads are none of B's figures


def probe_audit(a, b):
    mine = b.admin.get("/audit").json_body["items"]
    assert all(e.get("user_id") != a.consultant.user["id"] for e in mine)
    assert b.admin.get(f"/audit?user={a.consultant.user['id']}").json_body["items"] == []
    assert b.admin.get(f"/audit?lead={a.lead['id']}").json_body["items"] == []
    assert a.admin.get(f"/audit?lead={a.lead['id']}").json_body["items"]  # A's own audit has them


def probe_frozen(a, b):
    assert b.admin.get("/admin/frozen-users").json_body["items"] == []
    answer = b.admin.post(f"/admin/users/{a.consultant.user['id']}/unfreeze", {"reason": "B"})
    assert answer.status_code == 404
    assert b.admin.patch("/settings/security", {"reads_per_minute": 1}).status_code == 200
    assert a.admin.get("/settings/security").json_body["reads_per_minute"] == 120


def probe_usage(a, b):
    from datetime import date

    usage = b.admin.get(f"/usage?month={date.today():%Y-%m}").json_body
    assert usage["tenant"] == b.slug


def probe_export(a, b):
    exported = b.admin.get("/leads/export?format=csv")
    assert exported.status_code == 200
    text = exported.body.decode("utf-8")
    assert "A 的孩子" not in text and "A 会员" not in text and a.lead_phone not in text


def probe_board(a, b):
    notice = a.admin.post("/announcements", {"title": "A 的公告", "body": "A"}).json_body
    phrase = a.admin.post("/glossary", {"category": "other", "text": "A 的话术"}).json_body
    assert all(x["title"] != "A 的公告" for x in b.admin.get("/announcements").json_body["items"])
    assert b.admin.post(f"/announcements/{notice['id']}/read").status_code == 404
    assert b.admin.delete(f"/announcements/{notice['id']}").status_code == 404
    assert b.admin.get("/glossary").json_body["items"] == []
    assert b.admin.delete(f"/glossary/{phrase['id']}").status_code == 404
    assert b.admin.patch(f"/glossary/{phrase['id']}", {"text": "B 改的"}).status_code == 404
    b.admin.post("/announcements", {"title": "B", "body": "B"})
    b.admin.post("/glossary", {"category": "faq", "text": "B"})
    assert [x["title"] for x in a.admin.get("/announcements").json_body["items"]] == ["A 的公告"]
    assert [x["text"] for x in a.admin.get("/glossary").json_body["items"]] == ["A 的话术"]


def probe_attachments(a, b):
    from chalicelib.db import keys
    from chalicelib.storage import store

    asked = {"file_name": "A 的课表.pdf", "content_type": "application/pdf"}
    slot = a.admin.post("/announcements/attachments", asked).json_body
    store().put(keys.attachment_upload(a.slug, slot["attachment_id"]), b"%PDF A", "application/pdf")
    ref = {"attachment_id": slot["attachment_id"], **asked}
    notice = a.admin.post("/announcements", {"title": "A", "body": "A", "attachment": ref}).json_body
    assert b.admin.get(f"/announcements/{notice['id']}/attachment").status_code == 404
    stolen = b.admin.post("/announcements", {"title": "B", "body": "B", "attachment": ref})
    assert stolen.status_code == 400 and stolen.json_body["error"]["code"] == "ATTACHMENT_NOT_UPLOADED"
    theirs = b.admin.post("/announcements/attachments", asked).json_body
    assert f"attachments/{b.slug}/" in urllib.parse.unquote(theirs["upload_url"])
    assert a.slug not in theirs["upload_url"]


def probe_imports(a, b):
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = f"姓名,电话\nB 的孩子,{a.lead_phone}\nA 的孩子,13900139077\n".encode("gbk")
    # B imports A's lead's phone: B's school does not have it, so it becomes B's own lead
    upload = {"Content-Type": "application/octet-stream"}
    mine = b.admin.post(f"/leads/imports?campus_id={b.campus['id']}", sheet, headers=upload).json_body
    assert mine["counts"]["imported"] == 2 and mine["counts"]["already_in_school"] == 0
    theirs = a.admin.post(f"/leads/imports?campus_id={a.campus['id']}", sheet, headers=upload).json_body
    assert theirs["counts"]["already_in_school"] == 1
    assert b.admin.get(f"/leads/imports/{theirs['id']}").status_code == 404
    assert b.admin.post(f"/leads/imports?campus_id={a.campus['id']}", sheet, headers=upload).status_code == 400
    assert b.admin.get(f"/leads/imports/{theirs['id']}/errors", headers={"Accept": xlsx}).status_code == 404
    assert [i["id"] for i in b.admin.get("/leads/imports").json_body["items"]] == [mine["id"]]
    template = b.admin.get("/leads/import-template", headers={"Accept": xlsx})
    assert template.status_code == 200 and "A 的".encode() not in template.body


def probe_programmes(a, b):
    programme = a.admin.post("/programmes", {"name": "A 的课程"}).json_body
    cohort_body = {"campus_id": a.campus["id"], "name": "A 班", "starts_on": "2099-03-01", "price": "1.00", "seats": 2}
    cohort = a.admin.post(f"/programmes/{programme['id']}/cohorts", cohort_body).json_body
    enrolment = a.admin.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": a.lead["id"]}).json_body
    a.admin.post(f"/enrolments/{enrolment['id']}/confirm")
    assert all(p["name"] != "A 的课程" for p in b.admin.get("/programmes").json_body["items"])
    assert b.admin.get(f"/programmes/{programme['id']}").status_code == 404
    assert b.admin.patch(f"/programmes/{programme['id']}", {"name": "pwned"}).status_code == 404
    b_cohort = {**cohort_body, "campus_id": b.campus["id"]}
    assert b.admin.post(f"/programmes/{programme['id']}/cohorts", b_cohort).status_code == 404
    assert b.admin.get("/cohorts?from=2000-01-01").json_body["items"] == []
    assert b.admin.get(f"/cohorts?programme_id={programme['id']}&from=2000-01-01").json_body["items"] == []
    assert b.admin.get(f"/cohorts/open?programme_id={programme['id']}").json_body["items"] == []
    assert b.admin.get("/cohorts/open").json_body["items"] == []
    assert b.admin.get(f"/cohorts/{cohort['id']}").status_code == 404
    assert b.admin.patch(f"/cohorts/{cohort['id']}", {"status": "cancelled", "seats": 1}).status_code == 404
    assert b.admin.get(f"/cohorts/{cohort['id']}/enrolments").status_code == 404
    b_lead = b.consultant.post("/leads", {"name": "B 的孩子", "guardians": [{"name": "B", "phones": ["13900139555"]}]})
    for lead_id in (a.lead["id"], b_lead.json_body["id"]):
        assert b.admin.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": lead_id}).status_code == 404
    assert b.admin.post(f"/enrolments/{enrolment['id']}/decline").status_code == 404
    assert b.admin.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 404
    seen = a.admin.get(f"/cohorts/{cohort['id']}").json_body
    assert (seen["status"], seen["seats"], seen["confirmed"], seen["pending"]) == ("open", 2, 1, 0)
    assert a.admin.get(f"/programmes/{programme['id']}").json_body["name"] == "A 的课程"
    b.admin.post("/programmes", {"name": "B 的课程"})
    assert [p["name"] for p in a.admin.get("/programmes").json_body["items"]] == ["A 的课程"]


def probe_receivables(a, b):
    """A's member owes (an instalment, an enrolment): B's admin lists nothing of it, pays nothing of it."""
    programme = a.admin.post("/programmes", {"name": "A 的课程"}).json_body
    cohort_body = {"campus_id": a.campus["id"], "name": "A 班", "starts_on": "2099-03-01", "price": "9.00", "seats": 2}
    cohort = a.admin.post(f"/programmes/{programme['id']}/cohorts", cohort_body).json_body
    enrolment = a.admin.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": a.lead["id"]}).json_body
    assert a.admin.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 200
    owed = {r["source_id"] for r in a.admin.get("/receivables").json_body["items"]}
    assert {a.contract["id"], enrolment["id"]} <= owed
    for query in ("", "?status=paid", "?status=overdue", f"?campus={a.campus['id']}"):
        response = b.admin.get(f"/receivables{query}")
        assert response.status_code == 200 and response.json_body["items"] == [], response.body
    assert b.admin.get(f"/receivables?consultant={a.consultant.user['id']}").json_body["items"] == []
    paid = b.admin.post(f"/enrolments/{enrolment['id']}/payments", {"amount": "1.00", "method": "cash"})
    assert paid.status_code == 404
    assert a.admin.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"][0]["paid"] == "0.00"


def probe_api_keys(a, b):
    key = a.admin.post("/settings/api-keys", {"name": "A 官网", "campus_id": a.campus["id"]}).json_body
    assert b.admin.post("/settings/api-keys", {"name": "B", "campus_id": a.campus["id"]}).status_code == 400
    assert key["id"] not in _ids(b.admin.get("/settings/api-keys").json_body["items"])
    assert b.admin.delete(f"/settings/api-keys/{key['id']}").status_code == 404
    assert [k["revoked"] for k in a.admin.get("/settings/api-keys").json_body["items"]] == [False]
    # A's key reaches only A: the lead lands with A, even with the phone of a lead of B's
    b_phone = "13700137000"
    b.admin.post(
        "/leads", {"name": "B 的孩子", "campus_id": b.campus["id"], "guardians": [{"name": "B", "phones": [b_phone]}]}
    )
    form = {"learner_name": "网上报名", "guardian_name": "家长", "phone": b_phone, "consent": True}
    headers = {"X-Api-Key": key["key"], "Content-Type": "application/json"}
    assert a.client.http.post("/public/applications", headers=headers, body=json.dumps(form)).status_code == 202
    assert [x["name"] for x in a.admin.get(f"/leads?q={b_phone}").json_body["items"]] == ["网上报名"]
    assert [x["name"] for x in b.admin.get(f"/leads?q={b_phone}").json_body["items"]] == ["B 的孩子"]


def probe_patch_campus(a, b):
    response = b.admin.patch(f"/campuses/{a.campus['id']}", {"duty_consultant_id": b.consultant.user["id"]})
    assert response.status_code == 404
    assert b.admin.patch(f"/campuses/{a.campus['id']}", {"name": "B 改的名"}).status_code == 404
    names = {c["id"]: c["name"] for c in a.admin.get("/campuses?limit=100").json_body["items"]}
    assert names[a.campus["id"]] == a.campus["name"]
    # nor can A's campus name B's consultant
    response = a.admin.patch(f"/campuses/{a.campus['id']}", {"duty_consultant_id": b.consultant.user["id"]})
    assert response.status_code == 400
    assert {c["id"]: c for c in a.admin.get("/campuses").json_body["items"]}[a.campus["id"]][
        "duty_consultant_id"
    ] is None


PROBES = {
    ("GET", "/me"): probe_me,
    ("POST", "/campuses"): probe_create_campus,
    ("GET", "/campuses"): probe_list_campuses,
    ("POST", "/users"): probe_create_user,
    ("GET", "/users"): probe_list_users,
    ("GET", "/users/{user_id}"): probe_get_user,
    ("PATCH", "/users/{user_id}"): probe_patch_user,
    ("POST", "/users/{user_id}/password"): probe_reset_password,
    ("POST", "/users/{user_id}/offboard"): probe_offboard,
    ("GET", "/users/{user_id}/offboarding"): probe_offboard,
    ("GET", "/users/{user_id}/record"): probe_employee_record,
    ("PUT", "/users/{user_id}/record"): probe_employee_record,
    ("POST", "/leads"): probe_create_lead,
    ("GET", "/leads"): probe_list_leads,
    ("GET", "/leads/recycle-bin"): probe_recycle_bin,
    ("GET", "/leads/export"): probe_export,
    ("GET", "/leads/{lead_id}"): _both(_lead_route_404("GET", ""), _lead_route_404("GET", "?format=html")),
    ("GET", "/leads/{lead_id}/history"): _lead_route_404("GET", "/history"),
    ("GET", "/leads/{lead_id}/appointments"): _lead_route_404("GET", "/appointments"),
    ("PATCH", "/leads/{lead_id}"): _lead_route_404("PATCH", "", {"name": "pwned"}),
    ("DELETE", "/leads/{lead_id}"): _lead_route_404("DELETE", ""),
    ("POST", "/leads/{lead_id}/restore"): _lead_route_404("POST", "/restore"),
    ("POST", "/leads/{lead_id}/assign"): lambda a, b: _lead_route_404(
        "POST", "/assign", {"owner_id": b.consultant.user["id"]}
    )(a, b),
    ("POST", "/leads/{lead_id}/claim"): _lead_route_404("POST", "/claim", who="consultant"),
    ("POST", "/leads/{lead_id}/release"): _lead_route_404("POST", "/release"),
    ("POST", "/leads/{lead_id}/reveal-phone"): _lead_route_404("POST", "/reveal-phone"),
    ("GET", "/leads/{lead_id}/export"): _lead_route_404("GET", "/export"),
    ("POST", "/leads/{lead_id}/erase"): _lead_route_404("POST", "/erase", {"reason": "pwned"}),
    ("POST", "/leads/{lead_id}/assessments"): _lead_route_404(
        "POST", "/assessments", {"questionnaire_id": "q", "answers": {"x": "y"}}
    ),
    ("POST", "/leads/{lead_id}/follow-ups"): _lead_route_404(
        "POST", "/follow-ups", {"method": "phone", "content": "B 的跟进"}
    ),
    ("GET", "/follow-ups"): probe_follow_ups,
    ("POST", "/leads/{lead_id}/plans"): _lead_route_404(
        "POST", "/plans", {"planned_at": "2099-01-01T10:00:00Z", "purpose": "x"}
    ),
    ("PATCH", "/leads/{lead_id}/plans/{plan_id}"): probe_patch_plan,
    ("GET", "/dashboard/today"): probe_today,
    ("POST", "/courses"): probe_courses_and_classes,
    ("GET", "/courses"): probe_courses_and_classes,
    ("POST", "/classes"): probe_create_class,
    ("GET", "/classes"): probe_courses_and_classes,
    ("POST", "/classes/{class_id}/sessions"): probe_generate_sessions,
    ("GET", "/sessions"): probe_sessions,
    ("PATCH", "/sessions/{session_id}"): probe_sessions,
    ("POST", "/events"): probe_events,
    ("GET", "/events"): probe_events,
    ("GET", "/events/{event_id}"): probe_events,
    ("GET", "/events/{event_id}/sign-in-sheet"): probe_events,
    ("POST", "/leads/{lead_id}/appointments"): _lead_route_404(
        "POST", "/appointments", {"kind": "visit", "at": "2099-01-01T10:00:00"}
    ),
    ("GET", "/appointments"): probe_appointments,
    ("PATCH", "/appointments/{appointment_id}"): probe_appointments,
    ("DELETE", "/appointments/{appointment_id}"): probe_appointments,
    ("POST", "/leads/{lead_id}/walk-ins"): _lead_route_404("POST", "/walk-ins", {"content": "B 的到访"}),
    ("GET", "/notifications"): lambda a, b: probe_notifications(a, b),
    ("GET", "/settings/dictionaries/{kind}"): probe_dictionary,
    ("PUT", "/settings/dictionaries/{kind}"): probe_dictionary,
    ("GET", "/settings/dictionaries"): probe_custom_lists_and_fields,
    ("GET", "/settings/lead-fields"): probe_custom_lists_and_fields,
    ("PUT", "/settings/lead-fields"): probe_custom_lists_and_fields,
    ("GET", "/settings/leads"): probe_lead_settings,
    ("PATCH", "/settings/leads"): probe_lead_settings,
    ("GET", "/settings/assessment"): probe_assessment,
    ("PUT", "/settings/assessment"): probe_assessment,
    ("GET", "/settings/cards"): probe_card_settings,
    ("PATCH", "/settings/cards"): probe_card_settings,
    ("POST", "/contracts"): probe_sign_contract,
    ("GET", "/contracts"): probe_contract_lists,
    ("GET", "/payments"): probe_contract_lists,
    ("GET", "/leads/{lead_id}/contracts"): probe_contract_lists,
    ("GET", "/contracts/{contract_id}"): _contract_route_404("GET", ""),
    ("POST", "/contracts/{contract_id}/payments"): _contract_route_404(
        "POST", "/payments", {"amount": "1", "method": "cash"}
    ),
    ("POST", "/contracts/{contract_id}/refunds"): _contract_route_404(
        "POST", "/refunds", {"amount": "100", "reason": "B"}
    ),
    ("POST", "/contracts/{contract_id}/void"): _contract_route_404("POST", "/void", {"reason": "B"}),
    ("POST", "/cards"): probe_open_card,
    ("GET", "/cards"): probe_open_card,
    ("GET", "/cards/{card_id}"): _card_route_404("GET", ""),
    ("PATCH", "/cards/{card_id}"): _card_route_404("PATCH", "", {"holder_note": "B"}),
    ("GET", "/cards/{card_id}/ledger"): _card_route_404("GET", "/ledger"),
    ("GET", "/cards/{card_id}/history"): _card_route_404("GET", "/history"),
    ("POST", "/cards/{card_id}/movements"): _card_route_404(
        "POST", "/movements", {"kind": "deduction", "credits": "1"}
    ),
    ("POST", "/cards/{card_id}/contracts"): _card_route_404("POST", "/contracts", {"contract_id": "x"}),
    ("POST", "/cards/{card_id}/sub-cards"): _card_route_404(
        "POST", "/sub-cards", {"holder_lead_id": "x", "shared": True}
    ),
    ("POST", "/cards/{card_id}/report-lost"): _card_route_404("POST", "/report-lost"),
    ("POST", "/cards/{card_id}/reissue"): _card_route_404("POST", "/reissue", {}),
    ("POST", "/cards/{card_id}/freeze"): _card_route_404("POST", "/freeze", {"reason": "B"}),
    ("POST", "/cards/{card_id}/unfreeze"): _card_route_404("POST", "/unfreeze"),
    ("POST", "/sessions/{session_id}/check-ins"): probe_check_in,
    ("GET", "/me/sessions"): probe_teaching,
    ("GET", "/sessions/{session_id}/roster"): probe_teaching,
    ("PUT", "/sessions/{session_id}/records/{lead_id}"): probe_teaching,
    ("POST", "/templates"): probe_templates,
    ("GET", "/templates"): probe_templates,
    ("GET", "/templates/{template_id}"): probe_templates,
    ("PUT", "/templates/{template_id}"): probe_templates,
    ("DELETE", "/templates/{template_id}"): probe_templates,
    ("GET", "/templates/variables"): probe_template_preview,
    ("POST", "/templates/preview"): probe_template_preview,
    ("POST", "/messages"): probe_messages,
    ("GET", "/messages"): probe_messages,
    ("GET", "/messages/{message_id}"): probe_messages,
    ("GET", "/outbox"): probe_messages,
    ("GET", "/settings/messaging"): probe_messaging_settings,
    ("PATCH", "/settings/messaging"): probe_messaging_settings,
    ("GET", "/reports/funnel"): probe_reports,
    ("GET", "/reports/consultants"): probe_reports,
    ("GET", "/reports/sources"): probe_reports,
    ("GET", "/reports/finance"): probe_reports,
    ("GET", "/reports/referrals"): probe_reports,
    ("GET", "/reports/breakdown"): probe_reports,
    ("GET", "/audit"): probe_audit,
    ("GET", "/admin/frozen-users"): probe_frozen,
    ("POST", "/admin/users/{user_id}/unfreeze"): probe_frozen,
    ("GET", "/usage"): probe_usage,
    ("GET", "/leads/import-template"): probe_imports,
    ("POST", "/leads/imports"): probe_imports,
    ("GET", "/leads/imports"): probe_imports,
    ("GET", "/leads/imports/{import_id}"): probe_imports,
    ("GET", "/leads/imports/{import_id}/errors"): probe_imports,
    ("POST", "/announcements/attachments"): probe_attachments,
    ("GET", "/announcements/{announcement_id}/attachment"): probe_attachments,
    ("POST", "/announcements"): probe_board,
    ("GET", "/announcements"): probe_board,
    ("POST", "/announcements/{announcement_id}/read"): probe_board,
    ("DELETE", "/announcements/{announcement_id}"): probe_board,
    ("POST", "/glossary"): probe_board,
    ("GET", "/glossary"): probe_board,
    ("DELETE", "/glossary/{phrase_id}"): probe_board,
    ("PATCH", "/glossary/{phrase_id}"): probe_board,
    ("GET", "/settings/security"): probe_frozen,
    ("PATCH", "/settings/security"): probe_frozen,
    ("POST", "/programmes"): probe_programmes,
    ("GET", "/programmes"): probe_programmes,
    ("GET", "/programmes/{programme_id}"): probe_programmes,
    ("PATCH", "/programmes/{programme_id}"): probe_programmes,
    ("POST", "/programmes/{programme_id}/cohorts"): probe_programmes,
    ("GET", "/cohorts"): probe_programmes,
    ("GET", "/cohorts/open"): probe_programmes,
    ("GET", "/cohorts/{cohort_id}"): probe_programmes,
    ("PATCH", "/cohorts/{cohort_id}"): probe_programmes,
    ("POST", "/cohorts/{cohort_id}/enrolments"): probe_programmes,
    ("GET", "/cohorts/{cohort_id}/enrolments"): probe_programmes,
    ("POST", "/enrolments/{enrolment_id}/confirm"): probe_programmes,
    ("POST", "/enrolments/{enrolment_id}/decline"): probe_programmes,
    ("GET", "/receivables"): probe_receivables,
    ("POST", "/enrolments/{enrolment_id}/payments"): probe_receivables,
    ("POST", "/settings/api-keys"): probe_api_keys,
    ("GET", "/settings/api-keys"): probe_api_keys,
    ("DELETE", "/settings/api-keys/{key_id}"): probe_api_keys,
    ("PATCH", "/campuses/{campus_id}"): probe_patch_campus,
}


def test_every_route_has_an_isolation_probe(app):
    registered = {(s.method, s.path) for s in REGISTRY}
    chalice_routes = {(m, path) for path, methods in app.routes.items() for m in methods if m != "OPTIONS"}
    assert registered == chalice_routes  # nothing bypasses the endpoint wrapper
    assert registered - PUBLIC == set(PROBES)
    assert {(s.method, s.path) for s in REGISTRY if s.roles is None} == PUBLIC


@pytest.fixture
def two_schools(school, other_school):
    school.supervisor = school.staff("supervisor")
    school.consultant = school.staff("consultant", supervisor_id=school.supervisor.user["id"])
    other_school.supervisor = other_school.staff("supervisor")
    other_school.consultant = other_school.staff("consultant")
    school.lead_phone = "13900139000"
    school.lead = school.consultant.post(
        "/leads", {"name": "A 的孩子", "guardians": [{"name": "A 家长", "phones": [school.lead_phone]}]}
    ).json_body
    school.deleted_lead = school.consultant.post(
        "/leads", {"name": "A 的另一个", "guardians": [{"name": "A 家长", "phones": ["13900139001"]}]}
    ).json_body["id"]
    lead_url = f"/leads/{school.lead['id']}"
    school.consultant.post(
        f"{lead_url}/follow-ups",
        {"method": "phone", "content": "A 的跟进", "next_follow_up_at": "2099-01-01T10:00:00Z"},
    )
    school.plan = school.consultant.post(
        f"{lead_url}/plans", {"planned_at": "2099-01-01T10:00:00Z", "purpose": "A 的计划"}
    ).json_body["plan"]
    school.course = school.admin.post("/courses", {"name": "A 课程", "lesson_cost": "1"}).json_body
    school.cls = school.admin.post(
        "/classes",
        {
            "course_id": school.course["id"],
            "campus_id": school.campus["id"],
            "teacher": "A 老师",
            "capacity": 3,
            "slots": [{"weekday": 1, "start": "10:00", "end": "11:00"}],
            "start_date": "2099-01-05",
            "end_date": "2099-01-05",
        },
    ).json_body
    school.session = school.admin.post(
        f"/classes/{school.cls['id']}/sessions", {"from": "2099-01-05", "to": "2099-01-05"}
    ).json_body["sessions"][0]
    school.event = school.admin.post(
        "/events", {"name": "A 活动", "starts_at": "2099-02-01T10:00:00", "capacity": 5}
    ).json_body
    school.event_day = "2099-02-01"
    school.appointment = school.consultant.post(
        f"{lead_url}/appointments", {"kind": "trial", "session_id": school.session["id"]}
    ).json_body
    school.consultant.post(f"{lead_url}/appointments", {"kind": "event", "event_id": school.event["id"]})
    school.member = school.consultant.post(
        "/leads", {"name": "A 会员", "guardians": [{"name": "A 家长", "phones": ["13900139002"]}]}
    ).json_body
    school.contract = school.consultant.post(
        "/contracts",
        {
            "lead_ids": [school.member["id"]],
            "credits": "10",
            "price": "500.00",
            "starts_on": "2026-01-01",
            "ends_on": "2099-12-31",
        },
    ).json_body
    school.admin.post(f"/contracts/{school.contract['id']}/payments", {"amount": "100.00", "method": "cash"})
    school.card = school.admin.post(
        "/cards", {"holder_lead_id": school.member["id"], "contract_ids": [school.contract["id"]], "number": "A-CARD-1"}
    ).json_body
    school.template = school.admin.post(
        "/templates", {"name": "A 模板", "channel": "sms", "body": "A 的模板 {{ learner.name }}"}
    ).json_body
    school.message = school.admin.post(
        "/messages",
        {
            "channel": "sms",
            "purpose": "notice",
            "template_id": school.template["id"],
            "recipients": {"lead_ids": [school.member["id"]]},
        },
    ).json_body
    return school, other_school


@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1]}")
def test_school_b_cannot_touch_school_a(two_schools, route):
    a, b = two_schools
    with telemetry.record() as rec:
        PROBES[route](a, b)
    assert "Scan" not in rec.operations
