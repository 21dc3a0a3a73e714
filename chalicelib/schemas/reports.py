"""Reports (查询统计) answered from the stream's aggregates; the audit; usage."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from chalicelib.schemas.common import DecimalText, Entity, PageQuery, StrictModel
from chalicelib.schemas.receivables import Ageing


class ReportQuery(StrictModel):
    """Without `from` and `to`: the current month so far (the 1st .. today, school time).
    Only `from`: up to today (whole months to the end of this one past 62 days, at most a
    year). Only `to`: from the 1st of its month. The answer says the period it covers."""

    from_: date | None = Field(
        default=None, alias="from", description="Default: the 1st of to's month (of this month without to)"
    )
    to: date | None = Field(default=None, description="Default: today (school time)")
    campus: str | None = Field(default=None, max_length=40)
    format: Literal["json", "html", "xlsx"] = Field(
        default="json",
        description="json; html: a printable page with its chart; xlsx: the report's table as a workbook",
    )

    @model_validator(mode="after")
    def _range(self) -> ReportQuery:
        if self.from_ and self.to and (self.to - self.from_).days > 366:  # backwards: StrictModel's refusal
            raise ValueError("to: at most a year after from")
        return self


class _Period(Entity):
    """A report of a period: its field `from_` is "from" in JSON, read and written (a
    generated client never sees `from_`)."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)


class Attendance(Entity):
    booked: int = 0
    arrived: int = 0
    no_show: int = 0


class Funnel(_Period):
    """The sales funnel of a period: leads in, contacts, visits and trials, conversions, money."""

    from_: date = Field(alias="from")  # "from" in JSON, both ways
    to: date
    campus: str | None = None
    new_leads: int = 0
    follow_ups: int = 0
    follow_ups_by_method: dict[str, int] = Field(default_factory=dict)
    visits: Attendance
    trials: Attendance
    events: Attendance
    conversions: int = 0
    conversion_rate: float | None = Field(default=None, description="conversions / new leads")
    cycle_days_average: float | None = Field(default=None, description="转化周期: days from lead to contract")
    cycle_days: dict[str, int] = Field(default_factory=dict, description="How many converted within 0-7, 8-30, ...")
    contracts: int = 0
    contract_value: DecimalText = "0.00"
    revenue: DecimalText = "0.00"
    refunds: DecimalText = "0.00"
    credits_consumed: DecimalText = "0.00"
    daily: list[dict[str, Any]] = Field(default_factory=list, description="Per day (or month): new leads, conversions")


class ConsultantRow(Entity):
    user_id: str
    name: str | None = None
    campus_id: str
    new_leads: int = 0
    follow_ups: int = 0
    visits_arrived: int = 0
    trials_arrived: int = 0
    conversions: int = 0
    conversion_rate: float | None = None
    cycle_days_average: float | None = None
    contracts: int = 0
    contract_value: DecimalText = "0.00"


class ConsultantsReport(_Period):
    from_: date = Field(alias="from")  # "from" in JSON, both ways
    to: date
    campus: str | None = None
    items: list[ConsultantRow]


class ReferralsQuery(ReportQuery):
    limit: int = Field(default=20, ge=1, le=100, description="How many referrers the ranking lists")
    sort: Literal["referred", "signed", "amount"] = Field(
        default="signed",
        description="The ranking's order: most signed (then most referred, then most money; the default), "
        "most referred (then signed, money) or most money signed (then signed, referred)",
    )


class ReferrerRow(Entity):
    kind: Literal["lead", "staff"] = Field(default="lead", description="A lead (a parent) or a member of staff")
    lead_id: str | None = Field(default=None, description="The referring lead (kind lead)")
    user_id: str | None = Field(default=None, description="The referring member of staff (kind staff)")
    name: str | None = Field(default=None, description="null: a referrer of a campus the caller does not see")
    campus_id: str | None = Field(default=None, description="The referring lead's campus (kind lead)")
    referrals: int = Field(default=0, description="Leads it referred, made in the period")
    conversions: int = Field(default=0, description="Referred leads that signed in the period")
    amount: DecimalText = Field(
        default="0.00",
        description="Money signed in the period by the leads it referred: the net price (price less discount) "
        "of their contracts signed in it, less those voided since; a contract of several learners counts "
        "each learner's even share",
    )


class ReferralsReport(_Period):
    from_: date = Field(alias="from")  # "from" in JSON, both ways
    to: date
    campus: str | None = None
    referrers: int = Field(description="Referrers with a referral, a signing or money signed in the period")
    referrals: int
    conversions: int
    amount: DecimalText = Field(default="0.00", description="Money signed by referred leads in the period")
    items: list[ReferrerRow] = Field(description="The ranking (金牌榜), in the order `sort` asked for")


