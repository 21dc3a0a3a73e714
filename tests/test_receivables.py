"""Receivables (应收/欠费): contract instalments and confirmed enrolments become amounts due on a
day; payments cover them in order; the list by due date, the ageing report, the reminders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from chalicelib import jobs
from chalicelib.db import telemetry
from chalicelib.domain import clock
from tests.conftest import login, without_quiet_hours
from tests.test_busy import dynamodb_busy

# 10:00 in Shanghai (the schools' default time zone): after the greeting hour
MARCH_1 = datetime(2031, 3, 1, 2, 0, tzinfo=UTC)


@contextmanager
def at(when: datetime, *sessions) -> Iterator[None]:
    """The clock frozen at `when`, each session signed in again then (its token is of now)."""
    with clock.frozen(when):
        kept = [s.token for s in sessions]
        for session in sessions:
            response = login(session.client, session.tenant, session.user["username"], session.password)
            assert response.status_code == 200, response.body
            session.token = response.json_body["token"]
        try:
            yield
        finally:
            for session, token in zip(sessions, kept, strict=True):
                session.token = token


def _lead(session, name, phone, **extra):
    body = {"name": name, "guardians": [{"name": name + "妈妈", "phones": [phone]}], **extra}
    response = session.post("/leads", body)
    assert response.status_code == 201, response.body
    return response.json_body


def _contract(session, lead, instalments, **extra):
    total = sum(float(amount) for _, amount in instalments)
    body = {
        "lead_ids": [lead["id"]],
        "credits": "10",
        "price": f"{total:.2f}",
        "starts_on": "2031-03-01",
        "ends_on": "2032-02-28",
        "instalments": [{"due_on": d, "amount": a} for d, a in instalments],
        **extra,
    }
    response = session.post("/contracts", body)
    assert response.status_code == 201, response.body
    return response.json_body


def _owed(session, query=""):
    response = session.get(f"/receivables{query}")
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def _view(items):
    return [(r["n"], r["due_on"], r["outstanding"], r["status"]) for r in items]


@pytest.fixture
def signed(school):
    """A consultant's member with three instalments of 1,000 (1 March, 1 April, 1 May)."""
    school.consultant = school.staff("consultant")
    school.finance = school.staff("finance")
    school.member = _lead(school.consultant, "欠费宝宝", "13800138101")
    with at(MARCH_1, school.consultant):
        school.contract = _contract(
            school.consultant,
            school.member,
            [("2031-03-01", "1000.00"), ("2031-04-01", "1000.00"), ("2031-05-01", "1000.00")],
        )
    return school


def test_contract_instalments_are_owed_by_due_date_and_payments_cover_them_in_order(signed):
    s = signed
    with at(MARCH_1, s.admin, s.finance):
        assert _view(_owed(s.admin)) == [
            (1, "2031-03-01", "1000.00", "due"),
            (2, "2031-04-01", "1000.00", "due"),
            (3, "2031-05-01", "1000.00", "due"),
        ]
        paid = s.finance.post(f"/contracts/{s.contract['id']}/payments", {"amount": "1500.00", "method": "wechat"})
        assert paid.status_code == 201, paid.body
        assert _view(_owed(s.admin, "?status=paid")) == [(1, "2031-03-01", "0.00", "paid")]
        open_ = _owed(s.admin)
        assert _view(open_) == [(2, "2031-04-01", "500.00", "due"), (3, "2031-05-01", "1000.00", "due")]
        assert (open_[0]["paid"], open_[0]["lead_names"], open_[0]["consultant_id"]) == (
            "500.00",
            ["欠费宝宝"],
            s.consultant.user["id"],
        )
    april_10 = datetime(2031, 4, 10, 2, 0, tzinfo=UTC)
    with at(april_10, s.admin, s.consultant, s.finance):
        overdue = _owed(s.admin, "?status=overdue")
        assert _view(overdue) == [(2, "2031-04-01", "500.00", "overdue")]
        assert overdue[0]["days_overdue"] == 9
        assert _view(_owed(s.admin, "?status=due")) == [(3, "2031-05-01", "1000.00", "due")]
        # the consultant sees their own; a teacher nothing
        assert [r["n"] for r in _owed(s.consultant)] == [2, 3]
        assert s.staff("teacher").get("/receivables").status_code == 403
        other = s.staff("consultant")
        assert _owed(other) == []
        assert other.get(f"/receivables?consultant={s.consultant.user['id']}").status_code == 400
        # paying the rest settles them all
        s.finance.post(f"/contracts/{s.contract['id']}/payments", {"amount": "1500.00", "method": "cash"})
        assert _owed(s.admin) == []
        assert [r["paid_on"] for r in _owed(s.admin, "?status=paid")] == ["2031-03-01", "2031-04-10", "2031-04-10"]


