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


# --- the retention's back-fill ---------------------------------------------------------

YEAR = timedelta(days=365)


def _retain(at, tenant, **budget):
    """The retention step alone (page and per-run budget as given), as the job runs it at `at`."""
    from chalicelib.domain import privacy

    with clock.frozen(at), telemetry.record() as rec:
        result = privacy.retention(at, tenant, **budget)
    return result, rec.calls


def _marker_puts(calls):
    """The retention markers the calls filed: (lead PK, DUE partition) of each Put that took."""
    puts = [c for c in calls if c.operation == "PutItem" and c.params["Item"]["SK"]["S"] == "LEAD#RETAIN"]
    return [(c.params["Item"]["PK"]["S"], c.params["Item"]["DUEPK"]["S"]) for c in puts if c.error is None]


def _directory(call):
    """A read of the school directory (its GSI1 partition, then the schools' items): every job's."""
    return "PLATFORM#TENANTS" in str(call.params) or "{'S': 'TENANT'}" in str(call.params)


def _name(admin, lead):
    return admin.get(f"/leads/{lead['id']}").json_body["name"]


@pytest.fixture
def aged(school):
    """A school that kept its leads for five years (and 20 days): three leads untouched since
    it began, one of that age in the recycle bin, one erased then, one last written two years
    ago; none has a retention marker. Then (`aged.now`) it turns the setting on: erase leads
    untouched for 3 years. (Tokens are checked on the real clock, so the school begins today
    and the test moves on in time.)"""
    from tests.conftest import signed_in_at

    alice = school.staff("consultant")
    school.old = [alice.post("/leads", lead_body(name=f"五年前{i}", phone=_phone())).json_body for i in range(3)]
    school.binned = alice.post("/leads", lead_body(name="五年前删除", phone=_phone())).json_body
    school.erased = alice.post("/leads", lead_body(name="五年前擦除", phone=_phone())).json_body
    assert school.admin.delete(f"/leads/{school.binned['id']}").status_code == 204
    assert school.admin.post(f"/leads/{school.erased['id']}/erase", {"reason": "家长要求"}).status_code == 200
    school.alice = alice
    school.now = clock.now() + 5 * YEAR + timedelta(days=20)
    with signed_in_at(alice, school.now - 2 * YEAR) as me:
        school.recent = me.post("/leads", lead_body(name="两年前", phone=_phone())).json_body
    _set_years(school, 3)
    return school


def _set_years(school, years):
    from tests.conftest import signed_in_at

    with signed_in_at(school.admin, school.now) as admin:
        response = admin.patch("/settings/leads", {"erase_untouched_after_years": years})
    assert response.status_code == 200, response.body


def test_the_backfill_files_older_leads_so_the_retention_erases_those_past_the_cutoff(aged):
    from chalicelib.db import privacy as privacy_db

    # WHEN the hourly job runs for the first time with the setting on
    result, calls = _retain(aged.now + timedelta(hours=1), aged.slug)
    # THEN it filed a marker for each lead that had none (the erased one needs none), under
    # the day it was last written, and erased the leads untouched for more than 3 years,
    # the one in the recycle bin too
    assert (result["retention_backfilled"], result["retention_backfill_unfinished"]) == (5, 0)
    assert result["retention_erased"] == 4 and result["retention_failed"] == 0
    filed = dict(_marker_puts(calls))
    recent_day = (aged.now - 2 * YEAR).astimezone(UTC).date().isoformat()
    assert filed[f"T#{aged.slug}#LEAD#{aged.recent['id']}"] == f"DUE#RETAIN#{aged.slug}|{recent_day}#0"
    for lead in [*aged.old, aged.binned]:
        assert _name(aged.admin, lead) == "[erased]"
    assert _name(aged.admin, aged.recent) == "两年前"
    # AND it walked the campus's leads and the bin with Queries of their indexes, never a Scan
    assert not [c for c in calls if c.operation == "Scan"]
    walked = {c.params.get("IndexName") for c in calls if c.operation == "Query" and "RETAIN" not in str(c.params)}
    assert walked <= {"GSI1", "GSI3", None}
    state = privacy_db.backfill(aged.slug)
    assert state is not None and (state.done, state.read, state.filed) == (True, 6, 5)
    # WHEN the job has caught up with the days (62 a run)
    for hour in range(2, 16):
        _retain(aged.now + timedelta(hours=hour), aged.slug)
    # THEN a run reads the back-fill's state, the cursor and at most the day that came due:
    # O(due), whatever the number of leads; nothing is walked again
    again, calls = _retain(aged.now + timedelta(days=1, hours=1), aged.slug)
    assert (again["retention_backfilled"], again["retention_erased"]) == (0, 0)
    own = [c for c in calls if not _directory(c)]
    assert not [c for c in own if c.operation in ("BatchGetItem", "Scan") or c.params.get("IndexName") == "GSI3"]
    assert not [c for c in own if "#BIN" in str(c.params)]
    assert len([c for c in own if c.operation == "Query"]) <= 2  # (the settings, when not cached) and the day
    assert len([c for c in own if c.operation == "GetItem"]) == 2  # the back-fill's state, the day cursor
    # AND the lead last written two years ago goes a year later, under the day it was filed
    later = [_retain(aged.now + YEAR + timedelta(days=2, hours=h), aged.slug)[0] for h in range(8)]
    assert sum(r["retention_erased"] for r in later) == 1
    assert _name(aged.admin, aged.recent) == "[erased]"


