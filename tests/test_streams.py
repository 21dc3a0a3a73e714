"""The stream processor: exact aggregates under faults and replays, audit, the freeze."""

from __future__ import annotations

import copy
import os
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pynamodb.expressions.operand import Path

from chalicelib.db import keys
from chalicelib.db import reports as reports_db
from chalicelib.streams import processor
from infra.local.pump import StreamPump
from tests.test_leads import lead_body


class Tap:
    """The table's stream from now on, for one school only (the suite shares the table)."""

    def __init__(self, endpoint: str, tmp_path, tenant: str):
        self.tenant = tenant
        self.records: list[dict] = []
        self.pump = StreamPump(
            table_name=os.environ["CRM_TABLE"],
            endpoint=endpoint,
            checkpoint_path=tmp_path / f"tap-{tenant}.json",
            handler=self._collect,
            start_position="LATEST",
            retry_delay=0.01,
            idle_seconds=0.05,
        )
        self.pump.poll_once()

    def _mine(self, record: dict) -> bool:
        key = record["dynamodb"].get("Keys", {}).get("PK", {}).get("S", "")
        return key.startswith(f"T#{self.tenant}#") or key == f"T#{self.tenant}"

    def _collect(self, event, context):
        self.records += [r for r in event["Records"] if self._mine(r)]
        return {"batchItemFailures": []}

    def drain(self) -> list[dict]:
        """Everything written so far (the stream is read until it runs dry), then forgotten."""
        for _ in range(3):
            while self.pump.poll_once():
                pass
        taken, self.records = self.records, []
        return taken


def lambda_like(records: list[dict], batch_size: int = 10) -> int:
    """Feeds records to the processor as Lambda does for a stream: in batches; on failures it
    retries from the first failed record (the ones after it come again too). Returns rounds."""
    position, rounds, max_rounds = 0, 0, 10 + 3 * len(records) // batch_size
    while position < len(records):
        rounds += 1
        assert rounds < max_rounds, "never finished"
        batch = records[position : position + batch_size]
        result = processor.handle({"Records": batch}, None)
        failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        position += min(seqs.index(f) for f in failed) if failed else len(batch)
    return rounds


@contextmanager
def extra_effect(fn: Callable[[processor.StreamRecord], list], *kinds: str) -> Iterator[None]:
    """`fn` registered as the first effect of items of these kinds (a test's spy or fault) for
    the duration: what it raises fails its record before the batch's write."""
    for kind in kinds:
        processor._effects.setdefault(kind, []).insert(0, fn)
    try:
        yield
    finally:
        for kind in kinds:
            processor._effects[kind].remove(fn)
            if not processor._effects[kind]:
                del processor._effects[kind]


def figures(tenant: str, days: list[str]) -> dict:
    """Every aggregate item of the school for those days and their months."""
    found = {}
    for period in sorted(set(days) | {d[:7] for d in days}):
        for sk, counts in reports_db.query(keys.aggregate_pk(tenant, period)).items():
            found[(period, sk)] = counts
    return found


@pytest.fixture
def tap(dynamodb_endpoint, table, school, tmp_path):
    return Tap(dynamodb_endpoint, tmp_path, school.slug)


def _history(school, leads=6, seed=7):
    """Leads, follow-ups by different methods, a visit arrived, a signed contract with a payment."""
    rng = random.Random(seed)
    alice = school.staff("consultant", display_name="Alice")
    made = []
    for i in range(leads):
        lead = alice.post(
            "/leads",
            lead_body(
                name=f"学员{i}", phone=f"13{uuid.uuid4().int % 10**9:09d}", source="website" if i % 2 else "referral"
            ),
        ).json_body
        made.append(lead)
        for _ in range(rng.randint(0, 2)):
            alice.post(f"/leads/{lead['id']}/follow-ups", {"method": rng.choice(["phone", "wechat"]), "content": "聊"})
    today = school_today()
    # a visit starting within the hour: attendance opens an hour before the start
    soon = school_now() + timedelta(minutes=30)
    visit = alice.post(
        f"/leads/{made[0]['id']}/appointments", {"kind": "visit", "at": soon.strftime("%Y-%m-%dT%H:%M:00")}
    ).json_body
    assert alice.patch(f"/appointments/{visit['id']}", {"attendance": "no_show"}).status_code == 200
    contract = alice.post(
        "/contracts",
        {
            "lead_ids": [made[1]["id"]],
            "credits": "10",
            "price": "1000.00",
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=100)),
        },
    ).json_body
    school.admin.post(f"/contracts/{contract['id']}/payments", {"amount": "400.00", "method": "cash"})
    return made