def test_a_list_reads_only_what_is_open_one_query_a_partition(signed):
    s = signed
    for n in range(3):  # paid contracts are not read by the unpaid list
        member = _lead(s.consultant, f"已付{n}", f"1380013820{n}")
        with at(MARCH_1, s.consultant, s.finance):
            done = _contract(s.consultant, member, [("2031-03-01", "10.00")])
            s.finance.post(f"/contracts/{done['id']}/payments", {"amount": "10.00", "method": "cash"})
    with at(MARCH_1, s.admin), telemetry.record() as rec:
        assert len(_owed(s.admin, "?limit=10")) == 3
    assert "Scan" not in rec.operations
    assert rec.operations.count("Query") == 1


def test_the_page_cursor_walks_every_receivable_once(signed):
    s = signed
    with at(MARCH_1, s.admin):
        first = s.admin.get("/receivables?limit=2").json_body
        second = s.admin.get(f"/receivables?limit=2&cursor={first['next_cursor']}").json_body
    assert [r["n"] for r in first["items"] + second["items"]] == [1, 2, 3]
    assert second["next_cursor"] is None


def test_a_contract_without_instalments_is_owed_the_day_it_is_signed_and_voiding_cancels_it(school):
    consultant = school.staff("consultant")
    member = _lead(consultant, "一次付清", "13800138111")
    with at(MARCH_1, consultant, school.admin):
        body = {"lead_ids": [member["id"]], "credits": "10", "price": "800.00", "discount": "100.00"}
        contract = consultant.post("/contracts", {**body, "starts_on": "2031-03-01", "ends_on": "2031-12-31"}).json_body
        assert _view(_owed(school.admin)) == [(1, "2031-03-01", "700.00", "due")]
        voided = school.admin.post(f"/contracts/{contract['id']}/void", {"reason": "签错"})
        assert voided.status_code == 200, voided.body
        assert _owed(school.admin) == [] and _owed(school.admin, "?status=paid") == []


def test_a_payment_that_meets_a_busy_transaction_is_retried_and_covers_once(signed):
    s = signed
    with at(MARCH_1, s.finance), dynamodb_busy(times=2) as refused:
        paid = s.finance.post(f"/contracts/{s.contract['id']}/payments", {"amount": "1000.00", "method": "cash"})
    assert len(refused) == 2 and paid.status_code == 201, paid.body
    with at(MARCH_1, s.admin):
        assert [r["n"] for r in _owed(s.admin, "?status=paid")] == [1]
        assert [r["n"] for r in _owed(s.admin)] == [2, 3]
    with at(MARCH_1, s.finance), dynamodb_busy(times=1000):
        busy = s.finance.post(f"/contracts/{s.contract['id']}/payments", {"amount": "1000.00", "method": "cash"})
    assert busy.status_code == 409 and busy.json_body["error"]["code"] == "BUSY"
    with at(MARCH_1, s.admin):  # nothing half-written: the contract and its receivables agree
        assert s.admin.get(f"/contracts/{s.contract['id']}").json_body["paid"] == "1000.00"
        assert [r["n"] for r in _owed(s.admin)] == [2, 3]


def _cohort(school, price="3000.00", options=None):
    programme = school.admin.post("/programmes", {"name": "创意美术"}).json_body
    body = {
        "campus_id": school.campus["id"],
        "name": "春季班",
        "starts_on": "2031-03-10",
        "price": price,
        "seats": 5,
        "instalment_options": options or [{"name": "分3期", "count": 3}],
    }
    response = school.admin.post(f"/programmes/{programme['id']}/cohorts", body)
    assert response.status_code == 201, response.body
    return response.json_body


