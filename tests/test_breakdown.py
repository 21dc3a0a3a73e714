"""The breakdown report (七要素统计): leads and members by a list field, from the stream's
aggregates, by each lead's current value."""

from __future__ import annotations

from typing import Any

import pytest

from bench import capacity
from chalicelib.db import keys, telemetry
from chalicelib.streams import aggregates, processor
from tests.test_leads import lead_body
from tests.test_reports import _signs
from tests.test_streams import Tap, figures, lambda_like, school_today


@pytest.fixture
def tap(dynamodb_endpoint, table, school, tmp_path):
    return Tap(dynamodb_endpoint, tmp_path, school.slug)


def _rows(session, field: str = "source", query: str = "") -> dict[str, tuple[int, int]]:
    answer = session.get(f"/reports/breakdown?field={field}{query}")
    assert answer.status_code == 200, answer.body
    return {r["key"]: (r["leads"], r["members"]) for r in answer.json_body["items"]}


def _lead_records(records: list[dict]) -> list[dict]:
    return [r for r in records if processor.item_kind(r) == "Lead"]


def test_leads_and_members_are_counted_by_their_current_value(school, tap):
    # GIVEN three leads of the campus, two from the website, one referred
    alice = school.staff("consultant", display_name="Alice")
    web1 = alice.post("/leads", lead_body(name="网一", source="website", importance="high")).json_body
    web2 = alice.post("/leads", lead_body(name="网二", source="website")).json_body
    ref = alice.post("/leads", lead_body(name="介绍", source="referral")).json_body
    lambda_like(tap.drain(), batch_size=25)
    # THEN every source of the list has a row, the counted ones first
    answer = school.admin.get("/reports/breakdown?field=source").json_body
    assert (answer["field"], answer["label"], answer["leads"], answer["members"]) == ("source", "客户来源", 3, 0)
    assert [(r["key"], r["label"], r["leads"]) for r in answer["items"][:2]] == [
        ("website", "官网", 2),
        ("referral", "转介绍", 1),
    ]
    assert {r["key"] for r in answer["items"]} == {"walk_in", "phone", "website", "referral", "event", "ad"}
    assert _rows(school.admin, "status")["potential"] == (3, 0)
    assert _rows(school.admin, "importance")["high"] == (1, 0)

    # WHEN a lead's source changes and another lead signs
    assert alice.patch(f"/leads/{web1['id']}", {"source": "event"}).status_code == 200
    _signs(alice, web2["id"])
    records = tap.drain()
    change = next(
        r
        for r in _lead_records(records)
        if r["eventName"] == "MODIFY" and r["dynamodb"]["Keys"]["PK"]["S"].endswith(web1["id"])
    )
    # the change is one update per period (day and month) of the field's item: -1 website, +1 event
    effects = aggregates.breakdown_figures(processor.parse(change))
    day = str(school_today())
    sk = keys.breakdown_sk("source", school.campus["id"])
    assert sorted((e.pk, e.sk, e.add) for e in effects) == sorted(
        (keys.aggregate_pk(school.slug, p), sk, (("leads|event", 1), ("leads|website", -1))) for p in (day, day[:7])
    )
    lambda_like(records, batch_size=25)
    # THEN the count moved with the value, and the signed lead is a member under its source
    rows = _rows(school.admin)
    assert (rows["website"], rows["event"], rows["referral"]) == ((1, 1), (1, 0), (1, 0))
    assert _rows(school.admin, "status")["signed"][1] == 1  # signing made it 已签约: a member under its status now

    # WHEN a lead is deleted, THEN it is counted no more; restored, it is counted again
    assert school.admin.delete(f"/leads/{ref['id']}").status_code == 204
    lambda_like(tap.drain(), batch_size=25)
    assert _rows(school.admin)["referral"] == (0, 0)
    assert school.admin.post(f"/leads/{ref['id']}/restore").status_code == 200
    lambda_like(tap.drain(), batch_size=25)
    assert _rows(school.admin)["referral"] == (1, 0)


