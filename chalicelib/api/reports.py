"""Reports (查询统计), the operation audit (系统操作历史), frozen accounts (智能预警), usage."""

from __future__ import annotations

from collections.abc import Sequence

from chalice import Blueprint, Response
from pydantic import BaseModel

from chalicelib import sheets
from chalicelib.api.routing import Call, attachment, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.common import Page
from chalicelib.schemas.reports import (
    AuditEntry,
    AuditQuery,
    BreakdownQuery,
    BreakdownReport,
    ConsultantsReport,
    FinanceReport,
    Funnel,
    ReferralsQuery,
    ReferralsReport,
    ReportQuery,
    SourcesReport,
    UnfreezeRequest,
    Usage,
    UsageQuery,
)
from chalicelib.schemas.settings import SecuritySettings, SecuritySettingsPatch
from chalicelib.schemas.users import Role, User

bp = Blueprint(__name__)
# the reports' other answers: ?format=html, ?format=xlsx
XLSX_CONTENT = ["text/html", sheets.XLSX]
# the columns of the reports' workbooks (?format=xlsx): (field, header)
CONSULTANT_COLUMNS = [
    ("name", "顾问 consultant"),
    ("new_leads", "新增 new leads"),
    ("follow_ups", "跟进 follow-ups"),
    ("visits_arrived", "到访 visits"),
    ("trials_arrived", "试听 trials"),
    ("conversions", "签约 signed"),
    ("conversion_rate", "转化率 conversion rate"),
    ("cycle_days_average", "平均周期(天) average cycle (days)"),
    ("contract_value", "签约金额 contract value"),
]
SOURCE_COLUMNS = [
    ("new_leads", "新增线索 new leads"),
    ("conversions", "签约 signed"),
    ("conversion_rate", "转化率 conversion rate"),
    ("cycle_days_average", "平均周期(天) average cycle (days)"),
]
FINANCE_COLUMNS = [
    ("period", "日期 date"),
    ("revenue", "收款 revenue"),
    ("payments", "笔数 payments"),
    ("refunds", "退款 refunds"),
    ("refund_count", "退款笔数 refunds (count)"),
]
REFERRER_COLUMNS = [
    ("name", "推荐人 referrer"),
    ("kind", "类型 kind"),
    ("referrals", "转介绍 referred"),
    ("conversions", "签约 signed"),
    ("amount", "签约金额 amount signed"),
]
BREAKDOWN_COLUMNS = [
    ("key", "键 key"),
    ("leads", "线索 leads"),
    ("members", "会员 members"),
    ("retired", "已停用 retired"),
]
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
    also_content=XLSX_CONTENT,
)
def funnel(call: Call[None, ReportQuery]) -> Funnel | Response:
    from chalicelib.domain import reports
    from chalicelib.rendering import render

    report = reports.funnel(call.principal, call.query)
    if call.query.format == "html":
        page = render("report_funnel.html", report=report)
        return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
    if call.query.format == "xlsx":
        stages = [
            ("新增线索 new leads", report.new_leads),
            ("到访 visits", report.visits.arrived),
            ("试听 trials", report.trials.arrived),
            ("签约 signed", report.conversions),
            ("跟进 follow-ups", report.follow_ups),
            ("签约金额 contract value", report.contract_value),
            ("收入 revenue", report.revenue),
            ("退费 refunds", report.refunds),
        ]
        return _sheet("funnel", report, [("stage", "阶段 stage"), ("value", "数量 figure")], stages)
    return report


def _page(
    title: str,
    columns: list[tuple[str, str]],
    rows: list,
    chart: str,
    summary: tuple[list[tuple[str, str]], list[dict[str, object]]] | None = None,
) -> Response:
    """A report as a printable page: its bars, its table, and optionally a summary table
    (its columns and rows) above them."""
    from chalicelib.rendering import render

    data = [row.model_dump() for row in rows]
    html = render("report_table.html", title=title, columns=columns, rows=data, chart=chart, summary=summary)
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


def _sheet(
    name: str,
    report: Funnel | ConsultantsReport | SourcesReport | FinanceReport | ReferralsReport | BreakdownReport,
    columns: list[tuple[str, str]],
    rows: Sequence[BaseModel | tuple[str, object]],
) -> Response:
    """The report's table as an .xlsx (every cell data, never a formula: sheets.safe), named
    for the report and its period. `rows`: models (their fields by column) or value tuples."""
    header = [label for _, label in columns]
    values = [
        row if isinstance(row, tuple) else [row.model_dump(mode="json").get(key) for key, _ in columns] for row in rows
    ]
    body = sheets.xlsx(name, header, values, widths=[24] + [14] * (len(header) - 1))
    return attachment(body, sheets.XLSX, f"{name}-{report.from_}-{report.to}.xlsx")


