"""Holiday greetings (节日问候): on each of a school's holidays, in its own calendar and from
its greeting hour, every lead of the holiday's audience is sent its template once that year.

A school lists its holidays in the messaging settings (`holidays`, at most 20): a `date`
(`MM-DD` every year, or `YYYY-MM-DD` once: a lunar holiday the school enters each year), a
`name`, a `template_id` (kind `holiday`), an `audience` and the template's `channel`:

- `members`: learners who signed a contract (GSI1 `MEMBERS`);
- `contactable`: every live lead whose status allows marketing (GSI3 of each campus).

A greeting is marketing: a lead whose status says `transactional` or `none`, a guardian who
opted out, a lead with no phone (or e-mail) is not greeted, exactly as for a marketing send;
the daily marketing cap and quiet hours apply when it is sent.

The audience is a set, so it is walked, not looked up: one Query page at a time (`PAGE`
entries), at most `PER_RUN` entries per school per run and `RUN_SECONDS` per run, from the
hourly `birthdays` job. How far the walk has read is kept, with a lease, in the walk's item
(db/holidays.py), after every page: a run that dies leaves its lease to pass (`LEASE`), and
the next run goes on from the last page kept. Each greeting is a message of its own under
`holiday-<holiday>-<year>-<lead>`, made with a conditional write and looked for first (one
keys-only BatchGetItem a page), so a page read twice, a learner with two contracts, a lead
that moved campus mid-walk, or two runs at once greet nobody twice. On any other day a run
reads the school's settings and nothing else.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.db import holidays as holidays_db
from chalicelib.db import leads as leads_db
from chalicelib.db import messaging as messaging_db
from chalicelib.db import tenants as tenants_db
from chalicelib.domain import clock, config, contact, ids
from chalicelib.domain.messaging import Contexts, Target, destination, enqueue
from chalicelib.schemas.messaging import HolidayGreeting, MessagingSettings
from chalicelib.schemas.tenants import Tenant

PAGE = 100  # audience entries a Query reads
PER_RUN = 2000  # audience entries a run reads per school (the next hour's run goes on)
RUN_SECONDS = 150.0  # a run's budget over every school (the birthdays Lambda has 300 s)
LEASE = timedelta(minutes=10)  # longer than a run's budget: a live run never loses it
DEFAULT = "{{ guardian.name }}您好，{{ school.name }}祝您和{{ learner.name }}{{ holiday.name }}快乐！"
MARKETING = "marketing"


def holiday_key(holiday: HolidayGreeting) -> str:
    """A holiday's own key (its name and date): a renamed or moved holiday is a new one."""
    return hashlib.sha1(f"{holiday.name}|{holiday.date}".encode(), usedforsecurity=False).hexdigest()[:10]


def message_id(holiday: HolidayGreeting, year: int, lead_id: str) -> str:
    """The greeting's idempotency key: one per holiday, year and lead."""
    return f"holiday-{holiday_key(holiday)}-{year}-{lead_id}"


def falls_on(holiday: HolidayGreeting, today: date) -> bool:
    """`MM-DD` every year (02-29 on 28 February of a common year), or that `YYYY-MM-DD`."""
    if len(holiday.date) > 5:
        return holiday.date == today.isoformat()
    if holiday.date == today.strftime("%m-%d"):
        return True
    leap_day_now = today.month == 2 and today.day == 28 and not _leap(today.year)
    return holiday.date == "02-29" and leap_day_now


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@dataclass
class _Budget:
    deadline: float
    per_school: int
    page: int

    def spent(self) -> bool:
        return time.monotonic() >= self.deadline


def run(at: datetime, tenants: list[Tenant], *, page: int = PAGE, per_run: int = PER_RUN) -> dict[str, int]:
    """The holiday step of the `birthdays` job, for these schools (the platform directory)."""
    budget = _Budget(time.monotonic() + RUN_SECONDS, per_run, page)
    made = unfinished = 0
    for tenant in tenants:
        settings = config.load(tenant.slug).messaging
        if not settings.holidays:
            continue
        local = at.astimezone(ZoneInfo(tenant.timezone))
        due = [h for h in settings.holidays if falls_on(h, local.date())]
        if not due or local.hour < settings.greeting_hour:
            continue
        contexts: Contexts | None = None
        for holiday in due:
            if budget.spent():
                unfinished += 1
                continue
            contexts = contexts or Contexts(tenant.slug)
            greeted, done = _walk(tenant.slug, holiday, local, at, settings, contexts, budget)
            made += greeted
            unfinished += not done
    return {"holiday_greetings": made, "holidays_unfinished": unfinished}


def _partitions(tenant: str, holiday: HolidayGreeting) -> list[str]:
    if holiday.audience == "members":
        return [holidays_db.members_partition(tenant)]
    campus_ids: list[str] = []
    cursor = None
    while True:
        campuses, cursor = tenants_db.list_campuses(tenant, 100, cursor)
        campus_ids += [c.id for c in campuses]
        if not cursor:
            return sorted(holidays_db.campus_partition(tenant, c) for c in campus_ids)


