"""Lead import (批量导入客户): a real workbook and the same rows as a GBK CSV."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook

from chalicelib import jobs
from chalicelib.domain import clock
from chalicelib.domain import imports as imports_domain
from chalicelib.domain.imports import uploads as import_uploads
from chalicelib.domain.imports import writer as import_writer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["姓名", "性别", "生日", "家长", "电话", "来源", "备注"]
ROWS = [  # spreadsheet rows 2..11
    ["王小明", "男", date(2019, 5, 20), "王妈妈", "138 0013 8000", "转介绍", "周末上课"],  # 2: a real Excel date
    ["李华", "女", "2018/3/8", "李爸爸", "+86 139-0013-9000", "Walk in", None],  # 3: key written as words
    ["张三", "男", "2017年12月1日", "张妈妈", 13700137000, "官网", None],  # 4: the phone as a number cell
    [None, None, None, None, None, None, None],  # 5: blank
    ["王小明", "男", "2019-05-20", "王妈妈", "13800138000", "转介绍", None],  # 6: row 2 again
    ["陈晨", "女", "2018-13-45", "陈妈妈", "13600136000", None, None],  # 7: no such date
    ["王小红", "女", "2021.1.9", "王妈妈", "+8613800138000", None, "王小明的妹妹"],  # 8: row 2's sister
    ["赵六", None, None, "赵妈妈", "135-0013-5000", None, None],  # 9: already a lead of the school
    ["钱七", None, None, "钱妈妈", "13300133000", "抖音", None],  # 10: not one of the school's sources
    ["-孙七", None, None, "孙妈妈", "not a phone", None, None],  # 11: a name a spreadsheet would compute; no phone
]
EXPECTED_COUNTS = {
    "rows": 9,
    "imported": 4,
    "rejected": 5,
    "invalid": 3,
    "duplicate_in_file": 1,
    "already_in_school": 1,
    "conflict": 0,
    "blank": 1,
}


def _xlsx(header=HEADER, rows=ROWS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _gbk_csv() -> bytes:
    """The same rows as Chinese Excel's "CSV (逗号分隔)" writes them: GBK, dates as text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in ROWS:
        writer.writerow(["" if c is None else c.isoformat() if isinstance(c, date) else c for c in row])
    return out.getvalue().encode("gbk")


def _upload(session, data: bytes, query: str = ""):
    return session.post(f"/leads/imports{query}", data, headers={"Content-Type": XLSX})


