"""The school's website: open cohorts for its form, and applications from that form.

An application is a lead like any other, with the same duplicate rule: a phone that
already belongs to a lead of the school makes no second lead; the existing lead gets an
`applied_online` history entry and its owner is told. The website's answer is the same
either way, so the form cannot be used to learn who is already a customer."""

from __future__ import annotations

from typing import Any

from chalicelib.db import leads as leads_db
from chalicelib.db import schedule as schedule_db
from chalicelib.db import tenants as tenants_db
from chalicelib.db import transactions
from chalicelib.db import users as users_db
from chalicelib.db.leads import DuplicatePhoneError, OwnerCapError
from chalicelib.domain import clock, ids, leads, phones, programmes, retry
from chalicelib.domain import config as tenant_config
from chalicelib.domain.api_keys import PublicCaller
from chalicelib.domain.tenants import DUTY_ROLES, get_tenant
from chalicelib.errors import ConflictError, ValidationFailedError
from chalicelib.observability import logger
from chalicelib.schemas.common import Page
from chalicelib.schemas.leads import Guardian, HistoryEntry, Lead, Phone
from chalicelib.schemas.programmes import PublicCohort
from chalicelib.schemas.settings import DictionaryKind
from chalicelib.schemas.users import Role, UserRecord
from chalicelib.schemas.website import ApplicationReceipt, ApplicationRequest, PublicCohortQuery

SOURCE = "website"  # 官网, a default lead source
CREATED_BY = "website"
TRIES = 3


def open_cohorts(caller: PublicCaller, query: PublicCohortQuery) -> Page[PublicCohort]:
    """The school's open cohorts with seats left, every campus (each says which)."""
    return programmes.open_cohorts(caller.tenant, query.programme_id, query.limit, query.cursor)


def _cohort(caller: PublicCaller, cohort_id: str) -> PublicCohort:
    """The cohort an application names: it must be open (the website may show a stale list)."""
    cohort = programmes.cohort_for_application(caller.tenant, cohort_id)
    if cohort is None or cohort.status != "open":
        raise ValidationFailedError(
            "That class is not open for applications any more; please choose another.",
            code="COHORT_NOT_OPEN",
            details=[{"field": "cohort_id", "message": "not an open cohort"}],
        )
    return cohort


def apply(caller: PublicCaller, request: ApplicationRequest) -> ApplicationReceipt:
    """Takes an application: a new lead, or a note on the lead that already has the phone."""
    if request.website:  # the honeypot: people never see it, so never fill it
        logger.info("honeypot filled", extra={"tenant": caller.tenant, "key": caller.key_id})
        return ApplicationReceipt()
    if not request.consent:
        raise ValidationFailedError(
            "Please agree to be contacted.",
            code="CONSENT_REQUIRED",
            details=[{"field": "consent", "message": "must be true"}],
        )
    tenant = get_tenant(caller.tenant)
    e164 = phones.normalise(request.phone, tenant.phone_region, field="phone")
    cohort = _cohort(caller, request.cohort_id) if request.cohort_id else None
    details: dict[str, Any] = {
        "via": "website",
        "key_id": caller.key_id,
        "learner_name": request.learner_name,
        "guardian_name": request.guardian_name,
        "programme": cohort.programme_name if cohort else request.programme,
        "cohort_id": request.cohort_id,
        "cohort": cohort.name if cohort else None,
        "message": request.message,
    }
    for attempt in range(TRIES):
        claim = leads_db.phone_claim(caller.tenant, e164)
        if claim is not None and claim.lead_ids:
            _applied_again(caller.tenant, claim.lead_ids[0], details)
            return ApplicationReceipt()
        try:
            _new_lead(caller, tenant.timezone, request, Phone(e164=e164), details, cohort)
            return ApplicationReceipt()
        except (DuplicatePhoneError, transactions.TransactionBusy):  # the same form sent twice at once
            retry.pause(attempt)  # then the other one's lead is there to be found
    raise ConflictError("The form was sent twice at the same moment; please send it again.", code="TRY_AGAIN")


