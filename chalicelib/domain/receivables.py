"""Receivables (应收/欠费): what families owe, and when.

Every contract instalment (a contract without instalments: its net price, due the day it is
signed) and every confirmed enrolment's agreed price (in as many monthly instalments as
its instalment option, the first on the cohort's first day or the day it is confirmed if
later) is a receivable: an amount due on a school date. Payments cover them in order
(instalment 1 first), in the same transaction as the payment; voiding a contract or
declining an enrolment cancels them. Nothing here is derived later: the items are written
with what changes them, so the lists read them by due date from sparse index partitions
that hold only what is open (or only what is paid): O(what is listed), never the school.

Reminders (`reminders`, run hourly by the appointment_reminders job): before the due date
(the school's `receivable_reminder_days`, from its greeting hour) an SMS to the payer, or the
learner's guardian; the day after it, if still unpaid, a notification to the consultant.
Each once (fixed message ids and markers), read from the DUE index by school-local day.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from chalicelib.db import keys
from chalicelib.db import leads as leads_db
from chalicelib.db import messaging as messaging_db
from chalicelib.db import receivables as receivables_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db.cards.records import ContractRecord
from chalicelib.db.programmes import CohortRecord, EnrolmentRecord
from chalicelib.db.receivables import ReceivableRecord
from chalicelib.domain import clock, config, ids, leads, phones, wallets
from chalicelib.domain.auth import Principal
from chalicelib.domain.tenants import get_tenant
from chalicelib.errors import ForbiddenError, ValidationFailedError
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import Lead
from chalicelib.schemas.receivables import (
    Ageing,
    AgeingBucket,
    Payer,
    PayerShown,
    Receivable,
    ReceivableQuery,
)
from chalicelib.schemas.users import Role

BUCKETS = (("0-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))


def _invalid(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {message}", details=[{"field": field, "message": message}])


# --- who pays (代报名) -------------------------------------------------------------------


def payer_fields(payer: Payer | None, region: str) -> dict[str, str | None]:
    """A payer as stored (the phone as E.164; 400 naming `payer.phone` if it is none)."""
    if payer is None:
        return {"payer_name": None, "payer_phone": None, "payer_relation": None}
    return {
        "payer_name": payer.name,
        "payer_phone": phones.normalise(payer.phone, region, "payer.phone"),
        "payer_relation": payer.relation,
    }


def payer_shown(data: Any) -> PayerShown | None:
    if not data.get("payer_name") or not data.get("payer_phone"):
        return None
    return PayerShown(
        name=data["payer_name"], phone=phones.mask(data["payer_phone"]), relation=data.get("payer_relation")
    )


# --- the schedule: what becomes a receivable -------------------------------------------


def first_reminder(due_on: str, today: date, days_before: int) -> str:
    """The school day a new open receivable is first looked at by the job: `days_before` its
    due date (today if that has passed; an overdue one, today: the consultant is told)."""
    due = date.fromisoformat(due_on)
    return max(today, due - timedelta(days=days_before)).isoformat()


def _days_before(tenant: str) -> int:
    return config.load(tenant).messaging.receivable_reminder_days


def for_contract(tenant: str, data: ContractRecord, today: date) -> list[tuple[ReceivableRecord, str]]:
    """A new contract's receivables (each with the day it is first filed for): one per
    instalment, or its net price due the day it is signed; none when nothing is owed."""
    plan = [(i["due_on"], int(i["amount"])) for i in data.get("instalments") or []]
    net = int(data["price"]) - int(data.get("discount") or 0)
    if not plan and net > 0:
        plan = [(data["signed_on"], net)]
    plan = [(due_on, amount) for due_on, amount in plan if amount > 0]
    days = _days_before(tenant)
    made = []
    for n, (due_on, amount) in enumerate(plan, 1):
        record = receivables_db.as_values(
            {
                "id": f"{data['id']}-{n:02d}",
                "source": "contract",
                "source_id": data["id"],
                "n": n,
                "of": len(plan),
                "title": f"合同 {n}/{len(plan)}",
                "lead_ids": list(data["lead_ids"]),
                "lead_names": list(data["lead_names"]),
                "campus_id": data["campus_id"],
                "consultant_id": data["signed_by"],
                "consultant_name": data["signed_by_name"],
                "due_on": due_on,
                "amount": amount,
                "paid": 0,
                "status": "open",
                "payer_name": data.get("payer_name"),
                "payer_phone": data.get("payer_phone"),
                "payer_relation": data.get("payer_relation"),
                "created_at": clock.iso(clock.now()),
            }
        )
        made.append((record, first_reminder(due_on, today, days)))
    return made


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def for_enrolment(
    tenant: str, cohort: CohortRecord, enrolment: EnrolmentRecord, consultant: tuple[str, str], today: date
) -> list[tuple[ReceivableRecord, str]]:
    """A confirmed enrolment's receivables: its agreed price in `instalment_count` monthly
    parts (fen left over on the first), the first due on the cohort's first day, or today if
    it has started; what was paid already covers them in order."""
    total, count = int(enrolment["agreed_price"]), max(1, int(enrolment["instalment_count"]))
    if total <= 0:
        return []
    first = max(date.fromisoformat(cohort["starts_on"]), today)
    part, left = divmod(total, count)
    days = _days_before(tenant)
    made = []
    for n in range(1, count + 1):
        amount = part + (left if n == 1 else 0)
        if amount <= 0:
            continue
        due_on = _add_months(first, n - 1).isoformat()
        record = receivables_db.as_values(
            {
                "id": f"{enrolment['id']}-{n:02d}",
                "source": "enrolment",
                "source_id": enrolment["id"],
                "n": n,
                "of": count,
                "title": f"{cohort['programme_name']}（{cohort['name']}）{n}/{count}",
                "lead_ids": [enrolment["lead_id"]],
                "lead_names": [enrolment["lead_name"]],
                "campus_id": cohort["campus_id"],
                "consultant_id": consultant[0],
                "consultant_name": consultant[1],
                "due_on": due_on,
                "amount": amount,
                "paid": 0,
                "status": "open",
                "payer_name": enrolment.get("payer_name"),
                "payer_phone": enrolment.get("payer_phone"),
                "payer_relation": enrolment.get("payer_relation"),
                "created_at": clock.iso(clock.now()),
            }
        )
        made.append((record, first_reminder(due_on, today, days)))
    covered = {r["id"]: r for r in cover([r for r, _ in made], int(enrolment.get("paid") or 0), today.isoformat())}
    return [(covered.get(r["id"], r), day) for r, day in made]


def cover(records: Iterable[ReceivableRecord], paid: int, paid_on: str) -> list[ReceivableRecord]:
    """The receivables (not cancelled) whose share of `paid` changes, as they become:
    payments cover instalment 1 first, then 2, ... A newly settled one is paid on `paid_on`."""
    changed, left = [], paid
    for record in sorted(records, key=lambda r: int(r["n"])):
        if record["status"] == "cancelled":
            continue
        share = min(int(record["amount"]), max(0, left))
        left -= share
        status = "paid" if share >= int(record["amount"]) else "open"
        if share == int(record["paid"]) and status == record["status"]:
            continue
        after: ReceivableRecord = {**record, "paid": share, "status": status}
        after["paid_on"] = (record.get("paid_on") or paid_on) if status == "paid" else None
        changed.append(after)
    return changed


def cancelled(records: Iterable[ReceivableRecord]) -> list[ReceivableRecord]:
    """Every receivable not cancelled yet, cancelled (a void contract, a declined enrolment)."""
    return [cast(ReceivableRecord, {**r, "status": "cancelled"}) for r in records if r["status"] != "cancelled"]


# --- as shown ------------------------------------------------------------------------


def to_receivable(data: ReceivableRecord, today: date) -> Receivable:
    outstanding = int(data["amount"]) - int(data["paid"])
    late = (today - date.fromisoformat(data["due_on"])).days
    status = data["status"]
    if status == "open":
        status = "overdue" if late > 0 else "due"
    return Receivable(
        id=data["id"],
        source=data["source"],
        source_id=data["source_id"],
        n=int(data["n"]),
        of=int(data["of"]),
        title=data["title"],
        lead_ids=data["lead_ids"],
        lead_names=data["lead_names"],
        campus_id=data["campus_id"],
        consultant_id=data["consultant_id"],
        consultant_name=data["consultant_name"],
        due_on=data["due_on"],
        amount=wallets.decimal(data["amount"]),
        paid=wallets.decimal(data["paid"]),
        outstanding=wallets.decimal(outstanding),
        status=status,
        days_overdue=late if status == "overdue" else 0,
        paid_on=data.get("paid_on"),
        payer=payer_shown(data),
    )


# --- the list ------------------------------------------------------------------------

CAMPUS_WIDE = frozenset({Role.manager, Role.frontdesk, Role.finance})


def _whole_school(principal: Principal) -> bool:
    return principal.role is Role.admin or (principal.role is Role.finance and not principal.campus_ids)


def _today(tenant: str) -> date:
    return clock.now().astimezone(ZoneInfo(get_tenant(tenant).timezone)).date()


def list_receivables(principal: Principal, query: ReceivableQuery) -> Page[Receivable]:
    """应收/欠费, by due date: unpaid (due, overdue) or paid, of the school, a campus or a
    consultant, as far as the caller may see. One Query per partition of the scope (the
    school's, each campus's or each consultant's), then the page's leads for visibility."""
    if principal.role is Role.teacher:
        raise ForbiddenError("Receivables are not for teachers.", code="ROLE_FORBIDDEN")
    today = _today(principal.tenant)
    campuses: list[str] | None = None  # a filter on the index, when the partitions are not the campuses'
    if query.campus is not None and not _whole_school(principal) and query.campus not in principal.campus_ids:
        raise _invalid("campus", "not one of your campuses")
    if principal.role in (Role.consultant, Role.supervisor):
        allowed = [principal.user_id] if principal.role is Role.consultant else leads.team_of(principal)
        if query.consultant is not None and query.consultant not in allowed:
            raise _invalid("consultant", "not you or your team")
        family, owners = "consultant", [query.consultant] if query.consultant else allowed
        campuses = [query.campus] if query.campus else None
    elif query.consultant is not None:
        family, owners = "consultant", [query.consultant]
        campuses = (
            [query.campus] if query.campus else (None if _whole_school(principal) else list(principal.campus_ids))
        )
    elif query.campus is not None:
        family, owners = "campus", [query.campus]
    elif _whole_school(principal):
        family, owners = "school", []
    else:
        family, owners = "campus", list(principal.campus_ids)
    state = "paid" if query.status == "paid" else "open"
    index, parts = receivables_db.partitions(principal.tenant, family, owners, state)
    before = today.isoformat() if query.status == "overdue" else None
    from_ = today.isoformat() if query.status == "due" else None
    scope = f"{principal.tenant}:{principal.user_id}:receivables:{family}:{','.join(owners)}:{query.status}:{campuses}"
    found, cursor = receivables_db.list_page(
        index,
        parts,
        before=before,
        from_=from_,
        campuses=campuses,
        limit=query.limit,
        cursor=query.cursor,
        scope=scope,
    )
    if not _whole_school(principal):
        found = _visible(principal, found)
    return Page[Receivable](items=[to_receivable(r, today) for r in found], next_cursor=cursor)


def _visible(principal: Principal, found: list[ReceivableRecord]) -> list[ReceivableRecord]:
    """What names a learner is shown as a contract is (contracts.can_see): finance by campus,
    everyone else to whoever may see one of its learners (one BatchGetItem of the page's)."""
    if principal.role is Role.finance:
        return [r for r in found if r["campus_id"] in principal.campus_ids]
    wanted = [lead_id for r in found for lead_id in r["lead_ids"]]
    seen = {lead.id for lead in leads_db.batch_get(principal.tenant, wanted) if leads.can_see(principal, lead)}
    return [r for r in found if seen & set(r["lead_ids"])]


# --- the ageing report (账龄) -----------------------------------------------------------


def ageing(tenant: str, campus: str | None) -> Ageing:
    """What is owed as of today, by days past due: read from the index alone (its sort key
    holds the amount still owed), the school's or one campus's open receivables."""
    today = _today(tenant)
    family, owners = ("campus", [campus]) if campus else ("school", [])
    index, parts = receivables_db.partitions(tenant, family, owners, "open")
    totals: dict[str, list[int]] = {name: [0, 0] for name, _, _ in BUCKETS}
    not_due = [0, 0]
    for due_on, owed in receivables_db.outstanding(index, parts[0]):
        late = (today - date.fromisoformat(due_on)).days
        if late <= 0:
            not_due[0] += owed
            not_due[1] += 1
            continue
        for name, lo, hi in BUCKETS:
            if late >= lo and (hi is None or late <= hi):
                totals[name][0] += owed
                totals[name][1] += 1
    return Ageing(
        as_of=today,
        not_due=wallets.decimal(not_due[0]),
        not_due_count=not_due[1],
        overdue=wallets.decimal(sum(t[0] for t in totals.values())),
        overdue_count=sum(t[1] for t in totals.values()),
        buckets=[
            AgeingBucket(bucket=cast(Any, name), amount=wallets.decimal(totals[name][0]), count=totals[name][1])
            for name, _, _ in BUCKETS
        ],
    )


# --- reminders (the hourly job) ----------------------------------------------------------

DEFAULTS = {
    "receivable_due": (
        "{{ guardian.name }}您好，{{ learner.name }}的{{ receivable.title }}应付{{ receivable.amount }}元，"
        "请于{{ receivable.due_on }}前缴纳。如已缴纳请忽略。{{ school.name }}"
    ),
    "receivable_overdue": (
        "{{ learner.name }}的{{ receivable.title }}已逾期{{ receivable.days_overdue }}天，"
        "欠费{{ receivable.outstanding }}元（应于{{ receivable.due_on }}缴纳），请跟进。"
    ),
}


def _facts(record: ReceivableRecord, today: date) -> dict[str, Any]:
    shown = to_receivable(record, today)
    return {
        "title": shown.title,
        "amount": str(shown.amount),
        "outstanding": str(shown.outstanding),
        "due_on": shown.due_on.isoformat(),
        "days_overdue": shown.days_overdue,
        "payer": record.get("payer_name"),
    }


def _template(tenant: str, template_id: str | None, kind: str) -> tuple[str, str | None, str]:
    if template_id:
        found = messaging_db.get_template(tenant, template_id)
        if found is not None:
            return found["body"], found.get("subject"), found["channel"]
    return DEFAULTS[kind], None, "sms"


def _utc_days(at: datetime) -> list[date]:
    utc = at.astimezone(UTC).date()
    return [utc - timedelta(days=1), utc, utc + timedelta(days=1)]


def reminders(at: datetime, only: str | None = None) -> dict[str, int]:
    """From each school's greeting hour: an SMS (the school's template, or the built-in one)
    to the payer or the guardian the set days before a receivable is due, and a notification
    to its consultant the day after, if it is still unpaid; each once. Reads the DUE buckets
    of the days around `at` (each school's today is one of them), then the receivables
    found (BatchGetItem); a receivable is refiled for its next reminder, or unfiled."""
    from chalicelib.domain.messaging import Contexts, Target, enqueue

    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for day in _utc_days(at):
        for tenant, pk, sk in receivables_db.reminder_candidates(day.isoformat()):
            if only is None or tenant == only:
                found[tenant].append((pk, sk))
    reminded = told = 0
    for tenant, wanted in found.items():
        contexts = Contexts(tenant)
        settings = config.load(tenant).messaging
        local = at.astimezone(contexts.zone)
        if local.hour < settings.greeting_hour:
            continue
        today = local.date()
        records = [(r, filed) for r, filed in receivables_db.batch_get(wanted) if filed]
        records = [(r, filed) for r, filed in records if filed.split("#")[2] <= today.isoformat()]
        if not records:
            continue
        made_before = messaging_db.existing_messages(tenant, [f"recv-due-{r['id']}" for r, _ in records])
        lead_ids = [r["lead_ids"][0] for r, _ in records]
        people = {lead.id: lead for lead in leads_db.batch_get(tenant, lead_ids)}
        for record, filed in records:
            if record["status"] != "open":
                receivables_db.refile(tenant, record, filed, None)
                continue
            lead = people.get(record["lead_ids"][0])
            due_on = date.fromisoformat(record["due_on"])
            if due_on >= today:  # before (or on) the due date: the family
                message_id = f"recv-due-{record['id']}"
                if message_id not in made_before and lead is not None and not lead.deleted_at:
                    template = _template(tenant, settings.receivable_template_id, "receivable_due")
                    reminded += _remind_family(
                        tenant, template, record, lead, at, message_id, today, contexts, settings, Target, enqueue
                    )
                receivables_db.refile(tenant, record, filed, (due_on + timedelta(days=1)).isoformat())
                continue
            template = _template(tenant, settings.receivable_overdue_template_id, "receivable_overdue")
            told += _tell_consultant(tenant, template[0], record, lead, at, today, contexts, Target)
            receivables_db.refile(tenant, record, filed, None)
    return {"receivable_reminders": reminded, "receivables_overdue": told}


def _remind_family(
    tenant: str,
    template: tuple[str, str | None, str],
    record: ReceivableRecord,
    lead: Lead,
    at: datetime,
    message_id: str,
    today: date,
    contexts: Any,
    settings: Any,
    target_type: Any,
    enqueue: Any,
) -> int:
    """The SMS (or e-mail) before the due date: to the payer when someone pays on the
    learner's behalf (代报名), else to the learner's guardian (their opt-outs apply)."""
    body, subject, channel = template
    extra = {"receivable": _facts(record, today)}
    if record.get("payer_phone") and channel == "sms":
        learner = contexts.of(target_type(lead=lead), None)
        extra |= {k: learner[k] for k in ("learner", "consultant", "campus")}
        target = target_type(to=record["payer_phone"], name=record.get("payer_name"), extra=extra)
    else:
        target = target_type(lead=lead, extra=extra)
    made = enqueue(
        tenant,
        channel=channel,
        purpose="notice",
        body=body,
        subject=subject,
        targets=[target],
        send_at=at,
        source="receivable",
        message_id=message_id,
        contexts=contexts,
        settings=settings,
    )
    return int(made is not None)


def _tell_consultant(
    tenant: str,
    body: str,
    record: ReceivableRecord,
    lead: Lead | None,
    at: datetime,
    today: date,
    contexts: Any,
    target_type: Any,
) -> int:
    """The notification the day after the due date, once (a marker in the receivable's
    partition), its text the school's overdue template (or the built-in one) rendered in
    the sandbox as every message is."""
    from chalicelib.domain import templates

    extra = {"receivable": _facts(record, today)}
    context = contexts.of(target_type(lead=lead, extra=extra) if lead else target_type(name=None, extra=extra), None)
    if lead is None:
        context["learner"] = {"name": record["lead_names"][0]}
    try:
        text = templates.render(body, context)
    except ValidationFailedError:
        text = templates.render(DEFAULTS["receivable_overdue"], context)  # a template broken since it was chosen
    pk, _ = receivables_db.key_of(tenant, record)
    marker = (pk, keys.told_sk("overdue", record["id"]))
    done = schedule_db.notify_once(
        tenant, record["consultant_id"], ids.new_id(), text[:500], record["lead_ids"][0], clock.iso(at), once=marker
    )
    return int(done)
