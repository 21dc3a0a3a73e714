"""A data subject's rights (docs/privacy.md): a lead's export, its erasure, the retention job."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import jobs
from chalicelib.db import telemetry
from chalicelib.domain import clock
from tests.conftest import without_quiet_hours
from tests.test_busy import dynamodb_busy
from tests.test_leads import lead_body


def _phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture
def family(school):
    """A consultant's lead with a follow-up, an SMS sent (in the outbox) and one scheduled."""
    without_quiet_hours(school)
    school.alice = school.staff("consultant", display_name="李娜")
    school.manager = school.staff("manager")
    school.phone = _phone()
    body = lead_body(name="=王小明", phone=school.phone, notes="过敏：花生")
    body["guardians"][0]["email"] = "wang@example.com"
    school.lead = school.alice.post("/leads", body).json_body
    lead_id = school.lead["id"]
    assert (
        school.alice.post(f"/leads/{lead_id}/follow-ups", {"method": "phone", "content": "妈妈说周六来"}).status_code
        == 201
    )
    sms = {"channel": "sms", "text": "{{ learner.name }}您好", "recipients": {"lead_ids": [lead_id]}}
    school.sent = school.alice.post("/messages", sms).json_body
    jobs.run("scheduled_messages", at=clock.now(), tenant=school.slug)
    later = (clock.now() + timedelta(days=3)).isoformat()
    school.waiting = school.alice.post("/messages", {**sms, "send_at": later}).json_body
    return school


def test_an_export_holds_everything_about_the_lead_and_its_guardians(family):
    lead_id = family.lead["id"]
    # WHEN the campus's manager exports the lead (a data subject's access request)
    response = family.manager.get(f"/leads/{lead_id}/export")
    # THEN it holds the lead with full phones and e-mail, the follow-up, the messages and the outbox
    assert response.status_code == 200, response.body
    data = response.json_body
    assert data["lead"]["name"] == "=王小明" and data["lead"]["notes"] == "过敏：花生"
    guardian = data["lead"]["guardians"][0]
    assert (guardian["phones"][0]["e164"], guardian["email"]) == (f"+86{family.phone}", "wang@example.com")
    sections = data["sections"]
    assert [f["content"] for f in sections["follow_ups"]] == ["妈妈说周六来"]
    assert sorted(m["status"] for m in sections["messages"]) == ["queued", "sent"]
    assert {m["text"] for m in sections["messages"]} == {"=王小明您好"}
    assert [o["body"] for o in sections["outbox"]] == ["=王小明您好"]
    # AND as a workbook, every cell data (the name that looks like a formula is text)
    book = family.manager.get(f"/leads/{lead_id}/export?format=xlsx", headers={"Accept": "*/*"})
    assert book.status_code == 200
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(book.body))
    assert {"lead", "follow_ups", "messages", "outbox"} <= set(workbook.sheetnames)
    rows = {r[0].value: r[1] for r in workbook["lead"].iter_rows(min_row=2)}
    assert rows["name"].value == "=王小明" and rows["name"].data_type == "s"
    # AND a consultant may not export (even their own lead); a bad format is a 400
    assert family.alice.get(f"/leads/{lead_id}/export").status_code == 403
    assert family.manager.get(f"/leads/{lead_id}/export?format=pdf").status_code == 400
    assert family.manager.get("/leads/nosuchlead/export").status_code == 404


def test_an_admin_erases_a_lead_leaving_a_tombstone_and_its_phone_free(family):
    lead_id = family.lead["id"]
    before = family.admin.get(f"/leads/{lead_id}").json_body
    # WHEN someone other than an admin tries, or the admin gives no reason
    assert family.manager.post(f"/leads/{lead_id}/erase", {"reason": "x"}).status_code == 403
    assert family.admin.post(f"/leads/{lead_id}/erase", {}).status_code == 400
    assert family.admin.post(f"/leads/{lead_id}/erase", {"reason": "\x07"}).status_code == 400
    # WHEN the admin erases it, with a reason
    response = family.admin.post(f"/leads/{lead_id}/erase", {"reason": "家长要求删除个人信息"})
    assert response.status_code == 200, response.body
    out = response.json_body
    assert (out["already"], out["released_phones"]) == (False, 1)
    assert out["tombstoned"] == {"follow_ups": 1, "plans": 0, "appointments": 0, "messages": 2, "outbox": 1}
    # THEN the lead is a tombstone that keeps what the books count
    lead = family.admin.get(f"/leads/{lead_id}").json_body
    assert (lead["name"], lead["guardians"], lead["notes"], lead["birthday"]) == ("[erased]", [], None, None)
    assert lead["erased_at"] and lead["deleted_at"]
    for kept in ("status", "source", "campus_id", "created_at", "follow_up_count", "owner_id"):
        assert lead[kept] == before[kept], kept
    # AND the follow-up text, the messages and the outbox hold no personal data
    export = family.admin.get(f"/leads/{lead_id}/export").json_body
    assert export["lead"]["guardians"] == [] and export["lead"]["notes"] is None
    assert [f["content"] for f in export["sections"]["follow_ups"]] == ["[erased]"]
    assert {(m["to"], m["text"]) for m in export["sections"]["messages"]} == {("[erased]", "[erased]")}
    assert [(o["to"], o["body"]) for o in export["sections"]["outbox"]] == [("[erased]", "[erased]")]
    # AND the scheduled message will not go: its recipient is skipped, erased
    waiting = family.admin.get(f"/messages/{family.waiting['id']}").json_body
    assert (waiting["queued"], waiting["skipped_by_reason"]) == (0, {"erased": 1})
    # AND the phone is free for a new family; the consultant's lead count went down
    assert family.alice.post("/leads", lead_body(name="新客户", phone=family.phone)).status_code == 201
    # AND it is audited with its reason
    entries = family.admin.get(f"/audit?lead={lead_id}").json_body["items"]
    assert any(e["action"] == "erase" and "家长要求删除个人信息" in (e["details"] or "") for e in entries)
    # AND erasing again writes nothing; it cannot be restored or edited
    again = family.admin.post(f"/leads/{lead_id}/erase", {"reason": "again"}).json_body
    assert again["already"] is True
    restore = family.admin.post(f"/leads/{lead_id}/restore")
    assert (restore.status_code, restore.json_body["error"]["code"]) == (409, "LEAD_ERASED")
    assert family.admin.patch(f"/leads/{lead_id}", {"name": "回来"}).status_code == 409


