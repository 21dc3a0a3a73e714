"""The scheduled functions (issue 6): read capacity at 1,000 and at 50,000 leads with the
same due work, and how fast `scheduled_messages` dispatches through the outbox.

The due work is fixed: learners whose birthday is today, visits tomorrow, leads whose
protection period ends in the warning days, cards running low, one morning digest per
member of staff. The background grows: leads with birthdays on other days of the year,
protection periods ending next month, past visits. Each job reads its DUE buckets, so its
read capacity should not move (ratio near 1). Figures are for the steady state: the run
after the one that made the messages, which is what every further hourly run costs.

The write units of that steady-state run are printed next to the first run's (issue 17):
a job reads what a run before made (message headers, "told" markers, the card's filed
day, the kept verdict) before attempting it, so an hourly run with nothing new writes 0.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench import capacity
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section
from bench.seeding import consultant, write_background

SMALL, LARGE = 1_000, int(os.environ.get("BENCH_JOBS_N", "50000"))
JOBS = (
    "birthdays",
    "appointment_reminders",
    "pool_reclaim",
    "card_alerts",
    "due_follow_ups",
    "report_check",
    "scheduled_messages",
)
HOURLY = JOBS[:-1]  # scheduled_messages runs every minute (its cursor moves): not in the 0-writes goal
DUE = 10  # of each kind
BULK = 200  # recipients of the dispatch-rate message


def _seed(stack, owner: str, start: int, stop: int, zone: ZoneInfo) -> float:
    """Background leads: birthdays spread over the year but never within two days of today,
    owned with a protection period ending 20-50 days out, one past visit per 10 leads."""
    from chalicelib.db import keys
    from chalicelib.db.items import BirthdayItem

    def fields(n: int, now: datetime) -> dict:
        today = now.astimezone(zone).date()
        birthday = date(2021, 1, 1) + timedelta(days=n % 365)  # 2021: no 29 February
        if abs((birthday.replace(year=today.year) - today).days) % 363 <= 2:  # not near today (nor New Year's)
            birthday += timedelta(days=5)
        return {"reclaim_on": today + timedelta(days=20 + n % 30), "birthday": birthday}

    def marker(lead) -> list[BirthdayItem]:
        item = BirthdayItem(keys.lead_pk(stack.tenant, lead.id), keys.BIRTHDAY_SK, month_day=f"{lead.birthday:%m-%d}")
        item.DUEPK, item.DUESK = keys.birthday_due(item.month_day, item.PK)
        return [item]

    return write_background(
        stack,
        start,
        stop,
        name="背景",
        phone_prefix="138",
        owner=lambda n: owner,
        fields=fields,
        visit_days_ago=3,
        extra=marker,
    )


def _due_work(stack, owner: str, zone: ZoneInfo) -> None:
    """The fixed due work, through the API. The learners with a birthday today (a visit
    tomorrow, protection ending in 3 days) stay unsigned: a contract ends a lead's
    protection period, so the low cards are held by members of their own."""
    today = datetime.now(zone).date()
    tomorrow = today + timedelta(days=1)
    call = stack.call

    def lead(name: str, birthday: str | None = None) -> dict:
        body = {
            "name": name,
            "campus_id": stack.campus_id,
            "guardians": [{"name": "家长", "phones": [f"137{secrets.randbelow(10**8):08d}"]}],
            "owner_id": owner,
            **({"birthday": birthday} if birthday else {}),
        }
        return call("POST", "/leads", body, expect=201).json_body

    call("PATCH", "/settings/leads", {"protection_days": 3, "reclaim_warning_days": 3})
    for i in range(DUE):
        learner = lead(f"今天生日{i}", f"2020-{today:%m-%d}" if f"{today:%m-%d}" != "02-29" else "2020-02-29")
        at = f"{tomorrow.isoformat()}T10:{i:02d}:00"
        call("POST", f"/leads/{learner['id']}/appointments", {"kind": "visit", "at": at}, expect=201)
        member = lead(f"会员{i}")
        contract = call(
            "POST",
            "/contracts",
            {
                "lead_ids": [member["id"]],
                "credits": "3",
                "price": "300",
                "starts_on": today.isoformat(),
                "ends_on": (today + timedelta(days=90)).isoformat(),
            },
            expect=201,
        ).json_body
        card = call(
            "POST", "/cards", {"holder_lead_id": member["id"], "contract_ids": [contract["id"]]}, expect=201
        ).json_body
        call("POST", f"/cards/{card['id']}/movements", {"kind": "deduction", "credits": "2"}, expect=201)
    call("PATCH", "/settings/leads", {"protection_days": 30})


# What the first run must have done for the fixed due work: DUE of each (the later runs do none).
FIRST_RUN = {
    "birthdays": "birthdays",
    "appointment_reminders": "reminders",
    "pool_reclaim": "warned",
    "card_alerts": "card_alerts",
}


def _reads(stack, at: datetime, done: dict[str, dict] | None = None) -> dict[str, tuple[float, int, float, int]]:
    """Each job's (read units by AWS's rules, DynamoDB calls, write units by AWS's rules with
    the index copies, write calls) for one run at `at`; with `done`, what each job reported
    is kept there."""
    from chalicelib import jobs
    from chalicelib.db import telemetry
    from chalicelib.domain import clock

    indexes = capacity.indexes_from_table(stack.table)
    found = {}
    for name in JOBS:
        with clock.frozen(at), telemetry.record() as rec:
            result = jobs.run(name, at=at, tenant=stack.tenant)
        if done is not None:
            done[name] = result
        cost = capacity.cost_calls([c for c in rec.calls if c.operation in capacity.READ_OPERATIONS], indexes=indexes)
        writes = [c for c in rec.calls if c.operation in capacity.WRITE_OPERATIONS]
        wrote = capacity.cost_calls(writes, indexes=indexes)
        found[name] = (cost.rru, len(rec.calls), wrote.wru + wrote.gsi_wru, len(writes))
    return found


@section("jobs", "Scheduled functions at 1,000 and 50,000 leads; dispatch rate", order=80, skip_env="BENCH_SKIP_JOBS")
def scheduled_functions(ctx: Context) -> Result:
    from chalicelib.domain import clock

    stack = ctx.stack()
    notes: list[str] = []
    zone = ZoneInfo("Asia/Shanghai")
    with stack.quiet(notes):
        owner, _ = consultant(stack, "jobs" + secrets.token_hex(3))
        local_hour = datetime.now(zone).hour
        stack.call(
            "PATCH",
            "/settings/messaging",
            {"greeting_hour": 0, "digest_hour": local_hour, "quiet_from": "00:00", "quiet_to": "00:00"},
        )
        _due_work(stack, owner, zone)
    at = clock.now()
    rows = []
    rates = []
    first: dict[str, dict] = {}
    with stack.quiet(notes):
        rates.append(_seed(stack, owner, 0, SMALL - DUE, zone))
        made = _reads(stack, at, first)  # the run that makes the messages
        small = _reads(stack, at)
        rates.append(_seed(stack, owner, SMALL, LARGE, zone))
        large = _reads(stack, at)
    missed = [f"{job} {key}={first[job].get(key)}" for job, key in FIRST_RUN.items() if first[job].get(key) != DUE]
    notes.append(
        "the first run (not priced) did the fixed due work: "
        + ", ".join(f"{job} {key}={first[job].get(key)}" for job, key in FIRST_RUN.items())
        + (f" (expected {DUE} each; MISSED: {'; '.join(missed)})" if missed else f" ({DUE} each, as seeded)")
    )
    worst = 0.0
    for name in JOBS:
        ratio = large[name][0] / small[name][0] if small[name][0] else None
        worst = max(worst, ratio or 0)
        rows.append(
            {
                "job": name,
                "small": small[name][0],
                "large": large[name][0],
                "calls_small": small[name][1],
                "calls_large": large[name][1],
                "ratio": ratio,
            }
        )
    reads = Table(
        f"Read units of one steady-state run, for one school, at {SMALL:,} and {LARGE:,} leads (same due work)",
        [
            Column("job", "job"),
            Column("small", f"RRU at {SMALL:,}", "{:.1f}"),
            Column("large", f"RRU at {LARGE:,}", "{:.1f}"),
            Column("calls_small", "calls"),
            Column("calls_large", "calls"),
            Column("ratio", "ratio", "{:.2f}"),
        ],
        rows,
    )
    written = [
        {
            "job": name,
            "first": made[name][2],
            "first_calls": made[name][3],
            "again": small[name][2],
            "again_calls": small[name][3],
            "again_large": large[name][2],
            "ratio": small[name][2] / made[name][2] if made[name][2] else None,
        }
        for name in JOBS
    ]
    writes = Table(
        "Write units (AWS rules, with index copies) of the first run, which made the fixed due work, and of "
        f"the run after it with nothing new (goal 0), at {SMALL:,} leads and again at {LARGE:,}",
        [
            Column("job", "job"),
            Column("first", "WRU first run", "{:.1f}"),
            Column("first_calls", "write calls"),
            Column("again", "WRU next run", "{:.1f}"),
            Column("again_calls", "write calls"),
            Column("again_large", f"WRU next run at {LARGE:,}", "{:.1f}"),
            Column("ratio", "next / first", "{:.2f}"),
        ],
        written,
    )
    steady_writes = sum(r["again"] + r["again_large"] for r in written if r["job"] in HOURLY)
    dispatch = _dispatch_rate(stack, notes)
    notes.append(f"seeding wrote {min(rates):,.0f}–{max(rates):,.0f} items/s (BatchWriteItem)")
    return Result(
        tables=[reads, dispatch, writes],
        notes=notes,
        checks=[
            Check(f"worst job read ratio {LARGE:,} vs {SMALL:,} leads", worst, 1.2, "x"),
            Check("jobs: kinds of fixed due work the first run did not do", len(missed), 0),
            Check("jobs: dispatch recipients not sent", BULK - dispatch.rows[0]["sent"], 0),
            Check("hourly jobs: write units of the runs with nothing new", steady_writes, 0, " WRU"),
        ],
        details={"rows": rows, "dispatch": dispatch.rows, "writes": written, "first_run": first},
    )


def _dispatch_rate(stack, notes: list[str]) -> Table:
    """BULK typed numbers scheduled for one minute, then one scheduled_messages run, timed;
    against bare PutItems of outbox-sized items in the same run."""
    from chalicelib import jobs
    from chalicelib.domain import clock

    phones = [f"13{secrets.randbelow(10**9):09d}" for _ in range(BULK)]
    zone = ZoneInfo("Asia/Shanghai")
    send_at = (datetime.now(zone) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    with stack.quiet(notes):
        made = stack.call(
            "POST",
            "/messages",
            {
                "channel": "sms",
                "purpose": "notice",
                "text": "本周六上午十点亲子运动会，欢迎全家参加！回复TD退订",
                "send_at": send_at.replace(tzinfo=None).isoformat(),
                "recipients": {"phones": phones},
            },
            expect=201,
        ).json_body
        at = send_at.astimezone(ZoneInfo("UTC")) + timedelta(seconds=1)
        began = time.perf_counter()
        with clock.frozen(at):
            result = jobs.run("scheduled_messages", at=at, tenant=stack.tenant)
        seconds = time.perf_counter() - began
    table = stack.table["TableName"]
    item = {"PK": {"S": f"T#{stack.tenant}#BENCHPUT"}, "channel": {"S": "sms"}, "body": {"S": "x" * 60}}
    began = time.perf_counter()
    for n in range(BULK):
        stack.ddb.put_item(TableName=table, Item={**item, "SK": {"S": f"{n:06d}"}})
    bare = time.perf_counter() - began
    sent = result.get("sent", 0)
    rows = [
        {
            "what": f"scheduled_messages, {BULK} recipients (outbox)",
            "sent": sent,
            "seconds": seconds,
            "rate": sent / seconds if seconds else None,
            "ratio": (sent / seconds) / (BULK / bare) if seconds and bare else None,
        },
        {
            "what": "bare PutItem of an outbox-sized item",
            "sent": BULK,
            "seconds": bare,
            "rate": BULK / bare,
            "ratio": 1.0,
        },
    ]
    notes.append(
        f"message {made['id']}: {made['recipients']} recipients, {made['segments']} segments; each recipient is a "
        "claim (a transaction), the provider's write and a settle (a transaction): 3 writes against the bare 1."
    )
    return Table(
        "Dispatch rate, interleaving not possible (one run): ratio to bare PutItems timed right after",
        [
            Column("what", "operation"),
            Column("sent", "messages"),
            Column("seconds", "seconds", "{:.2f}"),
            Column("rate", "messages/s", "{:.0f}"),
            Column("ratio", "rate / bare PutItem rate", "{:.2f}"),
        ],
        rows,
    )
