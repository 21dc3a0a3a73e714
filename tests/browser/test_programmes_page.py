"""Programmes and cohorts (课程/班级, issue 18) in a real browser on the local API: a manager
creates a programme and a cohort with seats and a teacher; a consultant enrols two leads; the
manager confirms one and declines the other; a website application for the cohort (sent as
the school's website sends it, with a public API key) is listed on the cohort and enrolled.
The seats shown are the API's; what the screens did is checked through the API."""

from __future__ import annotations

import json
import secrets

from playwright.sync_api import expect

from tests.browser.conftest import pick, shot, sign_in
from tests.test_cards import school_today
from tests.test_leads import lead_body


def _seats(page) -> dict[str, str]:
    return {key: page.locator(f"[data-seats={key}]").inner_text() for key in ("seats", "confirmed", "pending", "left")}


def _api_seats(cohort: dict) -> dict[str, str]:
    return {
        "seats": str(cohort["seats"]),
        "confirmed": str(cohort["confirmed"]),
        "pending": str(cohort["pending"]),
        "left": str(cohort["seats_left"]),
    }


def _sign_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()


def _apply_on_the_website(school, cohort_id: str, learner: str) -> None:
    """POST /public/applications with the school's public key, as its web form does."""
    key = school.admin.post("/settings/api-keys", {"name": "官网报名表", "campus_id": school.campus["id"]})
    assert key.status_code == 201, key.body
    body = {
        "learner_name": learner,
        "guardian_name": "官网家长",
        "phone": "139" + "".join(secrets.choice("0123456789") for _ in range(8)),
        "cohort_id": cohort_id,
        "message": "想报周六班",
        "consent": True,
    }
    sent = school.client.http.request(
        "POST",
        "/public/applications",
        headers={"Content-Type": "application/json", "X-Api-Key": key.json_body["key"]},
        body=json.dumps(body, ensure_ascii=False),
    )
    assert sent.status_code == 202, sent.body