def test_replayed_records_count_once(school, tap):
    alice = school.staff("consultant")
    lead = alice.post("/leads", lead_body(name="重放", source="website")).json_body
    alice.patch(f"/leads/{lead['id']}", {"source": "ad"})
    _signs(alice, lead["id"])
    records = tap.drain()
    assert processor.handle({"Records": records}, None)["batchItemFailures"] == []
    once = figures(school.slug, [str(school_today())])
    # the same records again, whole and in parts, as Lambda redelivers them
    processor.handle({"Records": records}, None)
    lambda_like(records, batch_size=3)
    assert figures(school.slug, [str(school_today())]) == once
    assert _rows(school.admin)["ad"] == (1, 1) and _rows(school.admin)["website"] == (0, 0)


def test_a_manager_sees_their_campus_and_no_other_school(school, other_school, tap):
    north = school.admin.post("/campuses", {"name": "北山校区"}).json_body
    alice = school.staff("consultant")
    bob = school.staff("consultant", campus_ids=[north["id"]])
    for _ in range(2):
        alice.post("/leads", lead_body(source="website"))
    bob.post("/leads", lead_body(source="website"))
    bob.post("/leads", lead_body(source="ad"))
    other_school.admin.post("/leads", {**lead_body(source="website"), "campus_id": other_school.campus["id"]})
    lambda_like(tap.drain(), batch_size=25)

    # the whole school: both campuses, no other school's lead
    whole = _rows(school.admin)
    assert (whole["website"], whole["ad"]) == ((3, 0), (1, 0))
    assert _rows(school.admin, query=f"&campus={north['id']}")["website"] == (1, 0)
    # a manager: their campus only; another campus is refused
    south_manager = school.staff("manager")
    assert (_rows(south_manager)["website"], _rows(south_manager)["ad"]) == ((2, 0), (0, 0))
    assert south_manager.get(f"/reports/breakdown?field=source&campus={north['id']}").status_code == 400
    north_manager = school.staff("manager", campus_ids=[north["id"]])
    assert (_rows(north_manager)["website"], _rows(north_manager)["ad"]) == ((1, 0), (1, 0))
    assert _rows(school.staff("supervisor"))["website"] == (2, 0)
    assert _rows(school.staff("finance", campus_ids=[]))["website"] == (3, 0)  # finance of no campus: the school
    # roles without reports
    for role in ("consultant", "teacher", "frontdesk"):
        refused = school.staff(role).get("/reports/breakdown?field=source")
        assert refused.status_code == 403, (role, refused.body)


def test_a_field_that_is_not_a_list_is_refused_naming_the_choices(school):
    for field in ("name", "occupation"):
        answer = school.admin.get(f"/reports/breakdown?field={field}")
        assert answer.status_code == 400, answer.body
        error = answer.json_body["error"]
        assert "source, status, importance, stage" in error["message"]
        assert error["details"][0]["field"] == "field"
    assert school.admin.get("/reports/breakdown").status_code == 400  # the field is required
    assert school.admin.get("/reports/breakdown?field=Bad%20Field").status_code == 400
    assert school.admin.get("/reports/breakdown?field=" + "a" * 40).status_code == 400
    assert school.admin.get("/reports/breakdown?field=source&from=2020-01-05&to=2020-06-30").status_code == 400


def test_the_breakdown_as_a_page_and_a_workbook(school, tap):
    import io

    from openpyxl import load_workbook

    school.staff("consultant").post("/leads", lead_body(source="website"))
    lambda_like(tap.drain(), batch_size=25)
    page = school.admin.get("/reports/breakdown?field=source&format=html")
    assert page.status_code == 200 and "客户来源统计" in page.body.decode() and "官网" in page.body.decode()
    sheet = school.admin.get("/reports/breakdown?field=source&format=xlsx", headers={"Accept": "*/*"})
    assert sheet.status_code == 200 and 'filename="breakdown-source-' in sheet.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(sheet.body)).worksheets[0].iter_rows(values_only=True))
    assert rows[1][:3] == ("官网", "website", 1)


