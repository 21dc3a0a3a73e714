"""Export (导出) from the leads list (issue 18): the workbook holds the leads the list's
filters find, no other; a role the school does not let export gets the API's refusal."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.test_leads import lead_body


def test_a_manager_exports_what_the_search_finds(page, school):
    consultant = school.staff("consultant")
    tag = secrets.token_hex(3)
    for name in (f"导出甲{tag}", f"导出乙{tag}", "别的客户" + tag[:2]):
        assert consultant.post("/leads", lead_body(name=name)).status_code == 201
    manager = school.staff("manager")
    sign_in(page, school, manager, path="/leads")
    search = page.get_by_role("searchbox", name="搜索")
    search.fill("导出")
    search.press("Enter")
    expect(page.get_by_role("link", name=f"导出甲{tag}")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="导出").click()
    saved = download.value
    assert saved.suggested_filename.startswith("leads-") and saved.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(Path(saved.path()).read_bytes())).worksheets[0]
    names = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert {f"导出甲{tag}", f"导出乙{tag}"} <= names and "别的客户" + tag[:2] not in names
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_a_school_that_keeps_exports_to_admins_refuses_a_manager_with_the_apis_message(page, school):
    assert school.admin.patch("/settings/leads", {"export_roles": ["admin"]}).status_code == 200
    manager = school.staff("manager")
    refused = manager.get("/leads/export", headers={"Accept": "*/*", "Accept-Language": "zh-CN"})
    assert refused.status_code == 403
    sign_in(page, school, manager, path="/leads")
    page.get_by_role("button", name="导出").click()
    expect(page.get_by_role("alert").first).to_contain_text(refused.json_body["error"]["message"])