@endpoint(
    bp,
    "GET",
    "/reports/consultants",
    summary="Each consultant's follow-ups, visits, trials, conversions and cycle (顾问销售效率)",
    tags=["reports"],
    query=ReportQuery,
    response=ConsultantsReport,
    also_content=XLSX_CONTENT,
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
    if call.query.format == "xlsx":
        return _sheet("consultants", report, CONSULTANT_COLUMNS, report.items)
    return report


@endpoint(
    bp,
    "GET",
    "/reports/sources",
    summary="Channel analysis (渠道分析): leads and conversions by source",
    tags=["reports"],
    query=ReportQuery,
    response=SourcesReport,
    also_content=XLSX_CONTENT,
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
    if call.query.format == "xlsx":
        return _sheet("sources", report, [("label", "渠道 source"), *SOURCE_COLUMNS], report.items)
    return report


@endpoint(
    bp,
    "GET",
    "/reports/breakdown",
    summary="Leads and members by a list field (七要素统计): source, status, importance, stage or a custom list field",
    tags=["reports"],
    query=BreakdownQuery,
    response=BreakdownReport,
    also_content=XLSX_CONTENT,
)
def breakdown(call: Call[None, BreakdownQuery]) -> BreakdownReport | Response:
    from chalicelib.domain import reports

    report = reports.breakdown(call.principal, call.query)
    rows = [row.model_copy(update={"label": row.label or row.key}) for row in report.items]
    if call.query.format == "html":
        rows = [r.model_copy(update={"label": f"{r.label}（已停用）"}) if r.retired else r for r in rows]
        columns = [("label", report.label), ("leads", "线索"), ("members", "会员")]
        return _page(f"{report.label}统计 {report.from_} – {report.to}", columns, rows, "leads")
    if call.query.format == "xlsx":
        columns = [("label", f"{report.label} {report.field}"), *BREAKDOWN_COLUMNS]
        return _sheet(f"breakdown-{report.field}", report, columns, rows)
    return report


@endpoint(
    bp,
    "GET",
    "/reports/referrals",
    summary="Referrals (转介绍): the ranking of referrers (leads and staff), the leads each referred, "
    "how many signed and the money they signed",
    tags=["reports"],
    query=ReferralsQuery,
    response=ReferralsReport,
    also_content=XLSX_CONTENT,
    reads_customers=True,
)
def referrals(call: Call[None, ReferralsQuery]) -> ReferralsReport | Response:
    from chalicelib.domain import reports

    report = reports.referrals(call.principal, call.query)
    if call.query.format == "html":
        columns = [("name", "推荐人"), ("referrals", "转介绍"), ("conversions", "签约"), ("amount", "签约金额")]
        return _page(f"转介绍排行 {report.from_} – {report.to}", columns, report.items, "referrals")
    if call.query.format == "xlsx":
        return _sheet("referrals", report, REFERRER_COLUMNS, report.items)
    return report


@endpoint(
    bp,
    "GET",
    "/reports/finance",
    summary="Receipts and refunds by period (the payments themselves: GET /payments)",
    tags=["reports"],
    query=ReportQuery,
    response=FinanceReport,
    also_content=XLSX_CONTENT,
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
        title = f"收支 {report.from_} – {report.to}：净收 ¥{report.net}"
        return _page(title, columns, report.periods, "revenue", summary=_finance_summary(report))
    if call.query.format == "xlsx":
        return _sheet("finance", report, FINANCE_COLUMNS, report.periods)
    return report


def _finance_summary(report: FinanceReport) -> tuple[list[tuple[str, str]], list[dict[str, object]]]:
    """本期 against 上期 (环比) and 去年同期 (同比), for the finance report's page."""

    def rate(value: float | None) -> str:
        return "–" if value is None else f"{value:+.1%}"

    columns = [
        ("name", "期间"),
        ("dates", "日期"),
        ("revenue", "收款"),
        ("net", "净收"),
        ("revenue_change", "本期收款比之"),
        ("net_change", "本期净收比之"),
    ]
    rows: list[dict[str, object]] = [
        {"name": "本期", "dates": f"{report.from_} – {report.to}", "revenue": report.revenue, "net": report.net}
    ]
    for name, other in (("上期（环比）", report.previous), ("去年同期（同比）", report.last_year)):
        rows.append(
            {
                "name": name,
                "dates": f"{other.from_} – {other.to}",
                "revenue": other.revenue,
                "net": other.net,
                "revenue_change": f"{other.revenue_change}（{rate(other.revenue_change_rate)}）",
                "net_change": f"{other.net_change}（{rate(other.net_change_rate)}）",
            }
        )
    return columns, rows


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
    summary="Accounts frozen by anti-scraping (a manager: their campuses' staff)",
    tags=["audit"],
    roles_allowed=roles.UNFREEZE_ACCOUNTS,
    response=Page[User],
)
def frozen_users(call: Call[None, None]) -> Page[User]:
    from chalicelib.domain import audit

    return audit.frozen_users(call.principal)


@endpoint(
    bp,
    "POST",
    "/admin/users/{user_id}/unfreeze",
    summary="Unfreeze an account (audited; a manager: their campuses' staff)",
    tags=["audit"],
    roles_allowed=roles.UNFREEZE_ACCOUNTS,
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
