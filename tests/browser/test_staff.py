"""Staff (员工, issue 18) in a real browser: an admin adds a consultant to a supervisor's team,
sets a forgotten password (the old session ends), and disables the account (it can no
longer sign in)."""

from __future__ import annotations

import secrets

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.conftest import login


def _me(api_url: str, token: str) -> int:
    """GET /me on the API server the console talks to (the container that made the change)."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(api_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        connection.request("GET", "/me", headers={"Authorization": f"Bearer {token}"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_an_admin_adds_a_consultant_resets_the_password_and_disables_the_account(page, school, api_url):
    boss = school.staff("supervisor", display_name="主管老周")
    name, username = "新顾问" + secrets.token_hex(2), "xin" + secrets.token_hex(3)
    sign_in(page, school, school.admin)
    page.get_by_role("link", name="员工").click()
    page.get_by_role("button", name="新建员工").click()
    dialog = page.get_by_role("dialog", name="新建员工")
    dialog.get_by_role("textbox", name="用户名").fill(username)
    dialog.get_by_role("textbox", name="姓名").fill(name)
    pick(page, "校区", school.campus["name"])
    pick(page, "所属主管", "主管老周")
    dialog.get_by_label("密码").fill("第一个密码abcdefg")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("顾问")
    created = next(u for u in school.admin.get("/users?limit=100").json_body["items"] if u["username"] == username)
    assert (created["role"], created["supervisor_id"], created["campus_ids"]) == (
        "consultant",
        boss.user["id"],
        [school.campus["id"]],
    )
    first = school.sign_in(username, "第一个密码abcdefg")
    assert _me(api_url, first.token) == 200
    shot(page, "staff")

    row.get_by_role("button", name="重设密码").click()
    dialog = page.get_by_role("dialog", name=f"为 {name} 重设密码")
    dialog.get_by_label("新密码").fill("短")
    dialog.get_by_role("button", name="重设密码").click()
    expect(dialog.get_by_role("alert")).to_be_visible()  # at least 10 characters
    dialog.get_by_label("新密码").fill("第二个密码efghijk")
    dialog.get_by_role("button", name="重设密码").click()
    expect(dialog).to_be_hidden()
    # the old session ends at once where the change was made (elsewhere within 30 s: docs/security.md)
    assert _me(api_url, first.token) == 401
    assert school.sign_in(username, "第二个密码efghijk").get("/me").status_code == 200

    row.get_by_role("button", name="停用").click()
    expect(row).to_contain_text("已停用")
    assert login(school.client, school.slug, username, "第二个密码efghijk").status_code in (401, 403)