def test_an_erasure_that_meets_a_busy_table_retries_and_never_half_erases_the_lead(family):
    lead_id = family.lead["id"]
    # WHEN DynamoDB cancels the erasure's transaction twice (another transaction on the items)
    with dynamodb_busy(2) as refused:
        response = family.admin.post(f"/leads/{lead_id}/erase", {"reason": "busy twice"})
    # THEN it is sent again and succeeds
    assert len(refused) == 2 and response.status_code == 200, response.body
    assert family.admin.get(f"/leads/{lead_id}").json_body["name"] == "[erased]"


def test_an_erasure_refused_by_a_busy_table_leaves_the_lead_whole_and_can_be_retried(school):
    alice = school.staff("consultant")
    phone = _phone()
    lead = alice.post("/leads", lead_body(name="李四", phone=phone)).json_body
    # WHEN every attempt of the lead's transaction is cancelled
    with dynamodb_busy(100):
        response = school.admin.post(f"/leads/{lead['id']}/erase", {"reason": "busy"})
    # THEN 409 BUSY, not 500, and the lead, its phone claim and its owner are as they were
    assert (response.status_code, response.json_body["error"]["code"]) == (409, "BUSY")
    assert school.admin.get(f"/leads/{lead['id']}").json_body["name"] == "李四"
    duplicate = alice.post("/leads", lead_body(name="别人", phone=phone))
    assert duplicate.status_code == 409
    # AND the retry erases it
    assert school.admin.post(f"/leads/{lead['id']}/erase", {"reason": "retry"}).json_body["already"] is False


def _run_retention(at, tenant):
    with clock.frozen(at), telemetry.record() as rec:
        result = jobs.run("pool_reclaim", at=at, tenant=tenant)
    return result, rec.calls


def test_the_retention_setting_erases_leads_untouched_for_n_years_reading_only_what_is_due(school):
    # GIVEN a school that erases leads untouched for 2 years
    assert school.admin.patch("/settings/leads", {"erase_untouched_after_years": 51}).status_code == 400
    settings = school.admin.patch("/settings/leads", {"erase_untouched_after_years": 2})
    assert settings.json_body["erase_untouched_after_years"] == 2
    alice = school.staff("consultant")
    start = clock.now()
    old = alice.post("/leads", lead_body(name="久未联系", phone=_phone())).json_body
    kept = alice.post("/leads", lead_body(name="一年后跟进", phone=_phone())).json_body
    # AND one of them followed up a year later
    with clock.frozen(start + timedelta(days=400)):
        me = school.sign_in(alice.user["username"], alice.password)
        assert me.post(f"/leads/{kept['id']}/follow-ups", {"method": "phone", "content": "还在考虑"}).status_code == 201
    # WHEN the job runs a day before the two years are up: nothing
    first, _ = _run_retention(start + timedelta(days=729), school.slug)
    assert first["retention_erased"] == 0
    # WHEN it runs when they are up
    result, calls = _run_retention(start + timedelta(days=731, hours=1), school.slug)
    # THEN the untouched lead is erased and the one followed up is not
    assert (result["retention_erased"], result["retention_failed"]) == (1, 0)
    assert school.admin.get(f"/leads/{old['id']}").json_body["name"] == "[erased]"
    assert school.admin.get(f"/leads/{kept['id']}").json_body["name"] == "一年后跟进"
    # AND it read the DUE days through the index, never a Scan
    assert not [c for c in calls if c.operation == "Scan"]
    assert all(c.params.get("IndexName") in (None, "DUE", "GSI1") for c in calls if c.operation == "Query")
    # AND the next run reads no day again and writes nothing
    again, calls = _run_retention(start + timedelta(days=731, hours=2), school.slug)
    assert again["retention_erased"] == 0
    assert not [c for c in calls if c.operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")]
    assert not [c for c in calls if c.operation == "Query" and "RETAIN" in str(c.params)]
    # AND the followed-up lead goes two years after its follow-up; 0 turns the setting off
    # (the days between are read 62 a run: a backlog catches up over a few hourly runs)
    later = sum(_run_retention(start + timedelta(days=400 + 731), school.slug)[0]["retention_erased"] for _ in range(8))
    assert later == 1
    off = school.admin.patch("/settings/leads", {"erase_untouched_after_years": 0}).json_body
    assert off["erase_untouched_after_years"] is None


def test_a_school_without_the_setting_is_not_touched(school):
    alice = school.staff("consultant")
    lead = alice.post("/leads", lead_body(name="留着", phone=_phone())).json_body
    result, _ = _run_retention(datetime.now(UTC) + timedelta(days=365 * 60), school.slug)
    assert result["retention_erased"] == 0
    assert school.admin.get(f"/leads/{lead['id']}").json_body["name"] == "留着"