def _start(partitions: list[str], position: holidays_db.Position | None) -> tuple[int, dict[str, Any] | None]:
    """Where a walk goes on: the partition it stopped in (from its key), or the next one."""
    if position is None:
        return 0, None
    return position.start_in(partitions)  # a campus gone since: the next in order


def _walk(
    tenant: str,
    holiday: HolidayGreeting,
    local: datetime,
    at: datetime,
    settings: MessagingSettings,
    contexts: Contexts,
    budget: _Budget,
) -> tuple[int, bool]:
    """Reads on in one holiday's audience for this run: (greetings made, walk done)."""
    run_id = f"{local.date().isoformat()}#{holiday_key(holiday)}"
    walk = holidays_db.get(tenant, run_id)
    if walk is not None and walk.done:
        return 0, True  # a run after the walk's end reads one item and writes nothing
    now = clock.now()
    if walk is not None and walk.lease_until and walk.lease_until > clock.iso(now):
        return 0, False  # another run holds it (or a dead one's lease has not passed yet)
    owner = ids.new_id()
    day_ends = datetime.combine(local.date() + timedelta(days=1), day_time(), tzinfo=local.tzinfo)
    if not holidays_db.take(
        tenant, run_id, now=clock.iso(now), lease_until=clock.iso(now + LEASE), owner=owner, day_ends=day_ends
    ):
        return 0, False
    partitions = _partitions(tenant, holiday)
    index, last_key = _start(partitions, walk.position if walk else None)
    template = _template(tenant, holiday)
    made = read = 0
    while index < len(partitions):
        if read >= budget.per_school or budget.spent():
            holidays_db.release(tenant, run_id, owner, clock.iso(clock.now()))
            return made, False
        entries, last_key = holidays_db.audience_page(
            partitions[index], members=holiday.audience == "members", limit=budget.page, last_key=last_key
        )
        counts = _greet(tenant, holiday, entries, local.year, at, template, settings, contexts)
        read += len(entries)
        made += counts["made"]
        if last_key is None:
            index += 1
        position = holidays_db.Position(partitions[index] if index < len(partitions) else None, last_key)
        done = index >= len(partitions)
        if not holidays_db.advance(tenant, run_id, owner, position, {**counts, "read": len(entries)}, done=done):
            return made, False  # another run took the walk over: it goes on from what was kept
        if done:
            return made, True
    # nothing (more) to read: a school without campuses, or a walk that stopped at its end
    holidays_db.advance(tenant, run_id, owner, holidays_db.Position(None), {}, done=True)
    return made, True


def _template(tenant: str, holiday: HolidayGreeting) -> tuple[str, str | None, str]:
    """(body, subject, channel) of the holiday's template, or the built-in SMS text if the
    template was deleted since the holiday was saved."""
    found = messaging_db.get_template(tenant, holiday.template_id)
    if found is None:
        return DEFAULT, None, "sms"
    return found["body"], found.get("subject"), found["channel"]


def _greet(
    tenant: str,
    holiday: HolidayGreeting,
    entries: list[holidays_db.Entry],
    year: int,
    at: datetime,
    template: tuple[str, str | None, str],
    settings: MessagingSettings,
    contexts: Contexts,
) -> Counter[str]:
    """Greets the leads of one page not greeted yet this year: one keys-only BatchGetItem of
    their messages, one BatchGetItem of the leads, a message each (a conditional write)."""
    counts: Counter[str] = Counter()
    body, subject, channel = template
    school = contexts.config
    # the index's status (contactable): a lead that may not get marketing is not even read
    wanted = [e.lead_id for e in entries if e.status is None or contact.allowed(school.contact(e.status), MARKETING)]
    counts["skipped"] += len(entries) - len(wanted)
    wanted = list(dict.fromkeys(wanted))  # a learner with two contracts: once
    greeted_before = messaging_db.existing_messages(tenant, [message_id(holiday, year, i) for i in wanted])
    wanted = [i for i in wanted if message_id(holiday, year, i) not in greeted_before]
    for lead in leads_db.batch_get(tenant, wanted) if wanted else []:
        stop = lead.deleted_at or contact.skip_reason(school, lead, MARKETING) or destination(lead, channel)[2]
        if stop:
            counts["skipped"] += 1
            continue
        made = enqueue(
            tenant,
            channel=channel,
            purpose=MARKETING,
            body=body,
            subject=subject,
            targets=[Target(lead=lead, extra={"holiday": {"name": holiday.name}})],
            send_at=at,
            source="holiday",
            message_id=message_id(holiday, year, lead.id),
            contexts=contexts,
            settings=settings,
        )
        counts["made"] += made is not None
    return counts
