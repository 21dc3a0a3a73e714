"""Lead export (导出): who may, what it holds, that it is audited and weighs its rows."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.test_leads import lead_body

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_a_consultant_may_not_export_a_manager_may_and_it_is_audited(school):
    consultant = school.staff("consultant", display_name="李娜")
    manager = school.staff("manager")
    consultant.post("/leads", lead_body(name="王小明", phone="13800138000", source="website"))
    consultant.post("/leads", lead_body(name='=HYPERLINK("x")', phone="13900139000"))
    refused = consultant.get("/leads/export")
    assert refused.status_code == 403 and refused.json_body["error"]["code"] == "EXPORT_FORBIDDEN"
    got = manager.request("GET", "/leads/export?format=xlsx&sort=newest", headers={"Accept": XLSX})
    assert got.status_code == 200, got.body[:300]
    assert got.headers["Content-Type"] == XLSX and "attachment" in got.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(got.body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("姓名 Name", "性别 Gender", "生日 Birthday", "家长 Guardian", "电话 Phone")
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["王小明"][4] == "+8613800138000"  # full numbers: why exports are guarded
    assert by_name["王小明"][6] == "官网" and by_name["王小明"][8] == "李娜" and by_name["王小明"][9] == "南山校区"
    assert by_name['=HYPERLINK("x")'][0] == '=HYPERLINK("x")'  # a formula stays text (test_sheet_safety)
    as_csv = manager.get("/leads/export?format=csv&source=website")
    text = as_csv.body.decode("utf-8")
    assert text.startswith("\ufeff") and as_csv.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert [line[0] for line in lines[1:]] == ["王小明"]  # the list's filters apply
    entries = school.admin.get(f"/audit?user={manager.user['id']}").json_body["items"]
    exports = [e for e in entries if e["route"] == "/leads/export"]
    assert sorted(e["weight"] for e in exports) == [1, 2]  # one read per row: the csv had 1, the xlsx 2


def test_the_school_chooses_who_may_export(school):
    consultant = school.staff("consultant")
    assert consultant.get("/leads/export?format=csv").status_code == 403
    school.admin.patch("/settings/leads", {"export_roles": ["admin", "manager", "consultant"]})
    mine = consultant.get("/leads/export?format=csv")
    assert mine.status_code == 200  # only the leads they may see: none yet
    assert len(mine.body.decode("utf-8").strip().splitlines()) == 1
