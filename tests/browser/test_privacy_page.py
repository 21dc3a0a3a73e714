"""A data subject's rights on the lead's page (issue 19, docs/privacy.md) in a real browser on
the local API: an admin downloads everything held about a lead (JSON and a workbook) and
erases its personal data with a reason, after a dialog naming what that does; the page then
shows the tombstone. A consultant is offered neither; a manager exports but does not erase."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import shot, sign_in
from tests.test_leads import lead_body


def _phone() -> str:
    return "135" + "".join(secrets.choice("0123456789") for _ in range(8))


def _download(page, item: str):
    page.get_by_role("button", name="导出个人数据").click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name=item).click()
    return download.value


ACTIONS = ("编辑", "添加跟进", "签约", "添加计划", "预约试听")


def test_an_admin_exports_a_leads_data_and_erases_it(page, school):
    consultant = school.staff("consultant")
    phone = _phone()
    lead = consultant.post("/leads", lead_body(name="隐私学员" + secrets.token_hex(2), phone=phone)).json_body
    assert (
        consultant.post(
            f"/leads/{lead['id']}/follow-ups", {"method": "phone", "content": "妈妈说下周再联系"}
        ).status_code
        == 201
    )
    sign_in(page, school, school.admin, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    for offered in ACTIONS:  # while the lead is whole, the admin may act on it
        expect(page.get_by_role("button", name=offered, exact=True)).to_be_visible()

    saved = _download(page, "JSON")
    assert saved.suggested_filename == f"lead-{lead['id']}.json"
    data = json.loads(Path(saved.path()).read_text("utf-8"))
    assert data["lead"]["name"] == lead["name"]
    assert phone in Path(saved.path()).read_text("utf-8")  # the full number: it is theirs
    saved = _download(page, "Excel (xlsx)")
    assert saved.suggested_filename == f"lead-{lead['id']}.xlsx"
    book = load_workbook(io.BytesIO(Path(saved.path()).read_bytes()))
    assert any(
        lead["name"] in str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    )

    page.get_by_role("button", name="删除个人数据").click()
    dialog = page.get_by_role("dialog", name="删除个人数据")
    expect(dialog).to_contain_text("电话号码被释放")
    expect(dialog).to_contain_text("合同、收退款")
    dialog.get_by_role("button", name="确认删除").click()
    expect(dialog.get_by_role("alert")).to_contain_text("删除原因")  # a reason is required: nothing sent
    assert school.admin.get(f"/leads/{lead['id']}").json_body.get("erased_at") is None
    dialog.get_by_role("textbox", name="删除原因").fill("家长书面要求删除个人信息")
    shot(page, "lead-erase")
    dialog.get_by_role("button", name="确认删除").dblclick()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text("[erased]")
    expect(page.get_by_role("alert").filter(has_text="个人数据已于")).to_be_visible()
    expect(page.get_by_role("button", name="删除个人数据")).to_have_count(0)
    # what the API refuses on an erased lead is not offered: no edit, follow-up, contract, plan or visit
    for offered in ACTIONS:
        expect(page.get_by_role("button", name=offered, exact=True)).to_have_count(0)
    expect(page.get_by_role("region", name="变更记录")).to_contain_text("家长书面要求删除个人信息")
    stored = school.admin.get(f"/leads/{lead['id']}").json_body
    assert stored["name"] == "[erased]" and stored["erased_at"] and stored["guardians"] == []
    # the phone is free again: a new family may use it
    again = consultant.post("/leads", lead_body(name="新家庭" + secrets.token_hex(2), phone=phone))
    assert again.status_code == 201, again.body
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "lead-erased")


def test_a_consultant_is_offered_neither_and_a_manager_exports_only(page, school):
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", lead_body(name="普通学员" + secrets.token_hex(2))).json_body
    sign_in(page, school, consultant, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lead["name"])
    expect(page.get_by_role("region", name="变更记录")).to_be_visible()  # the page is there
    expect(page.get_by_role("button", name="删除个人数据")).to_have_count(0)
    expect(page.get_by_role("button", name="导出个人数据")).to_have_count(0)
    assert consultant.post(f"/leads/{lead['id']}/erase", {"reason": "试试"}).status_code == 403
    page.get_by_role("button", name="退出登录").click()

    manager = school.staff("manager")
    sign_in(page, school, manager, path=f"/leads/{lead['id']}")
    expect(page.get_by_role("button", name="导出个人数据")).to_be_visible()
    expect(page.get_by_role("button", name="删除个人数据")).to_have_count(0)