def _new_lead(
    caller: PublicCaller,
    timezone: str,
    request: ApplicationRequest,
    phone: Phone,
    details: dict[str, Any],
    cohort: PublicCohort | None,
) -> None:
    """A new lead at the cohort's campus (else the key's), with the campus's duty consultant."""
    campus_id = cohort.campus_id if cohort else caller.campus_id
    courses = [cohort.programme_name, cohort.name] if cohort else [request.programme] if request.programme else []
    config = tenant_config.load(caller.tenant)
    source = config.entry(DictionaryKind.sources, SOURCE)
    values = {"status": "potential", "source": SOURCE if source is not None and not source.retired else None}
    used = tenant_config.check_lead_values(config, values, {})
    duty = _duty_consultant(caller.tenant, campus_id)
    now = clock.now()
    lead_id = ids.new_id()
    lead = Lead(
        id=lead_id,
        name=request.learner_name,
        birthday=request.birthday,
        notes=request.message,
        guardians=[Guardian(name=request.guardian_name, phones=[phone], email=request.email)],
        family_id=lead_id,
        campus_id=campus_id,
        intended_courses=courses,
        created_by=CREATED_BY,
        created_at=now,
        updated_at=now,
        **values,
    )

    def write(candidate: Lead) -> Lead:
        entry = HistoryEntry(at=now, by=None, action="created", details={"owner_id": candidate.owner_id, **details})
        return leads.write_new_lead(caller.tenant, candidate, entry, config, timezone, used=used)

    try:
        if duty is None:
            stored = write(lead)
        else:
            update = {"owner_id": duty.id, "owner_name": duty.display_name, "owned_since": now}
            stored = write(lead.model_copy(update=update))
    except OwnerCapError:  # the duty consultant holds all the leads they may: the pool takes it
        stored = write(lead)
    if stored.owner_id:
        message = f"官网报名：新线索「{stored.name}」已分配给您，请尽快联系。"
        _notify(caller.tenant, [stored.owner_id], message, stored.id)
    else:
        message = f"官网报名：新线索「{stored.name}」已进入公海，请安排跟进。"
        _notify(caller.tenant, _managers(caller.tenant, stored.campus_id), message, stored.id)


def _applied_again(tenant: str, lead_id: str, details: dict[str, Any]) -> None:
    """The phone's lead gets the application in its history; whoever looks after it is told."""
    lead = leads_db.get(tenant, lead_id)
    if lead is None:
        return
    entry = HistoryEntry(at=clock.now(), by=None, action="applied_online", details=details)
    leads_db.add_history(tenant, lead.id, entry, ids.new_id())
    message = f"官网报名：已有线索「{lead.name}」再次在官网提交了报名，请跟进。"
    if lead.owner_id and lead.deleted_at is None:
        _notify(tenant, [lead.owner_id], message, lead.id)
        return
    duty = _duty_consultant(tenant, lead.campus_id) if lead.deleted_at is None else None
    _notify(tenant, [duty.id] if duty else _managers(tenant, lead.campus_id), message, lead.id)


def _duty_consultant(tenant: str, campus_id: str) -> UserRecord | None:
    """The campus's duty consultant (值班顾问) while they can take leads there, else None."""
    campus = tenants_db.get_campus(tenant, campus_id)
    if campus is None or not campus.duty_consultant_id:
        return None
    user = users_db.get(tenant, campus.duty_consultant_id)
    if user is None or not user.active or user.role not in DUTY_ROLES or campus_id not in user.campus_ids:
        return None
    return user


def _managers(tenant: str, campus_id: str) -> list[str]:
    """The campus's active managers (店长): one Query of the school's staff."""
    return [u.id for u in users_db.active_records(tenant) if u.role is Role.manager and campus_id in u.campus_ids]


def _notify(tenant: str, user_ids: list[str], message: str, lead_id: str) -> None:
    at = clock.iso(clock.now())
    for user_id in dict.fromkeys(user_ids):
        schedule_db.notify(tenant, user_id, ids.new_id(), message, lead_id, at)