def test_a_confirmed_enrolment_is_owed_monthly_and_its_payments_cover_it(school):
    consultant, finance = school.staff("consultant"), school.staff("finance")
    lead = _lead(consultant, "报名宝宝", "13800138121")
    cohort = _cohort(school, price="1000.00")
    with at(MARCH_1, consultant, finance, school.admin):
        enrolment = consultant.post(f"/cohorts/{cohort['id']}/enrolments", {"lead_id": lead["id"]}).json_body
        assert _owed(school.admin) == []  # pending: nothing owed yet
        assert consultant.post(f"/enrolments/{enrolment['id']}/confirm").status_code == 200
        owed = _owed(school.admin)
        assert _view(owed) == [
            (1, "2031-03-10", "333.34", "due"),
            (2, "2031-04-10", "333.33", "due"),
            (3, "2031-05-10", "333.33", "due"),
        ]
        assert owed[0]["source"] == "enrolment" and owed[0]["title"] == "创意美术（春季班）1/3"
        assert owed[0]["consultant_id"] == consultant.user["id"]  # the learner's consultant
        pay = f"/enrolments/{enrolment['id']}/payments"
        assert consultant.post(pay, {"amount": "1.00", "method": "cash"}).status_code == 403
        first = finance.post(pay, {"amount": "400.00", "method": "alipay"}, headers={"Idempotency-Key": "enrol-pay-1"})
        assert first.status_code == 201, first.body
        assert (first.json_body["paid"], first.json_body["balance_due"]) == ("400.00", "600.00")
        again = finance.post(pay, {"amount": "400.00", "method": "alipay"}, headers={"Idempotency-Key": "enrol-pay-1"})
        assert again.json_body["paid"] == "400.00"  # the same request, applied once
        too_much = finance.post(pay, {"amount": "600.01", "method": "cash"})
        assert too_much.status_code == 409 and too_much.json_body["error"]["code"] == "OVERPAYMENT"
        assert _view(_owed(school.admin)) == [(2, "2031-04-10", "266.67", "due"), (3, "2031-05-10", "333.33", "due")]
        # declining stops what is still owed; what was paid stays paid
        assert consultant.post(f"/enrolments/{enrolment['id']}/decline").status_code == 200
        assert _owed(school.admin) == []
        assert [r["n"] for r in _owed(school.admin, "?status=paid")] == [1]
        declined = finance.post(pay, {"amount": "1.00", "method": "cash"})
        assert declined.status_code == 409 and declined.json_body["error"]["code"] == "ENROLMENT_NOT_CONFIRMED"


def test_ageing_in_the_finance_report(school):
    consultant = school.staff("consultant")
    cases = [("2031-06-05", "100.00"), ("2031-05-01", "200.00"), ("2031-04-01", "300.00"), ("2031-01-01", "400.00")]
    for n, (due_on, amount) in enumerate(cases):
        member = _lead(consultant, f"账龄{n}", f"1380013813{n}")
        with at(MARCH_1.replace(month=1), consultant):
            _contract(consultant, member, [(due_on, amount)], starts_on="2031-01-01")
    june_10 = datetime(2031, 6, 10, 2, 0, tzinfo=UTC)
    with at(june_10, school.admin, consultant):
        report = school.admin.get("/reports/finance?from=2031-06-01&to=2031-06-10")
        assert report.status_code == 200, report.body
        ageing = report.json_body["ageing"]
        # overdue by 5, 40, 70 and 160 days
        assert [(b["bucket"], b["amount"], b["count"]) for b in ageing["buckets"]] == [
            ("0-30", "100.00", 1),
            ("31-60", "200.00", 1),
            ("61-90", "300.00", 1),
            ("90+", "400.00", 1),
        ]
        assert (ageing["as_of"], ageing["overdue"], ageing["not_due"]) == ("2031-06-10", "1000.00", "0.00")
        assert consultant.get("/reports/finance?from=2031-06-01&to=2031-06-10").status_code == 403


def _run(when, tenant):
    with clock.frozen(when):
        result = jobs.run("appointment_reminders", at=when, tenant=tenant)
        jobs.run("scheduled_messages", at=when, tenant=tenant)
    return result