def test_a_school_whose_days_were_read_before_the_backfill_has_its_older_leads_filed_on_the_next_day(aged):
    from chalicelib.db import privacy as privacy_db

    # GIVEN a school whose retention had read its days up to the cutoff before any back-fill
    # (the setting on before the back-fill existed)
    cursor = (aged.now - 3 * YEAR).astimezone(UTC).date()
    privacy_db.advance_retention_cursor(aged.slug, cursor.isoformat())
    # WHEN the back-fill runs
    result, calls = _retain(aged.now + timedelta(hours=1), aged.slug)
    # THEN the leads last written on a day it has read are filed on the next day it reads, the
    # others on their own day; nothing is erased before that day comes due
    filed = dict(_marker_puts(calls))
    next_day = f"DUE#RETAIN#{aged.slug}|{(cursor + timedelta(days=1)).isoformat()}#0"
    assert {filed[f"T#{aged.slug}#LEAD#{lead['id']}"] for lead in [*aged.old, aged.binned]} == {next_day}
    assert filed[f"T#{aged.slug}#LEAD#{aged.recent['id']}"] != next_day
    assert result["retention_backfilled"] == 5
    # WHEN that day comes due: the four old leads are erased, the recent one kept
    result, _ = _retain(aged.now + timedelta(days=1, hours=1), aged.slug)
    assert result["retention_erased"] == 4
    assert _name(aged.admin, aged.recent) == "两年前"


def test_a_backfill_cut_short_goes_on_where_it_stopped_and_spares_a_lead_touched_meanwhile(aged):
    from chalicelib.db import privacy as privacy_db

    # WHEN a run may read one lead only (the bin comes first)
    first, calls = _retain(aged.now + timedelta(hours=1), aged.slug, page=1, per_run=1)
    # THEN it filed one marker, kept its place, and the retention's days wait for the rest
    assert (first["retention_backfilled"], first["retention_backfill_unfinished"]) == (1, 1)
    assert first["retention_erased"] == 0 and privacy_db.retention_cursor(aged.slug) is None
    assert _marker_puts(calls) == [(f"T#{aged.slug}#LEAD#{aged.binned['id']}", _marker_puts(calls)[0][1])]
    # WHEN a consultant follows one of the old leads up before the walk reaches it
    from tests.conftest import signed_in_at

    touched = aged.old[1]
    with signed_in_at(aged.alice, aged.now + timedelta(minutes=90)) as me:
        follow_up = {"method": "phone", "content": "还在考虑"}
        assert me.post(f"/leads/{touched['id']}/follow-ups", follow_up).status_code == 201
    # AND the next runs go on, two leads a page
    filed: list[tuple[str, str]] = []
    for hour in range(2, 12):
        result, calls = _retain(aged.now + timedelta(hours=hour), aged.slug, page=2, per_run=2)
        filed += _marker_puts(calls)
        if not result["retention_backfill_unfinished"]:
            break
    # THEN every other lead was filed once (the bin's not again; the touched one has its own)
    pks = [pk for pk, _ in filed]
    assert sorted(pks) == sorted(f"T#{aged.slug}#LEAD#{lead['id']}" for lead in (aged.old[0], aged.old[2], aged.recent))
    # AND the leads untouched for 3 years are erased, the one followed up today is not
    erased = result["retention_erased"]
    assert erased == 3 and result["retention_failed"] == 0
    assert _name(aged.admin, touched) == "五年前1"
    assert [_name(aged.admin, lead) for lead in (aged.old[0], aged.old[2], aged.binned)] == ["[erased]"] * 3