def test_a_lead_insert_costs_the_stream_two_updates_per_list_field_it_has(school, tap, monkeypatch):
    """What the breakdown adds to the stream's writes for one new lead, priced by AWS's rules."""
    alice = school.staff("consultant")
    # warm the aggregate items of today, so both leads below update items that exist
    alice.post("/leads", lead_body(source="website", importance="high", stage="new"))
    lambda_like(tap.drain())
    before_lead = alice.post("/leads", lead_body(source="website", importance="high", stage="new"))
    after_lead = alice.post("/leads", lead_body(source="website", importance="high", stage="new"))
    assert before_lead.status_code == after_lead.status_code == 201
    inserts = [r for r in _lead_records(tap.drain()) if r["eventName"] == "INSERT"]
    assert len(inserts) == 2

    def stream_cost(record: dict) -> capacity.Cost:
        with telemetry.record() as rec:
            assert processor.handle({"Records": [record]}, None)["batchItemFailures"] == []
        return capacity.cost_calls(c for c in rec.calls if c.operation in capacity.WRITE_OPERATIONS)

    effects = processor._effects["Lead"]
    with monkeypatch.context() as without:
        without.setitem(processor._effects, "Lead", [fn for fn in effects if fn is not aggregates.breakdown_figures])
        before = stream_cost(inserts[0])
    after = stream_cost(inserts[1])
    # 4 list fields with a value (source, status, importance, stage) x (day, month): 8 more
    # updates in the stream's transaction, 2 WRU each
    print(f"\nstream write units for one lead insert: {before.wru} before, {after.wru} with the breakdown")
    assert after.wru - before.wru == 4 * 2 * 2


def test_a_custom_list_field_is_counted_and_its_text_fields_are_not(school, tap):
    # GIVEN a list of the school's own, a list field using it and a text field
    occupations: list[dict[str, Any]] = [
        {"key": "teacher", "label": "教师"},
        {"key": "doctor", "label": "医生"},
        {"key": "farmer", "label": "农民", "retired": True},
    ]
    assert school.admin.put("/settings/dictionaries/occupation", {"entries": occupations}).status_code == 200
    fields = [
        {"key": "parent_job", "label": "家长职业", "type": "list", "list": "occupation"},
        {"key": "remark", "label": "备注", "type": "text"},
    ]
    assert school.admin.put("/settings/lead-fields", {"fields": fields}).status_code == 200
    alice = school.staff("consultant")
    made = [
        alice.post("/leads", lead_body(name=f"职业{i}", custom={"parent_job": job, "remark": "周末有空"}))
        for i, job in enumerate(["teacher", "teacher", "doctor"])
    ]
    assert all(m.status_code == 201 for m in made), [m.body for m in made]
    _signs(alice, made[2].json_body["id"])
    lambda_like(tap.drain(), batch_size=25)

    # THEN the list field has its rows (the retired entry without figures left out)
    answer = school.admin.get("/reports/breakdown?field=parent_job").json_body
    assert (answer["label"], answer["leads"], answer["members"]) == ("家长职业", 3, 1)
    assert [(r["key"], r["label"], r["leads"], r["members"]) for r in answer["items"]] == [
        ("teacher", "教师", 2, 0),
        ("doctor", "医生", 1, 1),
    ]
    # a text field is no breakdown; the 400 names the list fields there are
    refused = school.admin.get("/reports/breakdown?field=remark")
    assert refused.status_code == 400 and "parent_job" in refused.json_body["error"]["message"]
    # no aggregate item for the text field was written
    day = str(school_today())
    assert (
        figures(school.slug, [day])
        .keys()
        .isdisjoint({(p, keys.breakdown_sk("remark", school.campus["id"])) for p in (day, day[:7])})
    )

    # WHEN a lead's value moves to another entry, THEN its count moves with it
    assert alice.patch(f"/leads/{made[0].json_body['id']}", {"custom": {"parent_job": "doctor"}}).status_code == 200
    lambda_like(tap.drain(), batch_size=25)
    assert _rows(school.admin, "parent_job") == {"doctor": (2, 1), "teacher": (1, 0)}
    # a retired entry that has figures stays, flagged
    retired = [{**o, "retired": o["key"] in ("teacher", "farmer")} for o in occupations]
    assert school.admin.put("/settings/dictionaries/occupation", {"entries": retired}).status_code == 200
    items = school.admin.get("/reports/breakdown?field=parent_job").json_body["items"]
    assert [(r["key"], r["retired"]) for r in items] == [("doctor", False), ("teacher", True)]