def school_now() -> datetime:
    """Now on the test schools' wall clock (Asia/Shanghai)."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)


def school_today() -> date:
    """Today in the test schools' time zone (Asia/Shanghai): the figures' calendar."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _days():
    today = school_today()
    return [str(today + timedelta(days=d)) for d in (-1, 0, 1)]


def test_faults_and_retries_leave_every_aggregate_exactly_right(school, tap, monkeypatch):
    _history(school)
    records = tap.drain()
    assert len(records) > 20
    # the reference: every record applied once, in one go, with no fault
    lambda_like(records, batch_size=100)
    expected = figures(school.slug, _days())
    assert expected[(str(school_today()), keys.ALL_DIMENSION)]["new_leads"] == 6
    # now wipe nothing but replay the whole stream with 25% of records failing once, half
    # before their write and half after it, as Lambda would retry them
    failing = {
        r["dynamodb"]["SequenceNumber"]: random.Random(1).choice(["before", "after"])
        for r in random.Random(2).sample(records, len(records) // 4)
    }
    struck: set[str] = set()

    def strike(sequence: str, stage: str) -> None:
        if failing.get(sequence) == stage and sequence not in struck:
            struck.add(sequence)
            raise RuntimeError(f"injected {stage}")

    def before(record):  # an effect of every kind: the record fails before the batch's write
        strike(record.sequence, "before")
        return []

    handle = processor.handle

    def then_after(event, context):  # the record was written, then reported failed
        result = handle(event, context)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        for raw in event["Records"]:
            sequence = raw["dynamodb"]["SequenceNumber"]
            if sequence not in failed:
                try:
                    strike(sequence, "after")
                except RuntimeError:
                    result["batchItemFailures"].append({"itemIdentifier": sequence})
        return result

    monkeypatch.setattr(processor, "handle", then_after)
    with extra_effect(before, *{processor.item_kind(r) or "" for r in records}):
        rounds = lambda_like(records, batch_size=10)
    assert struck == set(failing) and rounds > len(records) // 10
    assert figures(school.slug, _days()) == expected


def test_a_batch_replayed_twice_changes_no_figure(school, tap):
    _history(school, leads=3)
    records = tap.drain()
    processor.handle({"Records": records[:50]}, None)
    once = figures(school.slug, _days())
    again = processor.handle({"Records": records[:50]}, None)
    assert again["batchItemFailures"] == []
    assert figures(school.slug, _days()) == once


def test_a_poisoned_record_fails_alone_and_the_others_apply(school, tap):
    school.admin.post("/leads", {**lead_body(name="好记录"), "campus_id": school.campus["id"]})
    records = [r for r in tap.drain() if r["dynamodb"].get("NewImage", {}).get("type", {}).get("S") == "Lead"]
    poisoned = copy.deepcopy(records[0])
    poisoned["dynamodb"]["SequenceNumber"] = "1" + records[0]["dynamodb"]["SequenceNumber"]
    del poisoned["dynamodb"]["NewImage"]["campus_id"]  # a lead without a campus: its figures cannot be made
    poisoned["eventID"] = "poison-" + uuid.uuid4().hex
    result = processor.handle({"Records": [poisoned, records[0]]}, None)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [poisoned["dynamodb"]["SequenceNumber"]]
    day = figures(school.slug, _days())
    assert sum(v.get("new_leads", 0) for (p, sk), v in day.items() if len(p) == 10 and sk == keys.ALL_DIMENSION) == 1


def test_reports_show_the_history(school, tap):
    made = _history(school, leads=4)
    lambda_like(tap.drain(), batch_size=25)
    today = str(school_today())
    funnel = school.admin.get(f"/reports/funnel?from={today}&to={today}").json_body
    assert (funnel["new_leads"], funnel["conversions"], funnel["contracts"]) == (4, 1, 1)
    assert funnel["revenue"] == "400.00" and funnel["contract_value"] == "1000.00"
    assert funnel["conversion_rate"] == 0.25 and funnel["cycle_days"]["0_7"] == 1
    follow_ups = school.admin.get(f"/leads/{made[0]['id']}").json_body["follow_ups"]
    assert funnel["follow_ups"] >= len(follow_ups)
    page = school.admin.get(f"/reports/funnel?from={today}&to={today}&format=html")
    assert page.status_code == 200 and "<svg" in page.body.decode() and "销售漏斗" in page.body.decode()
    rows = school.admin.get(f"/reports/consultants?from={today}&to={today}").json_body["items"]
    alice = next(r for r in rows if r["name"] == "Alice")
    assert (alice["new_leads"], alice["conversions"], alice["contracts"]) == (4, 1, 1)
    assert school.staff("consultant").get(f"/reports/funnel?from={today}&to={today}").status_code == 403
    channels = {
        r["source"]: r for r in school.admin.get(f"/reports/sources?from={today}&to={today}").json_body["items"]
    }
    assert channels["website"]["new_leads"] == 2 and channels["referral"]["new_leads"] == 2
    assert channels["website"]["conversions"] == 1 and channels["referral"]["label"] == "转介绍"
    money = school.admin.get(f"/reports/finance?from={today}&to={today}").json_body
    assert (money["revenue"], money["refunds"], money["net"]) == ("400.00", "0.00", "400.00")
    assert money["periods"] == [
        {"period": today, "revenue": "400.00", "payments": 1, "refunds": "0.00", "refund_count": 0}
    ]
    for path in ("consultants", "sources", "finance"):
        page = school.admin.get(f"/reports/{path}?from={today}&to={today}&format=html")
        assert page.status_code == 200 and "<svg" in page.body.decode() and "<table>" in page.body.decode()
    month = school.admin.get(f"/reports/funnel?from={today[:8]}01&to={today}").json_body
    assert month["new_leads"] == 4  # the same figures, read day by day
    long = school.admin.get("/reports/funnel?from=2026-01-05&to=2026-11-23")
    assert long.status_code == 400 and "1st of a month" in long.json_body["error"]["message"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(["phone", "wechat", "sms"]), st.integers(0, 2), st.booleans()), min_size=1, max_size=5
    )
)
def test_report_figures_equal_a_recount_of_the_source_items(school, tap, plan):
    alice = school.staff("consultant")
    for method, follow_ups, signs in plan:
        lead = alice.post("/leads", lead_body(name="随机", phone=f"13{uuid.uuid4().int % 10**9:09d}")).json_body
        for _ in range(follow_ups):
            alice.post(f"/leads/{lead['id']}/follow-ups", {"method": method, "content": "x"})
        if signs:
            alice.post(
                "/contracts",
                {
                    "lead_ids": [lead["id"]],
                    "credits": "1",
                    "price": "10",
                    "starts_on": str(school_today()),
                    "ends_on": str(school_today() + timedelta(days=30)),
                },
            )
    lambda_like(tap.drain(), batch_size=random.Random(len(plan)).choice([3, 10, 50]))
    # the recount, from the source items through the API
    mine = alice.get("/leads?scope=mine&limit=100").json_body["items"]
    recount_follow_ups = sum(len(alice.get(f"/leads/{lead['id']}").json_body["follow_ups"]) for lead in mine)
    recount_signed = sum(1 for lead in mine if lead["signed_on"])
    today = str(school_today())
    rows = school.admin.get(f"/reports/consultants?from={today}&to={today}").json_body["items"]
    me = next(r for r in rows if r["user_id"] == alice.user["id"])
    assert (me["new_leads"], me["follow_ups"], me["conversions"]) == (len(mine), recount_follow_ups, recount_signed)


def test_the_nightly_self_check_finds_no_drift_and_reports_one(school, tap):
    from datetime import UTC, datetime

    from chalicelib import jobs
    from chalicelib.db.items import AggregateItem

    _history(school, leads=3)
    lambda_like(tap.drain())
    tomorrow = datetime.now(UTC) + timedelta(days=1)  # "yesterday" is today, in any time zone near UTC+8
    today = str(school_today())
    result = jobs.run("report_check", at=tomorrow, tenant=school.slug)
    assert result["checked"] == 1
    verdict = reports_db.get_many([(keys.aggregate_pk(school.slug, today), "check#all")])
    assert next(iter(verdict.values()))["drift"] == "none"
    # a figure that went wrong (say, a bug applied a follow-up twice) is found
    AggregateItem(keys.aggregate_pk(school.slug, today), keys.ALL_DIMENSION).update(
        actions=[AggregateItem.kind.set(AggregateItem), Path(["follow_ups"]).add(1)]
    )
    assert jobs.run("report_check", at=tomorrow, tenant=school.slug)["drifted"] == 1
    verdict = reports_db.get_many([(keys.aggregate_pk(school.slug, today), "check#all")])
    assert next(iter(verdict.values()))["drift"] == "follow_ups: 1"