def test_turning_the_setting_off_and_on_starts_the_backfill_again(aged):
    from chalicelib.db import privacy as privacy_db

    # GIVEN a back-fill cut short
    _retain(aged.now + timedelta(hours=1), aged.slug, page=1, per_run=1)
    walk = privacy_db.backfill(aged.slug)
    assert walk is not None and not walk.done and walk.read == 1
    # WHEN the setting is turned off: the walk is forgotten, and the job leaves the school alone
    _set_years(aged, 0)
    assert privacy_db.backfill(aged.slug) is None
    off, calls = _retain(aged.now + timedelta(hours=2), aged.slug)
    assert off["retention_backfilled"] == 0 and not _marker_puts(calls)
    # AND a lead written while it is off has no marker
    from tests.conftest import signed_in_at

    with signed_in_at(aged.alice, aged.now) as me:
        written_off = me.post("/leads", lead_body(name="关闭期间", phone=_phone())).json_body
    # WHEN it is turned on again (then another number of years: not a restart)
    _set_years(aged, 4)
    _set_years(aged, 3)
    # THEN the next runs walk everything from the start: the lead written while off is filed
    # too, and nothing is filed twice
    filed: list[tuple[str, str]] = []
    for hour in range(3, 6):
        result, calls = _retain(aged.now + timedelta(hours=hour), aged.slug)
        filed += _marker_puts(calls)
    walk = privacy_db.backfill(aged.slug)
    assert walk is not None and walk.done and walk.read == 7  # the bin's again, once
    assert f"T#{aged.slug}#LEAD#{written_off['id']}" in {pk for pk, _ in filed}
    assert len(filed) == len({pk for pk, _ in filed}) == 5  # the bin's marker was kept: 4 + the new one
    assert _name(aged.admin, written_off) == "关闭期间"


def test_a_backfill_touches_no_other_school(aged, other_school):
    from chalicelib.db import privacy as privacy_db

    # GIVEN another school with the setting on and a lead written before it
    other_lead = other_school.staff("consultant").post("/leads", lead_body(name="别校", phone=_phone())).json_body
    assert other_school.admin.patch("/settings/leads", {"erase_untouched_after_years": 1}).status_code == 200
    # WHEN the job runs for the first school
    _, calls = _retain(aged.now + timedelta(hours=1), aged.slug)
    # THEN it wrote and walked only that school's keys; the other's back-fill has not begun
    written = [c for c in calls if c.operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")]
    assert written and all(other_school.slug not in str(c.params) for c in written)
    read = [c for c in calls if c.operation in ("Query", "BatchGetItem", "GetItem") and not _directory(c)]
    assert read and all(other_school.slug not in str(c.params) for c in read)
    assert privacy_db.backfill(other_school.slug) is None
    # AND its own run files its lead (today: nothing to erase)
    result, calls = _retain(clock.now(), other_school.slug)
    assert (result["retention_backfilled"], result["retention_erased"]) == (1, 0)
    assert [pk for pk, _ in _marker_puts(calls)] == [f"T#{other_school.slug}#LEAD#{other_lead['id']}"]


def test_a_backfill_of_100_leads_costs_about_one_read_and_two_write_units_a_lead(client):
    from bench import capacity
    from infra.local.table import table_properties
    from tests.conftest import School

    # GIVEN a school with 100 leads written while it kept them
    school = School(client)
    alice = school.staff("consultant")
    for i in range(100):
        assert alice.post("/leads", lead_body(name=f"客户{i}", phone=_phone())).status_code == 201
    assert school.admin.patch("/settings/leads", {"erase_untouched_after_years": 3}).status_code == 200
    now = clock.now() + YEAR
    # WHEN the job back-fills them (one page of 100)
    result, calls = _retain(now + timedelta(hours=1), school.slug)
    assert result["retention_backfilled"] == 100
    # THEN the walk's calls cost, by AWS's rules: the Queries and BatchGetItems of the leads and
    # their markers, a Put (and its DUE copy) per marker, the walk's state
    walk = [
        c
        for c in calls
        if not _directory(c)
        and (
            c.operation == "BatchGetItem"
            or (c.operation == "Query" and c.params.get("IndexName") in ("GSI1", "GSI3"))
            or "LEAD#RETAIN" in str(c.params.get("Item", {}).get("SK"))
            or "retention_backfill" in str(c.params.get("Key", c.params.get("Item", {})))
        )
    ]
    cost = capacity.cost_calls(walk, indexes=capacity.indexes_from_table(table_properties()))
    print(f"\nBACKFILL 100 leads: {cost.rru:.1f} RRU, {cost.wru:.1f} WRU + {cost.gsi_wru:.1f} WRU of DUE copies")
    assert cost.rru <= 110 and cost.wru <= 105 and cost.gsi_wru <= 100
