from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import sheets
from chalicelib.api.routing import Call, attachment, endpoint
from chalicelib.domain import clock, roles
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.imports import ImportOut, ImportQuery, TemplateQuery
from chalicelib.schemas.leads import (
    AssignRequest,
    HistoryEntry,
    LeadCreateRequest,
    LeadDetail,
    LeadExportQuery,
    LeadGetQuery,
    LeadListQuery,
    LeadOut,
    LeadPatchRequest,
    RevealPhoneResponse,
)
from chalicelib.schemas.privacy import EraseRequest, ErasureOut, LeadExport, SubjectExportQuery
from chalicelib.schemas.schedule import Appointment
from chalicelib.schemas.settings import AssessmentAnswerRequest, AssessmentResult

bp = Blueprint(__name__)
TAGS = ["leads"]


@endpoint(
    bp,
    "POST",
    "/leads",
    summary="Add a lead (潜在客户)",
    tags=TAGS,
    body=LeadCreateRequest,
    response=LeadOut,
    status=201,
)
def create_lead(call: Call[LeadCreateRequest, None]) -> LeadOut:
    from chalicelib.domain import leads

    return leads.create_lead(call.principal, call.body)


@endpoint(
    bp,
    "GET",
    "/leads",
    summary="Leads you may see, filtered, newest or next-follow-up first",
    tags=TAGS,
    query=LeadListQuery,
    response=Page[LeadOut],
    reads_customers=True,
)
def list_leads(call: Call[None, LeadListQuery]) -> Page[LeadOut]:
    from chalicelib.domain import leads

    return leads.list_leads(call.principal, call.query)


@endpoint(
    bp,
    "GET",
    "/leads/export",
    summary="Export the leads a filter finds (导出), .xlsx or .csv; audited, heavy for anti-scraping",
    tags=TAGS,
    query=LeadExportQuery,
    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    also_content=["text/csv"],
    reads_customers=True,
)
def export_leads(call: Call[None, LeadExportQuery]) -> Response:
    from chalicelib.domain import audit, exports

    data = exports.rows(call.principal, call.query)
    audit.check_bulk(len(data), call.reads_left)  # refused whole when it does not fit the read window
    call.records = len(data)
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    body: str | bytes
    if call.query.format == "csv":
        body, kind = exports.as_csv(data), "text/csv; charset=utf-8"
    else:
        body, kind = exports.as_xlsx(data), sheets.XLSX
    return attachment(body, kind, f"leads-{stamp}.{call.query.format}")


def _xlsx(body: bytes, filename: str) -> Response:
    return attachment(body, sheets.XLSX, filename)


@endpoint(
    bp,
    "GET",
    "/leads/import-template",
    summary="The import template (批量导入模板): columns, an example row, the school's choices",
    tags=TAGS,
    query=TemplateQuery,
    content_type=sheets.XLSX,
)
def import_template(call: Call[None, TemplateQuery]) -> Response:
    from chalicelib.domain import imports

    return _xlsx(imports.template(call.principal, call.query.lang), f"leads-import-{call.query.lang}.xlsx")


@endpoint(
    bp,
    "POST",
    "/leads/imports",
    summary="Import leads (批量导入) from an .xlsx or .csv (UTF-8 or GBK) sent as the body",
    tags=TAGS,
    query=ImportQuery,
    response=ImportOut,
    status=201,
    uploads=[sheets.XLSX, "application/octet-stream"],
)
def start_import(call: Call[None, ImportQuery]) -> ImportOut:
    from chalicelib.domain import imports

    return imports.start(call.principal, call.query, call.upload)


@endpoint(
    bp,
    "GET",
    "/leads/imports",
    summary="Imports of your campuses, newest first",
    tags=TAGS,
    query=PageQuery,
    response=Page[ImportOut],
)
def list_imports(call: Call[None, PageQuery]) -> Page[ImportOut]:
    from chalicelib.domain import imports

    return imports.list_imports(call.principal, call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "GET",
    "/leads/imports/{import_id}",
    summary="An import: queued, running, or done with its counts",
    tags=TAGS,
    response=ImportOut,
)
def get_import(call: Call[None, None]) -> ImportOut:
    from chalicelib.domain import imports

    return imports.get(call.principal, call.params["import_id"])


