"""Reports' periods: what a report answers for when the caller leaves `from` or `to` out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain import clock
from tests.test_leads import lead_body
from tests.test_streams import Tap, lambda_like, school_today

REPORTS = ("funnel", "consultants", "sources", "finance", "referrals")


@pytest.fixture
def tap(dynamodb_endpoint, table, school, tmp_path):
    return Tap(dynamodb_endpoint, tmp_path, school.slug)


def test_a_report_without_from_and_to_answers_for_this_month_so_far(school, tap):
    alice = school.staff("consultant", display_name="Alice")
    for name in ("本月一", "本月二"):
        assert alice.post("/leads", {**lead_body(name=name), "campus_id": school.campus["id"]}).status_code == 201
    lambda_like(tap.drain(), batch_size=25)
    today = school_today()
    explicit = f"from={today.replace(day=1)}&to={today}"
    for report in REPORTS:
        default = school.admin.get(f"/reports/{report}")
        assert default.status_code == 200, default.body
        assert default.json_body == school.admin.get(f"/reports/{report}?{explicit}").json_body
        assert (default.json_body["from"], default.json_body["to"]) == (str(today.replace(day=1)), str(today))
    assert school.admin.get("/reports/funnel").json_body["new_leads"] == 2
    page = school.admin.get("/reports/funnel?format=html")
    assert page.status_code == 200 and "销售漏斗" in page.body.decode()


def _period(session, query: str) -> tuple[str, str]:
    answer = session.get(f"/reports/funnel{query}")
    assert answer.status_code == 200, answer.body
    return answer.json_body["from"], answer.json_body["to"]


def test_a_missing_end_is_filled_in_the_school_calendar_within_the_report_bounds(school):
    # 17:00 UTC on 30 June is 01:00 on 1 July in Shanghai: the school's month is July
    with clock.frozen(datetime(2032, 6, 30, 17, 0, tzinfo=UTC)):
        admin = school.sign_in("admin", school.admin_password)
        assert _period(admin, "") == ("2032-07-01", "2032-07-01")
        assert _period(admin, "?to=2032-06-15") == ("2032-06-01", "2032-06-15")  # the 1st of to's month
        assert _period(admin, "?from=2032-06-20") == ("2032-06-20", "2032-07-01")  # up to today
        assert _period(admin, "?from=2032-08-03") == ("2032-08-03", "2032-08-03")  # never backwards
        # past 62 days a report reads whole months: to the end of this one, at most a year
        assert _period(admin, "?from=2032-01-01") == ("2032-01-01", "2032-07-31")
        assert _period(admin, "?from=2031-03-01") == ("2031-03-01", "2032-02-29")
        # the bounds stay: whole months past 62 days, forwards, at most a year
        ragged = admin.get("/reports/funnel?from=2032-01-05")
        assert ragged.status_code == 400 and ragged.json_body["error"]["details"][0]["field"] == "from"
        assert admin.get("/reports/funnel?from=2032-03-01&to=2032-02-01").status_code == 400
        assert admin.get("/reports/funnel?from=2031-01-01&to=2032-06-30").status_code == 400


def test_each_report_table_comes_as_an_xlsx_whose_cells_are_the_json_figures_and_never_formulas(school, tap):
    import io

    from openpyxl import load_workbook

    sly = school.staff("consultant", display_name="=HYPERLINK(1)")  # a name a spreadsheet would run
    for name in ("表格一", "表格二", "表格三"):
        assert sly.post("/leads", {**lead_body(name=name), "campus_id": school.campus["id"]}).status_code == 201
    lambda_like(tap.drain(), batch_size=25)
    for report in REPORTS:
        answer = school.admin.get(f"/reports/{report}?format=xlsx", headers={"Accept": "*/*"})
        assert answer.status_code == 200, answer.body
        assert answer.headers["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
        assert f'filename="{report}-' in answer.headers["Content-Disposition"]
        sheet = load_workbook(io.BytesIO(answer.body)).worksheets[0]
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)  # data, never a formula
        rows = list(sheet.iter_rows(values_only=True))
        assert rows and all(isinstance(h, str) and h for h in rows[0])  # a header
        if report == "funnel":
            assert ("新增线索 new leads", 3) in rows
        if report == "consultants":
            (mine,) = [row for row in rows[1:] if row[0] and "HYPERLINK" in row[0]]
            assert mine[1] == 3  # the consultant's 3 new leads, the name kept as text
    refused = school.admin.get("/reports/funnel?format=pdf")
    assert refused.status_code == 400
    # a file asked for with an Accept it cannot meet: 406 in the error envelope, not a crash
    json_only = school.admin.get("/reports/funnel?format=xlsx", headers={"Accept": "application/json"})
    assert json_only.status_code == 406 and json_only.json_body["error"]["code"] == "NOT_ACCEPTABLE"


def _signs(who, lead_id: str) -> None:
    today = school_today()
    made = who.post(
        "/contracts",
        {
            "lead_ids": [lead_id],
            "credits": "10",
            "price": "1000.00",
            "starts_on": today.isoformat(),
            "ends_on": today.replace(year=today.year + 1).isoformat(),
        },
    )
    assert made.status_code == 201, made.body


def test_the_referral_ranking_counts_referred_and_signed_leads_per_referrer_and_campus(school, tap):
    alice = school.staff("consultant", display_name="Alice")
    north = school.admin.post("/campuses", {"name": "北山校区"}).json_body
    bob = school.staff("consultant", display_name="Bob", campus_ids=[north["id"]])
    gold = alice.post("/leads", lead_body(name="金牌家长")).json_body
    silver = alice.post("/leads", lead_body(name="银牌家长")).json_body
    friends = [
        alice.post("/leads", lead_body(name=f"朋友{i}", referrer_lead_id=gold["id"], source="referral")).json_body
        for i in range(3)
    ]
    alice.post("/leads", lead_body(name="朋友的朋友", referrer_lead_id=silver["id"]))
    # a friend of the gold referrer's family who joins the other campus
    north_friend = bob.post("/leads", lead_body(name="北山朋友", referrer_lead_id=gold["id"])).json_body
    _signs(alice, friends[0]["id"])
    _signs(bob, north_friend["id"])
    lambda_like(tap.drain(), batch_size=50)

    whole = school.admin.get("/reports/referrals").json_body
    assert (whole["referrers"], whole["referrals"], whole["conversions"]) == (2, 5, 2)
    assert [(r["name"], r["referrals"], r["conversions"]) for r in whole["items"]] == [
        ("金牌家长", 4, 2),
        ("银牌家长", 1, 0),
    ]
    assert school.admin.get("/reports/referrals?limit=1").json_body["items"][0]["lead_id"] == gold["id"]
    # a manager sees the referrals into their campus: the north manager's referrer is of the
    # other campus, so its figures come without its name
    south = school.staff("manager").get("/reports/referrals").json_body
    assert [(r["name"], r["referrals"], r["conversions"]) for r in south["items"]] == [
        ("金牌家长", 3, 1),
        ("银牌家长", 1, 0),
    ]
    north_view = school.staff("manager", campus_ids=[north["id"]]).get("/reports/referrals").json_body
    assert [(r["lead_id"], r["name"], r["referrals"], r["conversions"]) for r in north_view["items"]] == [
        (gold["id"], None, 1, 1)
    ]
    assert alice.get("/reports/referrals").status_code == 403
    assert school.admin.get("/reports/referrals?limit=0").status_code == 400
    assert school.admin.get("/reports/referrals?limit=101").status_code == 400
