"""Finance over time (issue 19, part 7): GET /reports/finance answers this period's income
against the previous period (环比) and the same period a year earlier (同比), per campus too,
in JSON and on its printable chart page; a bounded number of reads whatever the history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.db import telemetry
from chalicelib.domain import clock
from tests.test_leads import lead_body
from tests.test_streams import Tap, lambda_like

# 12:00 on 15 March 2032 in Shanghai; 2032 is a leap year, 2031 is not
NOW = datetime(2032, 3, 15, 4, 0, tzinfo=UTC)


@pytest.fixture
def tap(dynamodb_endpoint, table, school, tmp_path):
    return Tap(dynamodb_endpoint, tmp_path, school.slug)


def _contract(seller, lead_id: str) -> str:
    made = seller.post(
        "/contracts",
        {
            "lead_ids": [lead_id],
            "credits": "100",
            "price": "10000.00",
            "starts_on": "2032-03-15",
            "ends_on": "2033-03-14",
        },
    )
    assert made.status_code == 201, made.body
    return made.json_body["id"]


def _pay(cashier, contract_id: str, amount: str, day: str) -> None:
    paid = cashier.post(f"/contracts/{contract_id}/payments", {"amount": amount, "method": "cash", "paid_on": day})
    assert paid.status_code == 201, paid.body


@pytest.fixture
def money(school, tap):
    """Payments on both campuses, back-dated across two years, and a refund today; the test
    runs on 15 March 2032, its admin signed in then."""
    north = school.admin.post("/campuses", {"name": "北山校区"}).json_body
    school.north = north
    with clock.frozen(NOW):
        school.admin = school.sign_in("admin", school.admin_password)
        south_seller = school.staff("consultant", display_name="南顾问")
        north_seller = school.staff("consultant", display_name="北顾问", campus_ids=[north["id"]])
        finance = school.staff("finance", campus_ids=[])
        south = _contract(south_seller, south_seller.post("/leads", lead_body(name="南学员")).json_body["id"])
        lead = north_seller.post("/leads", {**lead_body(name="北学员"), "campus_id": north["id"]}).json_body
        north_contract = _contract(north_seller, lead["id"])
        for amount, day in (
            ("500.00", "2032-03-15"),  # this month so far
            ("300.00", "2032-02-01"),  # February 1-15: the month so far's previous period
            ("40.00", "2032-02-29"),  # the leap day: all February, not February 1-15
            ("170.00", "2032-01-31"),  # January: February's previous period
            ("680.00", "2031-02-28"),  # February 2031: February 2032's year-earlier
            ("250.00", "2031-03-10"),  # March 1-15 2031
            ("999.00", "2031-03-20"),  # after 15 March 2031: in no comparison of March 1-15
        ):
            _pay(finance, south, amount, day)
        refund = finance.post(f"/contracts/{south}/refunds", {"amount": "100.00", "credits": "0", "reason": "退一节"})
        assert refund.status_code == 201, refund.body
        _pay(finance, north_contract, "70.00", "2032-03-14")
        _pay(finance, north_contract, "30.00", "2031-03-05")
        lambda_like(tap.drain(), batch_size=100)  # the stream keeps the report aggregates
        yield school


def test_this_month_so_far_against_the_same_days_of_last_month_and_of_last_year(money):
    admin = money.admin
    report = admin.get("/reports/finance").json_body
    assert (report["from"], report["to"]) == ("2032-03-01", "2032-03-15")
    totals = (report["revenue"], report["payments"], report["refunds"], report["net"])
    assert totals == ("570.00", 2, "100.00", "470.00")  # both campuses; the refund of today
    previous, last_year = report["previous"], report["last_year"]
    assert (previous["from"], previous["to"]) == ("2032-02-01", "2032-02-15")
    assert (previous["revenue"], previous["payments"], previous["net"]) == ("300.00", 1, "300.00")
    assert (previous["revenue_change"], previous["revenue_change_rate"]) == ("270.00", 0.9)
    assert (previous["net_change"], previous["net_change_rate"]) == ("170.00", 0.5667)
    assert (last_year["from"], last_year["to"]) == ("2031-03-01", "2031-03-15")
    assert (last_year["revenue"], last_year["net"], last_year["refunds"]) == ("280.00", "280.00", "0.00")
    assert (last_year["revenue_change"], last_year["revenue_change_rate"]) == ("290.00", 1.0357)


def test_a_whole_month_compares_with_the_month_before_and_the_whole_month_a_year_earlier(money):
    admin = money.admin
    report = admin.get("/reports/finance?from=2032-02-01&to=2032-02-29").json_body
    quarter = admin.get("/reports/finance?from=2031-12-01&to=2032-02-29").json_body
    assert report["revenue"] == "340.00" and len(report["periods"]) == 29  # day by day, the leap day too
    assert report["periods"][-1] == {
        "period": "2032-02-29",
        "revenue": "40.00",
        "payments": 1,
        "refunds": "0.00",
        "refund_count": 0,
    }
    assert (report["previous"]["from"], report["previous"]["to"], report["previous"]["revenue"]) == (
        "2032-01-01",
        "2032-01-31",
        "170.00",
    )
    assert (report["previous"]["revenue_change"], report["previous"]["revenue_change_rate"]) == ("170.00", 1.0)
    # the year before has no 29 February: the whole of February 2031
    last_year = report["last_year"]
    assert (last_year["from"], last_year["to"], last_year["revenue"]) == ("2031-02-01", "2031-02-28", "680.00")
    assert (last_year["revenue_change"], last_year["revenue_change_rate"]) == ("-340.00", -0.5)
    # three whole months (read as months) against the three before, where nothing was paid
    assert [p["period"] for p in quarter["periods"]] == ["2031-12", "2032-01", "2032-02"]
    assert quarter["revenue"] == "510.00"
    assert (quarter["previous"]["from"], quarter["previous"]["to"]) == ("2031-09-01", "2031-11-30")
    assert (quarter["previous"]["revenue"], quarter["previous"]["revenue_change_rate"]) == ("0.00", None)
    assert (quarter["last_year"]["from"], quarter["last_year"]["to"]) == ("2030-12-01", "2031-02-28")
    assert quarter["last_year"]["revenue"] == "680.00"


def test_a_range_of_days_compares_with_as_many_days_just_before(money):
    admin = money.admin
    report = admin.get("/reports/finance?from=2032-03-09&to=2032-03-15").json_body
    assert (report["previous"]["from"], report["previous"]["to"]) == ("2032-03-02", "2032-03-08")
    assert (report["last_year"]["from"], report["last_year"]["to"]) == ("2031-03-09", "2031-03-15")
    assert report["last_year"]["revenue"] == "250.00"  # 10 March 2031, not 5 March (north) nor the 20th


def test_each_campus_compares_its_own_income_and_a_campus_manager_sees_only_theirs(money):
    admin = money.admin
    north = admin.get(f"/reports/finance?campus={money.north['id']}").json_body
    south = admin.get(f"/reports/finance?campus={money.campus['id']}").json_body
    assert (north["revenue"], north["previous"]["revenue"], north["last_year"]["revenue"]) == ("70.00", "0.00", "30.00")
    assert (south["revenue"], south["previous"]["revenue"], south["last_year"]["revenue"]) == (
        "500.00",
        "300.00",
        "250.00",
    )
    manager = money.staff("manager", campus_ids=[money.north["id"]])
    assert manager.get("/reports/finance").json_body["last_year"]["revenue"] == "30.00"  # their one campus
    other = manager.get(f"/reports/finance?campus={money.campus['id']}")
    assert other.status_code == 400 and other.json_body["error"]["details"][0]["field"] == "campus"
    assert money.staff("consultant").get("/reports/finance").status_code == 403


def test_the_chart_page_shows_the_comparisons_and_the_reads_are_bounded(money):
    admin = money.admin
    page = admin.get("/reports/finance?format=html")
    with telemetry.record() as rec:
        year = admin.get("/reports/finance?from=2031-03-01&to=2032-02-29")
    html = page.body.decode()
    assert page.status_code == 200 and "<svg" in html
    assert "上期（环比）" in html and "2032-02-01 – 2032-02-15" in html and "270.00（+90.0%）" in html
    assert "去年同期（同比）" in html and "2031-03-01 – 2031-03-15" in html and "290.00（+103.6%）" in html
    # a year of months against the year before (环比 and 同比 are the same year here): 24
    # month items in one BatchGetItem; never a Scan, nor a Query of the figures or the payments
    assert year.status_code == 200, year.body
    assert year.json_body["last_year"]["revenue"] == "680.00"  # February 2031 (March 2030 .. February 2031)
    batches = [c for c in rec.calls if c.operation == "BatchGetItem"]
    keys = sum(len(t["Keys"]) for c in batches for t in c.params["RequestItems"].values())
    queries = [str(c.params) for c in rec.calls if c.operation == "Query"]
    assert "Scan" not in rec.operations and not [q for q in queries if "#AGG#" in q or "#PAYMENTS#" in q]
    assert keys == 24 and len(batches) == 1


def test_an_enrolments_payments_are_income_of_the_cohorts_campus(school, tap):
    """Money paid towards a cohort's agreed price counts in the finance report like a contract's."""
    with clock.frozen(NOW):
        school.admin = school.sign_in("admin", school.admin_password)
        finance = school.staff("finance", campus_ids=[])  # the whole school's
        consultant = school.staff("consultant")
        lead = consultant.post("/leads", lead_body(name="报名学员")).json_body
        programme = school.admin.post("/programmes", {"name": "创意美术"}).json_body
        cohort = school.admin.post(
            f"/programmes/{programme['id']}/cohorts",
            {
                "campus_id": school.campus["id"],
                "name": "春季班",
                "starts_on": "2032-04-01",
                "price": "900.00",
                "seats": 5,
            },
        ).json_body
        enrolment = school.admin.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": lead["id"]}).json_body
        assert school.admin.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 200
        pay = f"/enrolments/{enrolment['id']}/payments"
        for key, amount in (
            ("enrol-pay-a", "300.00"),
            ("enrol-pay-a", "300.00"),
            ("enrol-pay-b", "150.00"),
        ):  # the repeated key counts once
            assert (
                finance.post(pay, {"amount": amount, "method": "cash"}, headers={"Idempotency-Key": key}).status_code
                == 201
            )
        records = tap.drain()
        lambda_like(records, batch_size=100)
        lambda_like(records, batch_size=100)  # a replayed batch changes nothing
        report = school.admin.get("/reports/finance").json_body
        assert (report["revenue"], report["payments"]) == ("450.00", 2)
        campus = school.admin.get(f"/reports/finance?campus={school.campus['id']}").json_body
        assert campus["revenue"] == "450.00"