class SourceRow(Entity):
    source: str
    label: str | None = None
    new_leads: int = 0
    conversions: int = 0
    conversion_rate: float | None = None
    cycle_days_average: float | None = None


class SourcesReport(_Period):
    """渠道分析: which channels bring leads, and which of them sign."""

    from_: date = Field(alias="from")  # "from" in JSON, both ways
    to: date
    campus: str | None = None
    items: list[SourceRow]


class BreakdownQuery(ReportQuery):
    field: str = Field(
        pattern=r"^[a-z][a-z0-9_]{1,31}$",
        description="A list field: source, status, importance, stage, or a custom lead field of type list",
        examples=["source"],
    )


class BreakdownRow(Entity):
    key: str = Field(description="The list entry's key")
    label: str | None = Field(default=None, description="null: a value no longer in the list")
    retired: bool = Field(default=False, description="A retired entry (listed only when it has figures)")
    leads: int = Field(default=0, description="Leads made in the period with this value now")
    members: int = Field(default=0, description="Leads that signed in the period, with this value now")


class BreakdownReport(_Period):
    """Leads and members by a list field (七要素统计: source, status, occupation, ...), by
    each lead's current value."""

    from_: date = Field(alias="from")  # "from" in JSON, both ways
    to: date
    campus: str | None = None
    field: str
    label: str = Field(description="The field's name as the school shows it")
    leads: int = Field(description="Leads made in the period with a value of the field")
    members: int = Field(description="Leads that signed in the period with a value of the field")
    items: list[BreakdownRow] = Field(description="Every entry of the list, most leads first")


class FinancePeriod(Entity):
    period: str
    revenue: DecimalText = "0.00"
    payments: int = 0
    refunds: DecimalText = "0.00"
    refund_count: int = 0


class FinanceComparison(_Period):
    """Another period's totals beside the report's own, and how the report's period differs
    from it (this period minus that one)."""

    from_: date = Field(alias="from")  # "from" in JSON, both ways
    to: date
    revenue: DecimalText
    payments: int = 0
    refunds: DecimalText
    refund_count: int = 0
    net: DecimalText
    revenue_change: DecimalText = Field(description="The report's revenue minus this period's")
    revenue_change_rate: float | None = Field(
        default=None, description="revenue_change / this period's revenue (0.25: 25% more); null when it was 0"
    )
    net_change: DecimalText = Field(description="The report's net minus this period's")
    net_change_rate: float | None = Field(
        default=None, description="net_change / |this period's net|; null when it was 0"
    )


class FinanceReport(_Period):
    """Receipts and refunds by day (or month), against the previous period and the same
    period a year earlier; the payments themselves: GET /payments."""

    from_: date = Field(alias="from")  # "from" in JSON, both ways
    to: date
    campus: str | None = None
    revenue: DecimalText
    payments: int = 0
    refunds: DecimalText
    refund_count: int = 0
    net: DecimalText
    periods: list[FinancePeriod]
    previous: FinanceComparison = Field(
        description="The period just before (环比): the same months before when `from` is the 1st of a month "
        "(March 1-15 against February 1-15, a quarter against the quarter before), else as many days just before"
    )
    last_year: FinanceComparison = Field(
        description="The same period a year earlier (同比); a month's end stays a month's end (29 Feb: 28 Feb)"
    )
    ageing: Ageing = Field(
        description="账龄: what is owed as of today (the school's date), not yet due and by days overdue; "
        "the receivables themselves: GET /receivables"
    )


class AuditQuery(PageQuery):
    user: str | None = Field(default=None, max_length=40)
    lead: str | None = Field(default=None, max_length=40)
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class AuditEntry(Entity):
    id: str
    at: datetime
    action: str = Field(examples=["read", "write", "sign_in", "sign_in_failed", "freeze", "unfreeze"])
    user_id: str | None = None
    username: str | None = None
    role: str | None = None
    method: str | None = None
    route: str | None = Field(default=None, examples=["/leads/{lead_id}"])
    params: dict[str, str] = Field(default_factory=dict, description="The ids in the path")
    lead_id: str | None = None
    status: int | None = None
    ip: str | None = None
    user_agent: str | None = None
    weight: int = Field(default=0, description="What it counted for anti-scraping")
    details: str | None = None


class UnfreezeRequest(StrictModel):
    reason: str = Field(min_length=1, max_length=500)


class UsageQuery(StrictModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])


class Usage(Entity):
    tenant: str
    month: str
    api_requests: int = 0
    sms: int = 0
    sms_segments: int = 0
    emails: int = 0
    active_leads: int = Field(default=0, description="Leads alive at the month's end (changes summed since the start)")