def test_the_payer_is_reminded_before_the_due_date_and_the_consultant_told_when_overdue_once_each(school):
    without_quiet_hours(school)
    consultant = school.staff("consultant")
    member = _lead(consultant, "代报名宝宝", "13800138141")
    payer = {"name": "张爷爷", "phone": "139 0013 9141", "relation": "祖父"}
    with at(MARCH_1, consultant):
        contract = _contract(consultant, member, [("2031-03-10", "500.00"), ("2031-04-10", "500.00")], payer=payer)
    assert contract["payer"] == {"name": "张爷爷", "phone": "139****9141", "relation": "祖父"}
    early = datetime(2031, 3, 7, 0, 30, tzinfo=UTC)  # 08:30 on the 7th: before the greeting hour
    assert _run(early, school.slug)["receivable_reminders"] == 0
    on_time = datetime(2031, 3, 7, 2, 0, tzinfo=UTC)  # 3 days before the 10th, 10:00
    assert _run(on_time, school.slug)["receivable_reminders"] == 1
    assert _run(on_time.replace(hour=3), school.slug)["receivable_reminders"] == 0  # once
    sent = [o for o in school.admin.get("/outbox?limit=100").json_body["items"] if o["reference"].startswith("recv-")]
    assert [o["to"] for o in sent] == ["+8613900139141"]  # the payer, not the guardian
    assert "张爷爷您好" in sent[0]["body"] and "500.00" in sent[0]["body"] and "2031-03-10" in sent[0]["body"]
    # the 11th: the first is overdue, the consultant is told (once); the second is not due yet
    overdue_day = datetime(2031, 3, 11, 2, 0, tzinfo=UTC)
    assert _run(overdue_day, school.slug)["receivables_overdue"] == 1
    assert _run(overdue_day.replace(hour=5), school.slug)["receivables_overdue"] == 0
    told = [n["message"] for n in consultant.get("/notifications").json_body["items"]]
    assert any("代报名宝宝" in m and "逾期1天" in m and "500.00" in m for m in told), told
    # paid before its reminder: the second one is never reminded
    with at(overdue_day, school.admin):
        paid = school.admin.post(f"/contracts/{contract['id']}/payments", {"amount": "1000.00", "method": "cash"})
        assert paid.status_code == 201
    assert _run(datetime(2031, 4, 7, 2, 0, tzinfo=UTC), school.slug)["receivable_reminders"] == 0


def test_the_reminder_uses_the_schools_template(school):
    without_quiet_hours(school)
    template = school.admin.post(
        "/templates",
        {
            "name": "催缴",
            "channel": "sms",
            "kind": "receivable_due",
            "body": "{{ learner.name }}家长：{{ receivable.title }}请于{{ receivable.due_on }}"
            "前缴{{ receivable.outstanding }}元",
        },
    )
    assert template.status_code == 201, template.body
    chosen = school.admin.patch(
        "/settings/messaging", {"receivable_template_id": template.json_body["id"], "receivable_reminder_days": 1}
    )
    assert chosen.status_code == 200, chosen.body
    consultant = school.staff("consultant")
    member = _lead(consultant, "模板宝宝", "13800138151")
    with at(MARCH_1, consultant):
        _contract(consultant, member, [("2031-03-10", "88.00")])
    assert _run(datetime(2031, 3, 8, 2, 0, tzinfo=UTC), school.slug)["receivable_reminders"] == 0  # 2 days before
    assert _run(datetime(2031, 3, 9, 2, 0, tzinfo=UTC), school.slug)["receivable_reminders"] == 1
    sent = [o for o in school.admin.get("/outbox?limit=100").json_body["items"] if o["reference"].startswith("recv-")]
    assert [o["body"] for o in sent] == ["模板宝宝家长：合同 1/1请于2031-03-10前缴88.00元"]
    assert [o["to"] for o in sent] == ["+8613800138151"]  # no payer: the guardian


@pytest.mark.parametrize(
    "query",
    ["?status=late", "?limit=0", "?campus=" + "x" * 65, "?consultant=%01"],
)
def test_bad_list_queries_are_400(school, query):
    response = school.admin.get(f"/receivables{query}")
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "VALIDATION_FAILED"


def test_a_payer_whose_phone_is_no_phone_number_is_400(school):
    member = _lead(school.admin, "坏号码", "13800138161", campus_id=school.campus["id"])
    body = {
        "lead_ids": [member["id"]],
        "credits": "1",
        "price": "1.00",
        "starts_on": "2031-03-01",
        "ends_on": "2031-04-01",
        "payer": {"name": "某人", "phone": "=HYPERLINK(1)"},
    }
    response = school.admin.post("/contracts", body)
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["details"][0]["field"] == "payer.phone"