def test_a_manager_opens_a_cohort_a_consultant_enrols_and_the_manager_decides(page, school):
    manager = school.staff("manager", display_name="店长老王")
    teacher = school.staff("teacher", display_name="王老师")
    consultant = school.staff("consultant", display_name="顾问小陈")
    tag = secrets.token_hex(2)
    first = consultant.post("/leads", lead_body(name=f"报名甲{tag}")).json_body
    second = consultant.post("/leads", lead_body(name=f"报名乙{tag}")).json_body
    programme_name = f"少儿编程{tag}"

    # the manager: 课程 → 新建课程
    sign_in(page, school, manager)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="课程", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("课程")
    page.get_by_role("button", name="新建课程").click()
    dialog = page.get_by_role("dialog", name="新建课程")
    dialog.get_by_label("名称").fill(programme_name)
    pick(page, "类型", "工作坊")
    pick(page, "开课方式", "单次")
    dialog.get_by_label("说明").fill("零基础")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text(programme_name)  # the new programme's page
    programme = next(p for p in manager.get("/programmes?limit=100").json_body["items"] if p["name"] == programme_name)
    assert (programme["kind"], programme["recurrence"], programme["description"]) == ("workshop", "one_off", "零基础")

    # 新建班级: seats, a teacher, two instalment options
    page.get_by_role("button", name="新建班级").click()
    dialog = page.get_by_role("dialog", name="新建班级")
    dialog.get_by_label("班级名称").fill("周六上午班")
    dialog.get_by_label("上课安排").fill("每周六 10:00-11:30")
    pick(page, "老师", "王老师")
    dialog.get_by_label("价格").fill("3600.00")
    dialog.get_by_label("名额").fill("3")
    dialog.get_by_role("button", name="添加分期方式").click()
    dialog.get_by_label("分期名称 2").fill("分3期")
    dialog.get_by_label("期数 2").fill("3")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    cohorts = page.get_by_role("region", name="班级")
    expect(cohorts.get_by_role("row").filter(has_text="周六上午班")).to_contain_text("王老师")
    listed = manager.get(f"/cohorts?programme_id={programme['id']}").json_body["items"]
    assert len(listed) == 1
    cohort = listed[0]
    assert (cohort["teacher_id"], cohort["seats"], cohort["price"]) == (teacher.user["id"], 3, "3600.00")
    assert [o["name"] for o in cohort["instalment_options"]] == ["一次性", "分3期"]
    shot(page, "programmes")
    _sign_out(page)

    # the consultant enrols two leads, found by name
    sign_in(page, school, consultant, path=f"/cohorts/{cohort['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("周六上午班")
    for lead in (first, second):
        page.get_by_role("button", name="添加报名").click()
        dialog = page.get_by_role("dialog", name="报名 周六上午班")
        dialog.get_by_role("combobox", name="客户").fill(lead["name"])
        option = page.get_by_role("option", name=lead["name"], exact=True)
        expect(option).to_be_visible()
        option.dispatch_event("click")
        pick(page, "分期", "分3期")
        dialog.get_by_role("button", name="保存").click()
        expect(dialog).to_be_hidden()
    enrolments = page.get_by_role("region", name="报名名单")
    for lead in (first, second):
        expect(enrolments.get_by_role("row").filter(has_text=lead["name"])).to_contain_text("待确认")
    stored = consultant.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"]
    assert sorted((e["lead_id"], e["status"], e["instalments"]) for e in stored) == sorted(
        [(first["id"], "pending", "分3期"), (second["id"], "pending", "分3期")]
    )
    _sign_out(page)

    # a family applies on the website for this cohort
    learner = f"官网学员{tag}"
    _apply_on_the_website(school, cohort["id"], learner)

    # the manager confirms one, declines the other, and enrols the application
    sign_in(page, school, manager, path=f"/cohorts/{cohort['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("周六上午班")
    enrolments = page.get_by_role("region", name="报名名单")
    page.get_by_role("button", name=f"确认 {first['name']}").click()
    expect(enrolments.get_by_role("row").filter(has_text=first["name"])).to_contain_text("已确认")
    page.get_by_role("button", name=f"拒绝 {second['name']}").click()
    expect(enrolments.get_by_role("row").filter(has_text=second["name"])).to_contain_text("已拒绝")
    expect(page.locator("[data-seats=left]")).to_have_text("2")
    assert _seats(page) == _api_seats(manager.get(f"/cohorts/{cohort['id']}").json_body)

    applications = page.get_by_role("region", name="官网报名")
    row = applications.get_by_role("row").filter(has_text=learner)
    expect(row).to_contain_text("公海")  # no duty consultant: the pool
    row.get_by_role("button", name=f"报名 {learner}").click()
    dialog = page.get_by_role("dialog", name="报名 周六上午班")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(row).to_contain_text("已报名")
    page.get_by_role("button", name=f"确认 {learner}").click()
    expect(enrolments.get_by_role("row").filter(has_text=learner)).to_contain_text("已确认")
    expect(page.locator("[data-seats=left]")).to_have_text("1")
    now = manager.get(f"/cohorts/{cohort['id']}").json_body
    assert _seats(page) == _api_seats(now) and (now["confirmed"], now["declined"]) == (2, 1)
    stored = {
        e["lead_name"]: e["status"] for e in manager.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"]
    }
    assert stored == {first["name"]: "confirmed", second["name"]: "declined", learner: "confirmed"}
    shot(page, "cohort")

    # on a phone neither page is wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    for path, heading in (
        (f"/cohorts/{cohort['id']}", "周六上午班"),
        (f"/programmes/{programme['id']}", programme_name),
    ):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path


def _cohort_with_two_enrolled(school, manager, consultant, programme: str, cohort: str, price: str, seats: int):
    """A programme and a cohort of the school's campus starting today, through the API, with
    two leads of the consultant enrolled (pending): (the cohort, the two leads)."""
    tag = secrets.token_hex(2)
    made = manager.post("/programmes", {"name": f"{programme}{tag}"}).json_body
    opened = manager.post(
        f"/programmes/{made['id']}/cohorts",
        {
            "campus_id": school.campus["id"],
            "name": cohort,
            "starts_on": school_today().isoformat(),
            "price": price,
            "seats": seats,
        },
    ).json_body
    names = ("先到", "后到")
    leads = [consultant.post("/leads", lead_body(name=f"{n}{tag}")).json_body for n in names]
    for lead in leads:
        assert consultant.post(f"/cohorts/{opened['id']}/enrolments", {"lead_id": lead["id"]}).status_code == 201
    return opened, leads


def test_a_full_cohort_refuses_a_confirmation_with_the_apis_message(page, school):
    manager = school.staff("manager")
    consultant = school.staff("consultant")
    cohort, leads = _cohort_with_two_enrolled(school, manager, consultant, "绘画", "一座班", "100.00", 1)
    assert consultant.post(f"/enrolments/{cohort['id']}-{leads[0]['id']}/confirm").status_code == 200

    sign_in(page, school, consultant, path=f"/cohorts/{cohort['id']}")
    expect(page.locator("[data-seats=left]")).to_have_text("0")
    page.get_by_role("button", name=f"确认 {leads[1]['name']}").click()
    expect(page.get_by_role("alert")).to_be_visible()  # 409 COHORT_FULL, the API's message
    row = page.get_by_role("region", name="报名名单").get_by_role("row").filter(has_text=leads[1]["name"])
    expect(row).to_contain_text("待确认")
    enrolment = consultant.get(f"/cohorts/{cohort['id']}/enrolments").json_body["items"]
    assert {e["lead_id"]: e["status"] for e in enrolment}[leads[1]["id"]] == "pending"


def test_a_teacher_sees_programmes_but_is_not_offered_changes_or_enrolling(page, school):
    manager = school.staff("manager")
    teacher = school.staff("teacher")
    programme = manager.post("/programmes", {"name": "书法" + secrets.token_hex(2)}).json_body
    sign_in(page, school, teacher)
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="课程", exact=True).click()
    expect(page.get_by_role("link", name=programme["name"])).to_be_visible()
    expect(page.get_by_role("button", name="新建课程")).to_have_count(0)
    page.get_by_role("link", name=programme["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(programme["name"])
    expect(page.get_by_role("button", name="新建班级")).to_have_count(0)
    expect(page.get_by_role("button", name="编辑")).to_have_count(0)


def test_a_manager_edits_a_cohort_its_seats_and_closes_it(page, school):
    manager = school.staff("manager")
    consultant = school.staff("consultant")
    cohort, leads = _cohort_with_two_enrolled(school, manager, consultant, "编程", "周日班", "800.00", 2)
    for lead in leads:
        assert manager.post(f"/enrolments/{cohort['id']}-{lead['id']}/confirm").status_code == 200

    sign_in(page, school, manager, path=f"/cohorts/{cohort['id']}")
    page.get_by_role("button", name="编辑班级").click()
    dialog = page.get_by_role("dialog", name="编辑班级 周日班")
    dialog.get_by_label("名额").fill("1")  # below the two confirmed: the API refuses
    dialog.get_by_role("button", name="保存").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    assert manager.get(f"/cohorts/{cohort['id']}").json_body["seats"] == 2
    dialog.get_by_label("名额").fill("4")
    pick(page, "招生状态", "已关闭")
    dialog.get_by_role("button", name="保存").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-seats=left]")).to_have_text("2")
    expect(page.get_by_role("button", name="添加报名")).to_be_disabled()  # closed to new enrolments
    stored = manager.get(f"/cohorts/{cohort['id']}").json_body
    assert (stored["seats"], stored["status"], stored["price"]) == (4, "closed", "800.00")