@endpoint(
    bp,
    "GET",
    "/leads/imports/{import_id}/errors",
    summary="The rejected rows of an import, each with its reason (.xlsx)",
    tags=TAGS,
    content_type=sheets.XLSX,
    reads_customers=True,
)
def import_errors(call: Call[None, None]) -> Response:
    from chalicelib.domain import audit, imports

    counts = imports.get(call.principal, call.params["import_id"]).counts
    call.records = counts.rejected if counts else 0
    audit.check_bulk(call.records, call.reads_left)  # the rejected rows: names and phones
    return _xlsx(
        imports.error_sheet(call.principal, call.params["import_id"]), f"import-{call.params['import_id']}-errors.xlsx"
    )


@endpoint(
    bp,
    "GET",
    "/leads/recycle-bin",
    summary="Deleted leads (回收站)",
    tags=TAGS,
    roles_allowed=roles.DELETE_LEADS,
    query=PageQuery,
    response=Page[LeadOut],
    reads_customers=True,
)
def list_deleted_leads(call: Call[None, PageQuery]) -> Page[LeadOut]:
    from chalicelib.domain import leads

    return leads.list_recycle_bin(call.principal, call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "GET",
    "/leads/{lead_id}",
    summary="A lead with its history, siblings and referrals (?format=html: the printable customer record)",
    tags=TAGS,
    query=LeadGetQuery,
    response=LeadDetail,
    content_type="application/json",
    also_content=["text/html"],
    reads_customers=True,
)
def get_lead(call: Call[None, LeadGetQuery]) -> LeadDetail | Response:
    """`format=html`: the printable customer record (客户档案), for whoever may open the lead's
    page: details and guardians (phones masked), contracts, cards with their balances, the
    latest 200 follow-ups (the page says when there are more), A4 print styles. Like the JSON
    it weighs one record for anti-scraping."""
    from chalicelib.domain import leads

    if call.query.format == "html":
        from chalicelib.domain.leads import printing
        from chalicelib.rendering import render

        page = render("lead_record.html", **printing.record(call.principal, call.params["lead_id"]))
        call.records = 1  # one customer, as the JSON answer weighs
        return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
    return leads.get_lead(call.principal, call.params["lead_id"])


@endpoint(
    bp,
    "GET",
    "/leads/{lead_id}/history",
    summary="A lead's history (变更记录), newest first; the lead's page shows the latest 5",
    tags=TAGS,
    query=PageQuery,
    response=Page[HistoryEntry],
    reads_customers=True,
)
def lead_history(call: Call[None, PageQuery]) -> Page[HistoryEntry]:
    from chalicelib.domain import leads

    return leads.lead_history(call.principal, call.params["lead_id"], call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "GET",
    "/leads/{lead_id}/appointments",
    summary="A lead's visits, trials and events, the latest booked first; the lead's page shows the latest 5",
    tags=["appointments"],
    query=PageQuery,
    response=Page[Appointment],
    reads_customers=True,
)
def lead_appointments(call: Call[None, PageQuery]) -> Page[Appointment]:
    from chalicelib.domain import leads

    return leads.lead_appointments(call.principal, call.params["lead_id"], call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "PATCH",
    "/leads/{lead_id}",
    summary="Change a lead",
    tags=TAGS,
    body=LeadPatchRequest,
    response=LeadOut,
)
def patch_lead(call: Call[LeadPatchRequest, None]) -> LeadOut:
    from chalicelib.domain import leads

    return leads.patch_lead(call.principal, call.params["lead_id"], call.body)