def _rejected(session, import_id: str) -> list[tuple[int, str, str]]:
    response = session.get(f"/leads/imports/{import_id}/errors", headers={"Accept": XLSX})
    assert response.status_code == 200, response.body
    sheet = load_workbook(io.BytesIO(response.body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("行 Row", "原因 Reason", "姓名")
    return [(row[0], row[1], row[2]) for row in rows[1:]]


def _school_with_a_lead(make_school):
    school = make_school()
    manager = school.staff("manager")
    existing = manager.post(
        "/leads", {"name": "赵六", "guardians": [{"name": "赵妈妈", "phones": ["13500135000"]}], "to_pool": True}
    )
    assert existing.status_code == 201, existing.body
    return school, manager


@pytest.fixture
def make_school(client):
    from tests.conftest import School

    return lambda: School(client)


def _check_the_result(manager, result):
    assert result["status"] == "done", result
    assert result["counts"] == EXPECTED_COUNTS
    rejected = _rejected(manager, result["id"])
    assert [(number, name) for number, _, name in rejected] == [
        (6, "王小明"),
        (7, "陈晨"),
        (9, "赵六"),
        (10, "钱七"),
        (11, "-孙七"),  # written as text in the error sheet, never a live formula
    ]
    reasons = {number: reason for number, reason, _ in rejected}
    assert "duplicate of row 2" in reasons[6]
    assert "生日 Birthday" in reasons[7] and "2018-13-45" in reasons[7]
    assert "already a lead" in reasons[9]
    assert "来源 Source" in reasons[10] and "抖音" in reasons[10]
    assert "电话 Phone" in reasons[11] and "not a phone" in reasons[11]


def test_a_workbook_imports_exactly_its_good_rows_and_explains_the_rest(make_school):
    school, manager = _school_with_a_lead(make_school)
    response = _upload(manager, _xlsx(), "?file_name=客户名单.xlsx")
    assert response.status_code == 201, response.body
    result = response.json_body
    assert result["file_name"] == "客户名单.xlsx"
    _check_the_result(manager, result)

    # the imported leads are whole: phones normalised, dates and dictionary keys understood
    found = {lead["name"]: lead for lead in manager.get("/leads?scope=pool&limit=100").json_body["items"]}
    assert set(found) == {"王小明", "李华", "张三", "王小红", "赵六"}
    assert found["王小明"]["birthday"] == "2019-05-20" and found["王小明"]["source"] == "referral"
    assert found["李华"]["birthday"] == "2018-03-08" and found["李华"]["source"] == "walk_in"
    assert found["张三"]["birthday"] == "2017-12-01" and found["张三"]["source"] == "website"
    assert found["王小红"]["birthday"] == "2021-01-09"
    revealed = manager.post(f"/leads/{found['张三']['id']}/reveal-phone").json_body
    assert "+8613700137000" in str(revealed)
    # the sister joined the family of row 2: one phone, two learners
    sister = manager.get(f"/leads/{found['王小红']['id']}").json_body
    assert sister["siblings"] == [found["王小明"]["id"]]
    assert sister["history"][0]["action"] == "imported" and sister["history"][0]["details"]["row"] == 8

    # running the same file again imports nothing new
    again = _upload(manager, _xlsx()).json_body
    assert again["counts"]["imported"] == 0
    assert again["counts"]["already_in_school"] == 6 and again["counts"]["invalid"] == 3
    assert len(manager.get("/leads?scope=pool&limit=100").json_body["items"]) == 5


def test_the_same_rows_as_a_gbk_csv_give_the_same_result(make_school):
    school, manager = _school_with_a_lead(make_school)
    response = manager.post(
        "/leads/imports?file_name=leads.csv", _gbk_csv(), headers={"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 201, response.body
    _check_the_result(manager, response.json_body)


def test_utf8_csv_with_a_bom_and_english_headers_and_an_owner_column(school):
    manager = school.staff("manager")
    consultant = school.staff("consultant", display_name="小李老师")
    text = "\ufeffName,Phone,Consultant,Status\nTom,13100131000,小李老师,intent\nAmy,13100131001,公海,潜在\n"
    result = manager.post(
        "/leads/imports", text.encode("utf-8"), headers={"Content-Type": "application/octet-stream"}
    ).json_body
    assert result["counts"]["imported"] == 2, result
    mine = consultant.get("/leads?scope=mine").json_body["items"]
    assert [(lead["name"], lead["status"]) for lead in mine] == [("Tom", "intent")]
    pool = manager.get("/leads?scope=pool").json_body["items"]
    assert [lead["name"] for lead in pool] == ["Amy"]


def test_who_may_import_and_what_is_refused_before_anything_is_stored(school):
    consultant = school.staff("consultant")
    manager = school.staff("manager")
    refused = _upload(consultant, _xlsx())
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "IMPORT_FORBIDDEN"
    assert consultant.get("/leads/import-template", headers={"Accept": XLSX}).status_code == 403
    old_xls = _upload(manager, b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert old_xls.status_code == 400 and old_xls.json_body["error"]["code"] == "UNREADABLE_FILE"
    assert _upload(manager, b"").json_body["error"]["code"] == "UNREADABLE_FILE"
    no_phone = _upload(manager, _xlsx(header=["姓名", "家长"], rows=[["王小明", "王妈妈"]]))
    assert no_phone.status_code == 400 and no_phone.json_body["error"]["code"] == "MISSING_COLUMNS"
    assert "电话 Phone" in no_phone.json_body["error"]["message"]
    assert manager.get("/leads/imports").json_body["items"] == []
    # a school may let consultants import
    school.admin.patch("/settings/leads", {"import_roles": ["manager", "admin", "consultant"]})
    assert _upload(consultant, _xlsx(rows=ROWS[:1])).json_body["counts"]["imported"] == 1


@pytest.mark.parametrize("lang, first", [("zh", "姓名 *"), ("en", "Name *")])
def test_the_template_has_the_columns_an_example_and_the_schools_choices(school, lang, first):
    response = school.admin.get(f"/leads/import-template?lang={lang}", headers={"Accept": XLSX})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == XLSX
    book = load_workbook(io.BytesIO(response.body))
    header, example = list(book.worksheets[0].iter_rows(values_only=True))
    assert header[0] == first and len(header) == len(imports_domain.COLUMNS)
    choices = [row[1] for row in book.worksheets[1].iter_rows(values_only=True)]
    assert "转介绍" in choices and "潜在" in choices
    # the template, filled in as it comes, imports its example row
    result = _upload(school.admin, response.body, f"?campus_id={school.campus['id']}").json_body
    assert result["counts"]["imported"] == 1, result


class MovingClock:
    """The one clock, moved on by the test (as work takes time) instead of sleeping."""

    def __init__(self, monkeypatch):
        self.at = datetime.now(UTC).replace(microsecond=0)
        monkeypatch.setattr(clock, "now", lambda: self.at)

    def move(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def _queued(manager, monkeypatch, rows: int = 100) -> str:
    """A file too large for its upload request, waiting for the job; its id."""
    monkeypatch.setattr(import_uploads, "INLINE_ROWS", 5)
    data = [[f"学员{i}", None, None, "家长", f"1390000{i:04d}", None, None] for i in range(rows)]
    queued = _upload(manager, _xlsx(rows=data))
    assert queued.status_code == 201
    assert queued.json_body["status"] == "queued" and queued.json_body["rows"] == rows
    return queued.json_body["id"]


def _each_row_once(manager, import_id: str, rows: int = 100) -> dict:
    """The import is done with every row imported once, none twice, and the uploader was
    told once; its record."""
    done = manager.get(f"/leads/imports/{import_id}").json_body
    assert done["status"] == "done", done
    assert done["counts"]["imported"] == rows and done["counts"]["rejected"] == 0, done
    assert done["error_sheet"] is None
    page = manager.get("/leads?scope=pool&limit=100").json_body
    names = [lead["name"] for lead in page["items"]]
    while page["next_cursor"]:
        page = manager.get(f"/leads?scope=pool&limit=100&cursor={page['next_cursor']}").json_body
        names += [lead["name"] for lead in page["items"]]
    assert sorted(names) == sorted(f"学员{i}" for i in range(rows))  # every row once, none twice
    notes = [n["message"] for n in manager.get("/notifications").json_body["items"]]
    assert sum(f"{rows} imported" in n for n in notes) == 1, notes
    return done


WAITING = {"job": "lead_imports", "imports": 0, "not_done": 1, "broken": 0}  # an import another run holds


def test_a_crashed_import_is_taken_over_between_one_and_two_minutes_after_the_crash(school, monkeypatch):
    manager = school.staff("manager")
    now = MovingClock(monkeypatch)
    import_id = _queued(manager, monkeypatch)

    # the first run works (25 s a chunk of 25 rows: its heartbeat renews the lease before
    # each one), then is killed as its third chunk starts, after writing two: nothing more
    # of it runs
    real, calls = import_writer._write_chunk, []

    def dies_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) >= 3:
            raise RuntimeError("the Lambda ran out of time")
        now.move(25)
        return real(*args, **kwargs)

    monkeypatch.setattr(import_writer, "WRITERS", 1)
    monkeypatch.setattr(import_writer, "_write_chunk", dies_on_the_third)
    assert jobs.run("lead_imports", tenant=school.slug)["broken"] == 1
    monkeypatch.setattr(import_writer, "_write_chunk", real)
    assert manager.get(f"/leads/imports/{import_id}").json_body["status"] == "running"
    crashed = now.at  # 50 s after the run began, its last heartbeat
    # within a minute of its last heartbeat (later than a minute after it began), the dead
    # run still holds the import
    for seconds in (0, 30, 59):
        now.at = crashed + timedelta(seconds=seconds)
        assert jobs.run("lead_imports", tenant=school.slug) == WAITING
    # the next minute's job takes it over and writes the rest: no row lost, none twice
    now.at = crashed + timedelta(seconds=60 + 30)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    _each_row_once(manager, import_id)
    assert manager.get("/leads/imports").json_body["items"][0]["id"] == import_id


def test_a_slow_live_import_keeps_its_lease_for_as_long_as_it_writes(school, monkeypatch):
    manager = school.staff("manager")
    now = MovingClock(monkeypatch)
    import_id = _queued(manager, monkeypatch)
    from chalicelib.db import imports as imports_db

    # small chunks (3 rows each, 34 of them), each taking 40 s: 22 minutes in all, longer
    # than the lease (and than any lease a run could be given at the start)
    monkeypatch.setattr(import_writer, "CHUNK_ROWS", 3)
    monkeypatch.setattr(import_writer, "WRITERS", 1)
    real, takers = import_writer._write_chunk, []

    def slow(*args, **kwargs):
        done = real(*args, **kwargs)
        now.move(40)
        takers.append(jobs.run("lead_imports", tenant=school.slug))  # the next minute's job, meanwhile
        return done

    monkeypatch.setattr(import_writer, "_write_chunk", slow)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    monkeypatch.setattr(import_writer, "_write_chunk", real)
    print(f"{len(takers)} jobs in {len(takers) * 40 // 60} minutes tried to take a live import: {takers[-1]}")
    assert len(takers) >= 30 and all(taker == WAITING for taker in takers), takers
    _each_row_once(manager, import_id)
    assert imports_db.get(school.slug, import_id)["attempts"] == 1  # one run did it all


def test_a_run_whose_lease_was_taken_over_stops_without_writing_or_reporting(school, monkeypatch):
    manager = school.staff("manager")
    now = MovingClock(monkeypatch)
    import_id = _queued(manager, monkeypatch)
    from chalicelib.db import imports as imports_db
    from chalicelib.db import telemetry

    monkeypatch.setattr(import_writer, "WRITERS", 1)
    real, first_run, first_run_writes, taken_over = import_writer._write_chunk, [], [], []

    def stalls_after_its_first_chunk(*args, **kwargs):
        first_run.append(first_run[0] if first_run else threading.current_thread())  # its one writer
        if threading.current_thread() is not first_run[0]:  # the run that took over writes freely
            return real(*args, **kwargs)
        first_run_writes.append(1)
        if len(first_run_writes) > 1:  # after the takeover: the chunk must write nothing
            with telemetry.record() as rec:
                try:
                    return real(*args, **kwargs)
                finally:
                    wrote = [op for op in rec.operations if op in ("PutItem", "BatchWriteItem", "DeleteItem")]
                    assert not wrote, f"the first run wrote after its lease was taken over: {wrote}"
        done = real(*args, **kwargs)
        now.move(61)  # the first run stalls for a minute (a long pause, a network stall) ...
        taken_over.append(jobs.run("lead_imports", tenant=school.slug))  # ... and the job takes over
        return done

    monkeypatch.setattr(import_writer, "_write_chunk", stalls_after_its_first_chunk)
    first = jobs.run("lead_imports", tenant=school.slug)
    assert taken_over == [{"job": "lead_imports", "imports": 1, "not_done": 0, "broken": 0}]
    # the first run woke up, found its lease taken at its next heartbeat, and stopped:
    # nothing written by its second chunk, no second result, no second message
    assert first == WAITING and len(first_run_writes) == 2
    _each_row_once(manager, import_id)
    assert imports_db.get(school.slug, import_id)["attempts"] == 2


def test_an_owner_at_their_cap_gets_no_more_and_the_rows_say_why(school):
    manager = school.staff("manager")
    consultant = school.staff("consultant", display_name="小王")
    school.admin.patch("/settings/leads", {"max_leads_per_consultant": 2})
    rows = [[f"学员{i}", None, None, "家长", f"1380000{i:04d}", None, None] for i in range(3)]
    result = _upload(manager, _xlsx(rows=rows), f"?owner_id={consultant.user['id']}").json_body
    assert result["counts"]["imported"] == 2 and result["counts"]["conflict"] == 1, result
    assert len(consultant.get("/leads?scope=mine").json_body["items"]) == 2
    ((_, reason, _),) = _rejected(manager, result["id"])
    assert "顾问 Consultant" in reason


def test_an_import_that_keeps_breaking_is_given_up_and_the_uploader_told(school, monkeypatch):
    manager = school.staff("manager")
    consultant = school.staff("consultant")
    monkeypatch.setattr(import_uploads, "INLINE_ROWS", 0)
    started = _upload(manager, _xlsx(rows=ROWS[:1]), f"?owner_id={consultant.user['id']}").json_body
    from chalicelib.db import imports as imports_db

    def always_breaks(*args, **kwargs):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(imports_db, "batch_write", always_breaks)
    now = datetime.now(UTC)
    for attempt in range(3):  # each run after the last one's lease
        with clock.frozen(now + timedelta(minutes=2 * attempt)):
            assert jobs.run("lead_imports", tenant=school.slug)["broken"] == 1
    with clock.frozen(now + timedelta(minutes=2 * 3)):
        assert jobs.run("lead_imports", tenant=school.slug) == {
            "job": "lead_imports",
            "imports": 0,
            "not_done": 1,
            "broken": 0,
        }
    failed = manager.get(f"/leads/imports/{started['id']}").json_body
    assert failed["status"] == "failed" and "3 attempts" in failed["error"]
    notes = [n["message"] for n in manager.get("/notifications").json_body["items"]]
    assert any(n.startswith("leads.xlsx: 导入失败 Import failed: Gave up after 3 attempts") for n in notes), notes
    # off the queue: later runs do not see it
    with clock.frozen(now + timedelta(minutes=2 * 4)):
        assert jobs.run("lead_imports", tenant=school.slug)["not_done"] == 0
    # the runs claimed the row's number and counted its lead, but never wrote it: both given back
    claims, holders = _claims_and_leads(school.slug, ["+8613800138000"])
    assert claims == holders == {}
    assert imports_db.owned_leads(school.slug, consultant.user["id"]) == 0
    assert _typed(manager, "王小明", "13800138000").status_code == 201


def test_rows_a_school_would_not_expect_are_refused_not_crashed_on(school):
    manager = school.staff("manager")
    # ten learners on one phone: too many to write whole in one transaction
    crowd = [[f"学员{i}", None, "2019-01-01", "前台", "0755 8888 1234", None, None] for i in range(10)]
    result = _upload(manager, _xlsx(rows=[ROWS[0], *crowd])).json_body
    assert result["status"] == "done", result
    assert (result["counts"]["imported"], result["counts"]["invalid"]) == (1, 10)
    assert "too many learners on one phone" in _rejected(manager, result["id"])[0][1]
    # a stray cell far below and far right costs nothing and is not a row
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "电话"])
    sheet.append(["吴一", "13000130000"])
    sheet.cell(row=900_000, column=1, value="x")
    sheet.cell(row=3, column=5_000, value="y")
    out = io.BytesIO()
    book.save(out)
    stray = _upload(manager, out.getvalue()).json_body
    assert stray["counts"]["rows"] == 1 and stray["counts"]["imported"] == 1, stray
    # a damaged file is a 400, wherever it breaks
    long_cell = ("姓名,电话,备注\n王五,13000130001," + "长" * 140_000 + "\n").encode("utf-8")
    broken = manager.post("/leads/imports", long_cell, headers={"Content-Type": "application/octet-stream"})
    assert broken.status_code == 400 and broken.json_body["error"]["code"] == "UNREADABLE_FILE"
    cut = _upload(manager, _xlsx()[:-200])
    assert cut.status_code == 400 and cut.json_body["error"]["code"] == "UNREADABLE_FILE"
    # a header that a spreadsheet would run is text in the error sheet
    tricky = '姓名,电话,=HYPERLINK("http://x")\n王六,not a phone,1\n'.encode()
    made = manager.post("/leads/imports", tricky, headers={"Content-Type": "application/octet-stream"}).json_body
    sheet = load_workbook(io.BytesIO(manager.get(f"/leads/imports/{made['id']}/errors", headers={"Accept": XLSX}).body))
    assert sheet.active.cell(row=1, column=5).value == '=HYPERLINK("http://x")'
    assert sheet.active.cell(row=1, column=5).data_type == "s"


def test_the_consultant_column_follows_the_rules_of_assigning_by_hand(school):
    consultant = school.staff("consultant", display_name="小陈")
    school.staff("consultant", display_name="小周")
    school.admin.patch("/settings/leads", {"import_roles": ["manager", "admin", "consultant"]})
    text = "姓名,电话,顾问\n甲,13000130010,小陈\n乙,13000130011,小周\n"
    result = consultant.post(
        "/leads/imports", text.encode(), headers={"Content-Type": "application/octet-stream"}
    ).json_body
    assert (result["counts"]["imported"], result["counts"]["invalid"]) == (1, 1)
    assert [lead["name"] for lead in consultant.get("/leads?scope=mine").json_body["items"]] == ["甲"]


def test_a_default_owner_who_left_before_the_job_ran_fails_the_import(school, monkeypatch):
    manager = school.staff("manager")
    consultant = school.staff("consultant")
    monkeypatch.setattr(import_uploads, "INLINE_ROWS", 0)
    queued = _upload(manager, _xlsx(rows=ROWS[:1]), f"?owner_id={consultant.user['id']}").json_body
    school.admin.patch(f"/users/{consultant.user['id']}", {"active": False})
    jobs.run("lead_imports", tenant=school.slug)
    failed = manager.get(f"/leads/imports/{queued['id']}").json_body
    assert failed["status"] == "failed" and "can no longer take" in failed["error"]


# --- phones claimed one by one, leads written in batches (issue 17) --------------------


def _claims_and_leads(tenant: str, numbers: list[str]) -> tuple[dict, dict]:
    """The claims on these numbers (e164 -> lead ids) and every lead of the school holding
    one of them (e164 -> ids of the leads whose guardians list it)."""
    from chalicelib.db import leads as leads_db
    from chalicelib.db.base import BaseItem
    from chalicelib.db.items import LeadItem

    claims = {e164: claim.lead_ids for e164, claim in leads_db.phone_claims(tenant, numbers).items()}
    holders: dict[str, list[str]] = {}
    for item in BaseItem.scan(BaseItem.PK.startswith(f"T#{tenant}#LEAD#")):  # the test's own school only
        if isinstance(item, LeadItem):
            for e164 in set(item.phones or []) & set(numbers):
                holders.setdefault(e164, []).append(item.id)
    return claims, holders


def test_a_run_that_dies_between_its_claims_and_its_leads_is_completed_once(school, monkeypatch):
    """The first run writes its first chunk whole, claims the phones of the second (and writes
    what goes with its leads), then dies before writing those leads. The next run recognises
    its own claims, writes the missing leads, and nothing is duplicated or lost: one lead and
    one claim naming it for every number."""
    manager = school.staff("manager")
    now = MovingClock(monkeypatch)
    import_id = _queued(manager, monkeypatch)

    _run_dying_at_the_second_chunks_leads(school, monkeypatch)
    numbers = [f"+86139000{i:05d}" for i in range(100)]
    claims, holders = _claims_and_leads(school.slug, numbers)
    assert len(claims) == 50 and len(holders) == 25  # 25 numbers claimed for leads not written yet
    # the next run (after the dead run's lease) completes the import
    now.move(121)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    _each_row_once(manager, import_id)
    claims, holders = _claims_and_leads(school.slug, numbers)
    assert sorted(claims) == sorted(holders) == sorted(numbers)
    assert all(len(holders[n]) == 1 and claims[n] == holders[n] for n in numbers), (claims, holders)
    # and one history entry "imported" each (kept on the lead: the rerun rewrote it with the lead)
    for number in numbers:
        (lead_id,) = holders[number]
        entries = manager.get(f"/leads/{lead_id}/history?limit=100").json_body["items"]
        assert [e["action"] for e in entries] == ["imported"], (number, entries)
        assert entries[0]["details"]["import_id"] == import_id


def _typed(manager, name: str, phone: str):
    """A lead typed in by hand (POST /leads) with this phone."""
    return manager.post("/leads", {"name": name, "guardians": [{"name": "家长", "phones": [phone]}], "to_pool": True})


def _run_dying_at_the_second_chunks_leads(school, monkeypatch) -> None:
    """One run of the import job that dies (as a Lambda out of time) when it writes its second
    chunk's leads: the first chunk is whole, the second has its claims and items but no leads."""
    from chalicelib.db import imports as imports_db
    from chalicelib.db.items import LeadItem

    real, lead_writes = imports_db.batch_write, []

    def dies_writing_the_second_chunks_leads(puts=(), deletes=()):
        if any(isinstance(item, LeadItem) for item in puts):
            lead_writes.append(1)
            if len(lead_writes) == 2:
                raise RuntimeError("the Lambda ran out of time")
        return real(puts, deletes)

    monkeypatch.setattr(import_writer, "WRITERS", 1)
    monkeypatch.setattr(imports_db, "batch_write", dies_writing_the_second_chunks_leads)
    assert jobs.run("lead_imports", tenant=school.slug)["broken"] == 1
    monkeypatch.setattr(imports_db, "batch_write", real)


def _queued_rows(manager, monkeypatch, text: str, query: str = "") -> str:
    monkeypatch.setattr(import_uploads, "INLINE_ROWS", 0)
    queued = manager.post(f"/leads/imports{query}", text.encode(), headers={"Content-Type": "application/octet-stream"})
    assert queued.status_code == 201 and queued.json_body["status"] == "queued", queued.body
    return queued.json_body["id"]


def test_an_import_and_a_lead_typed_in_racing_for_a_phone_leave_one_lead_holding_it(school, monkeypatch):
    """Typed in between the import's check of the school's phones and its claim: the typed
    lead keeps the number and the row is refused. Typed in after the import's claim, before
    its lead is written: the typed lead is refused (409 DUPLICATE_PHONE) and the import's
    lead holds the number. Either way exactly one lead holds each number."""
    manager = school.staff("manager")
    from chalicelib.db import imports as imports_db

    text = "姓名,电话\n甲,13000130020\n乙,13000130021\n丙,13000130022\n"
    import_id = _queued_rows(manager, monkeypatch, text)
    real_claim, real_write, typed = imports_db.claim_phone, imports_db.batch_write, {}

    def type_in(name: str, phone: str) -> None:
        typed[name] = manager.post(
            "/leads", {"name": name, "guardians": [{"name": "家长", "phones": [phone]}], "to_pool": True}
        )

    def claim(tenant, e164, family_id, lead_ids):
        if e164 == "+8613000130021" and "乙'" not in typed:  # before the import claims it
            type_in("乙'", "13000130021")
        return real_claim(tenant, e164, family_id, lead_ids)

    def write(puts=(), deletes=()):
        if "甲'" not in typed:  # the import holds its claims; its leads are not written yet
            type_in("甲'", "13000130020")
        return real_write(puts, deletes)

    monkeypatch.setattr(import_writer, "WRITERS", 1)
    monkeypatch.setattr(imports_db, "claim_phone", claim)
    monkeypatch.setattr(imports_db, "batch_write", write)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    assert typed["乙'"].status_code == 201, typed["乙'"].body
    assert typed["甲'"].status_code == 409 and typed["甲'"].json_body["error"]["code"] == "DUPLICATE_PHONE"
    done = manager.get(f"/leads/imports/{import_id}").json_body
    assert (done["counts"]["imported"], done["counts"]["conflict"]) == (2, 1), done
    ((number, reason, name),) = _rejected(manager, import_id)
    assert (number, name) == (3, "乙") and "added by someone else meanwhile" in reason
    numbers = ["+8613000130020", "+8613000130021", "+8613000130022"]
    claims, holders = _claims_and_leads(school.slug, numbers)
    assert all(len(holders[n]) == 1 and claims[n] == holders[n] for n in numbers), (claims, holders)
    assert holders["+8613000130021"] == [typed["乙'"].json_body["id"]]


def test_a_family_that_loses_one_number_is_refused_whole_and_its_other_claims_given_back(school, monkeypatch):
    """Two siblings on one number, the second with a number of its own that someone types in
    while the import runs: the family is refused whole, the claim it had already made is
    taken back (the number is free again), and the consultant's counter holds only the
    leads written."""
    manager = school.staff("manager")
    consultant = school.staff("consultant")
    from chalicelib.db import imports as imports_db

    text = "姓名,电话,其他电话\n哥哥,13000130030,\n妹妹,13000130030,13000130031\n邻居,13000130032,\n"
    import_id = _queued_rows(manager, monkeypatch, text, f"?owner_id={consultant.user['id']}")
    real_claim, typed = imports_db.claim_phone, []

    def claim(tenant, e164, family_id, lead_ids):
        if e164 == "+8613000130031" and not typed:
            typed.append(
                manager.post(
                    "/leads",
                    {"name": "别人", "guardians": [{"name": "家长", "phones": ["13000130031"]}], "to_pool": True},
                )
            )
        return real_claim(tenant, e164, family_id, lead_ids)

    monkeypatch.setattr(imports_db, "claim_phone", claim)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    assert typed[0].status_code == 201
    done = manager.get(f"/leads/imports/{import_id}").json_body
    assert (done["counts"]["imported"], done["counts"]["conflict"]) == (1, 2), done
    claims, holders = _claims_and_leads(school.slug, ["+8613000130030", "+8613000130031", "+8613000130032"])
    assert "+8613000130030" not in claims and "+8613000130030" not in holders  # given back
    assert [lead["name"] for lead in consultant.get("/leads?scope=mine").json_body["items"]] == ["邻居"]
    assert imports_db.owned_leads(school.slug, consultant.user["id"]) == 1  # counted 3, 2 given back
    # the number given back can be taken again
    again = manager.post(
        "/leads", {"name": "哥哥", "guardians": [{"name": "家长", "phones": ["13000130030"]}], "to_pool": True}
    )
    assert again.status_code == 201, again.body


def test_the_stream_counts_each_imported_lead_once_across_a_crash_and_a_rerun(
    school, monkeypatch, dynamodb_endpoint, table, tmp_path
):
    """A lead put by BatchWriteItem is a stream INSERT as one put by a transaction was: after
    a run that died between its claims and its leads and the run that completed it, the
    stream holds one INSERT per lead and the report aggregates count each lead once."""
    from chalicelib.db import keys
    from tests.test_streams import Tap, _days, figures, lambda_like

    tap = Tap(dynamodb_endpoint, tmp_path, school.slug)
    manager = school.staff("manager")
    now = MovingClock(monkeypatch)
    import_id = _queued(manager, monkeypatch, rows=30)
    _run_dying_at_the_second_chunks_leads(school, monkeypatch)
    now.move(121)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    _each_row_once(manager, import_id, rows=30)
    records = tap.drain()
    inserts = [r for r in records if r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["type"]["S"] == "Lead"]
    assert len(inserts) == 30 and not [
        r for r in records if r["eventName"] == "MODIFY" and r["dynamodb"]["NewImage"]["type"]["S"] == "Lead"
    ]
    lambda_like(records, batch_size=100)
    found = figures(school.slug, _days())
    new_leads = sum(v.get("new_leads", 0) for (p, sk), v in found.items() if len(p) == 10 and sk == keys.ALL_DIMENSION)
    assert new_leads == 30


def test_a_consultants_counter_counts_an_import_once_across_a_crash_and_a_rerun(school, monkeypatch):
    """The counter is moved before the writes with a record of it in the import's partition:
    the run that completes a dead run's import reads that record and moves it no more."""
    manager = school.staff("manager")
    consultant = school.staff("consultant")
    now = MovingClock(monkeypatch)
    from chalicelib.db import imports as imports_db

    text = "姓名,电话\n" + "".join(f"学员{i},1390001{i:04d}\n" for i in range(30))
    import_id = _queued_rows(manager, monkeypatch, text, f"?owner_id={consultant.user['id']}")
    _run_dying_at_the_second_chunks_leads(school, monkeypatch)
    assert imports_db.owned_leads(school.slug, consultant.user["id"]) == 30  # counted before the writes
    now.move(121)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    assert manager.get(f"/leads/imports/{import_id}").json_body["counts"]["imported"] == 30
    assert len(consultant.get("/leads?scope=mine&limit=100").json_body["items"]) == 30
    assert imports_db.owned_leads(school.slug, consultant.user["id"]) == 30  # not 60


def test_a_running_import_shows_the_rows_settled_so_far_for_the_uploaders_progress_bar(school, monkeypatch):
    """While the job writes, the import's record says how many of its rows are settled
    (written or refused), kept with the lease's renewals (at most every few seconds; here at
    every chunk), so GET /leads/imports/{id} can drive a progress bar."""
    from chalicelib.db import imports as imports_db
    from chalicelib.domain import import_lease

    manager = school.staff("manager")
    import_id = _queued(manager, monkeypatch, rows=100)
    assert manager.get(f"/leads/imports/{import_id}").json_body["rows_done"] is None  # queued
    monkeypatch.setattr(import_lease, "PROGRESS", timedelta(0))
    monkeypatch.setattr(import_writer, "WRITERS", 1)
    real_renew, seen = imports_db.renew, []

    def renew(*args, **kwargs):
        kept = real_renew(*args, **kwargs)
        shown = manager.get(f"/leads/imports/{import_id}").json_body
        seen.append((shown["status"], shown["rows_done"], shown["rows"]))
        return kept

    monkeypatch.setattr(imports_db, "renew", renew)
    assert jobs.run("lead_imports", tenant=school.slug)["imports"] == 1
    # before each chunk of 25 rows: what the chunks before it settled
    assert seen == [("running", 0, 100), ("running", 25, 100), ("running", 50, 100), ("running", 75, 100)]
    done = manager.get(f"/leads/imports/{import_id}").json_body
    assert done["status"] == "done" and done["counts"]["imported"] == 100
