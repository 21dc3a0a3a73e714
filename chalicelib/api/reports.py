"""Reports (查询统计), the operation audit (系统操作历史), frozen accounts (智能预警), usage."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.common import Page
from chalicelib.schemas.reports import (
    AuditEntry,
    AuditQuery,
    ConsultantsReport,
    FinanceReport,
    Funnel,
    ReportQuery,
    SourcesReport,
    UnfreezeRequest,
    Usage,
    UsageQuery,
)
from chalicelib.schemas.settings import SecuritySettings, SecuritySettingsPatch
from chalicelib.schemas.users import Role, User

bp = Blueprint(__name__)
ADMINS = frozenset({Role.admin})


@endpoint(
    bp,
    "GET",
    "/reports/funnel",
    summary="The sales funnel of a period (?format=html draws it)",
    tags=["reports"],
    query=ReportQuery,
    response=Funnel,
    content_type="application/json",
    also_content=["text/html"],
)
def funnel(call: Call[None, ReportQuery]) -> Funnel | Response:
    from chalicelib.domain import reports
    from chalicelib.rendering import render

    report = reports.funnel(call.principal, call.query)
    if call.query.format == "html":
        page = render("report_funnel.html", report=report)
        return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
    return report


def _page(title: str, columns: list[tuple[str, str]], rows: list, chart: str) -> Response:
    from chalicelib.rendering import render

    data = [row.model_dump() for row in rows]
    html = render("report_table.html", title=title, columns=columns, rows=data, chart=chart)
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@endpoint(
    bp,
    "GET",
    "/reports/consultants",
    summary="Each consultant's follow-ups, visits, trials, conversions and cycle (顾问销售效率)",
    tags=["reports"],
    query=ReportQuery,
    response=ConsultantsReport,
    also_content=["text/html"],
)
def consultants(call: Call[None, ReportQuery]) -> ConsultantsReport | Response:
    from chalicelib.domain import reports

    report = reports.consultants(call.principal, call.query)
    if call.query.format == "html":
        columns = [
            ("name", "顾问"),
            ("new_leads", "新增"),
            ("follow_ups", "跟进"),
            ("visits_arrived", "到访"),
            ("trials_arrived", "试听"),
            ("conversions", "签约"),
            ("conversion_rate", "转化率"),
            ("cycle_days_average", "平均周期(天)"),
            ("contract_value", "签约金额"),
        ]
        return _page(f"顾问销售效率 {report.from_} – {report.to}", columns, report.items, "conversions")
    return report


@endpoint(
    bp,
    "GET",
    "/reports/sources",
    summary="Channel analysis (渠道分析): leads and conversions by source",
    tags=["reports"],
    query=ReportQuery,
    response=SourcesReport,
    also_content=["text/html"],
)
def sources(call: Call[None, ReportQuery]) -> SourcesReport | Response:
    from chalicelib.domain import reports

    report = reports.sources(call.principal, call.query)
    if call.query.format == "html":
        columns = [
            ("label", "渠道"),
            ("new_leads", "新增线索"),
            ("conversions", "签约"),
            ("conversion_rate", "转化率"),
            ("cycle_days_average", "平均周期(天)"),
        ]
        return _page(f"渠道分析 {report.from_} – {report.to}", columns, report.items, "new_leads")
    return report


@endpoint(
    bp,
    "GET",
    "/reports/finance",
    summary="Receipts and refunds by period (the payments themselves: GET /payments)",
    tags=["reports"],
    query=ReportQuery,
    response=FinanceReport,
    also_content=["text/html"],
)
def finance(call: Call[None, ReportQuery]) -> FinanceReport | Response:
    from chalicelib.domain import reports

    report = reports.finance(call.principal, call.query)
    if call.query.format == "html":
        columns = [
            ("period", "日期"),
            ("revenue", "收款"),
            ("payments", "笔数"),
            ("refunds", "退款"),
            ("refund_count", "退款笔数"),
        ]
        return _page(f"收支 {report.from_} – {report.to}：净收 ¥{report.net}", columns, report.periods, "revenue")
    return report


@endpoint(
    bp,
    "GET",
    "/audit",
    summary="Audit entries (系统操作历史), newest first, by user, lead or day",
    tags=["audit"],
    query=AuditQuery,
    response=Page[AuditEntry],
)
def audit_entries(call: Call[None, AuditQuery]) -> Page[AuditEntry]:
    from chalicelib.domain import audit

    q = call.query
    return audit.entries(
        call.principal, user=q.user, lead=q.lead, day_from=q.from_, day_to=q.to, limit=q.limit, cursor=q.cursor
    )


@endpoint(
    bp,
    "GET",
    "/admin/frozen-users",
    summary="Accounts frozen by anti-scraping",
    tags=["audit"],
    roles_allowed=ADMINS,
    response=Page[User],
)
def frozen_users(call: Call[None, None]) -> Page[User]:
    from chalicelib.domain import audit

    return audit.frozen_users(call.principal)


@endpoint(
    bp,
    "POST",
    "/admin/users/{user_id}/unfreeze",
    summary="Unfreeze an account (audited)",
    tags=["audit"],
    roles_allowed=ADMINS,
    body=UnfreezeRequest,
    response=User,
)
def unfreeze(call: Call[UnfreezeRequest, None]) -> User:
    from chalicelib.domain import audit

    record = audit.unfreeze(call.principal.tenant, call.params["user_id"], call.body.reason, by=call.principal)
    return User.model_validate(record.model_dump())


@endpoint(
    bp,
    "GET",
    "/usage",
    summary="This school's usage of a month (pay per use)",
    tags=["audit"],
    roles_allowed=ADMINS,
    query=UsageQuery,
    response=Usage,
)
def usage(call: Call[None, UsageQuery]) -> Usage:
    from chalicelib.domain import reports

    return reports.usage(call.principal.tenant, call.query.month)


@endpoint(
    bp,
    "GET",
    "/settings/security",
    summary="Anti-scraping thresholds, audit retention",
    tags=["settings"],
    roles_allowed=ADMINS,
    response=SecuritySettings,
)
def get_security(call: Call[None, None]) -> SecuritySettings:
    from chalicelib.domain import config

    return config.get_security_settings(call.principal.tenant)


@endpoint(
    bp,
    "PATCH",
    "/settings/security",
    summary="Change the anti-scraping thresholds or the audit retention",
    tags=["settings"],
    roles_allowed=roles.MANAGE_SETTINGS,
    body=SecuritySettingsPatch,
    response=SecuritySettings,
)
def patch_security(call: Call[SecuritySettingsPatch, None]) -> SecuritySettings:
    from chalicelib.domain import config

    return config.patch_security_settings(call.principal.tenant, call.body)