@endpoint(
    bp,
    "DELETE",
    "/leads/{lead_id}",
    summary="Move a lead to the recycle bin",
    tags=TAGS,
    roles_allowed=roles.DELETE_LEADS,
    status=204,
)
def delete_lead(call: Call[None, None]) -> None:
    from chalicelib.domain import leads

    leads.delete_lead(call.principal, call.params["lead_id"])


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/restore",
    summary="Bring a lead back from the recycle bin",
    tags=TAGS,
    roles_allowed=roles.DELETE_LEADS,
    response=LeadOut,
)
def restore_lead(call: Call[None, None]) -> LeadOut:
    from chalicelib.domain import leads

    return leads.restore_lead(call.principal, call.params["lead_id"])


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/assign",
    summary="Give a lead to a consultant",
    tags=TAGS,
    roles_allowed=roles.ASSIGN_LEADS,
    body=AssignRequest,
    response=LeadOut,
)
def assign_lead(call: Call[AssignRequest, None]) -> LeadOut:
    from chalicelib.domain import leads

    return leads.assign(call.principal, call.params["lead_id"], call.body.owner_id)


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/claim",
    summary="Take a lead from the public pool (公海)",
    tags=TAGS,
    roles_allowed=roles.OWN_LEADS,
    response=LeadOut,
)
def claim_lead(call: Call[None, None]) -> LeadOut:
    from chalicelib.domain import leads

    return leads.claim(call.principal, call.params["lead_id"])


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/release",
    summary="Put a lead back into the public pool",
    tags=TAGS,
    roles_allowed=roles.OWN_LEADS | roles.ASSIGN_LEADS,
    response=LeadOut,
)
def release_lead(call: Call[None, None]) -> LeadOut:
    from chalicelib.domain import leads

    return leads.release(call.principal, call.params["lead_id"])


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/reveal-phone",
    summary="Show a lead's full phone numbers (recorded)",
    tags=TAGS,
    roles_allowed=roles.REVEAL_PHONES,
    response=RevealPhoneResponse,
    reads_customers=True,
)
def reveal_phone(call: Call[None, None]) -> RevealPhoneResponse:
    from chalicelib.domain import leads

    return leads.reveal_phone(call.principal, call.params["lead_id"], call.source_ip)


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/assessments",
    summary="Answer a questionnaire; may change the level",
    tags=TAGS,
    body=AssessmentAnswerRequest,
    response=AssessmentResult,
)
def answer_assessment(call: Call[AssessmentAnswerRequest, None]) -> AssessmentResult:
    from chalicelib.domain import assessments

    return assessments.answer(call.principal, call.params["lead_id"], call.body)


@endpoint(
    bp,
    "GET",
    "/leads/{lead_id}/export",
    summary="Everything held about a lead and its guardians (a data subject's copy), JSON or ?format=xlsx; audited",
    tags=["privacy"],
    roles_allowed=roles.DELETE_LEADS,
    query=SubjectExportQuery,
    response=LeadExport,
    also_content=[sheets.XLSX],
    reads_customers=True,
)
def export_lead(call: Call[None, SubjectExportQuery]) -> LeadExport | Response:
    """The lead with full phones, its history, follow-ups, plans, appointments, links, the
    messages its guardians were sent, the outbox, its contracts and cards (docs/privacy.md).
    Admins, and managers for their campuses' leads; weighs one record for anti-scraping."""
    from chalicelib.domain import privacy

    data = privacy.export(call.principal, call.params["lead_id"])
    if call.query.format == "xlsx":
        return attachment(privacy.as_xlsx(data), sheets.XLSX, f"lead-{call.params['lead_id']}.xlsx")
    return data


@endpoint(
    bp,
    "POST",
    "/leads/{lead_id}/erase",
    summary="Erase a lead's personal data (a data subject's erasure): a tombstone; money and counts stay; audited",
    tags=["privacy"],
    roles_allowed=roles.MANAGE_SETTINGS,
    body=EraseRequest,
    response=ErasureOut,
)
def erase_lead(call: Call[EraseRequest, None]) -> ErasureOut:
    """Admins. Overwrites the learner, guardians, phones, notes, follow-up texts, plans,
    appointments, the messages sent and the outbox with a tombstone, releases the phones,
    keeps status, dates, contracts, payments, cards and report figures. Idempotent: again,
    `already` is true and nothing is written."""
    from chalicelib.domain import privacy

    return privacy.erase(call.principal, call.params["lead_id"], call.body.reason)
