"""Templates (短信模板/邮件模板), messages and their send records (发送记录), the outbox,
and the messaging settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from chalicelib.schemas.common import Entity, PageQuery, StrictModel
from chalicelib.schemas.leads import LeadListQuery

Channel = Literal["sms", "email"]
Purpose = Literal["marketing", "notice"]
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
TEMPLATE_KINDS = Literal[
    "general",
    "birthday",
    "holiday",
    "reminder",
    "digest",
    "card_alert",
    "reclaim",
    "receivable_due",
    "receivable_overdue",
]


class TemplateRequest(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    channel: Channel
    kind: TEMPLATE_KINDS = Field(default="general", description="What the system uses it for")
    subject: str | None = Field(default=None, max_length=200, description="E-mail only")
    body: str = Field(
        min_length=1,
        max_length=2000,
        examples=[
            "{{ guardian.name }}您好，{{ learner.name }}的体验课在{{ appointment.time }}，地址：{{ campus.address }}"
        ],
    )


class Template(Entity):
    id: str
    name: str
    channel: Channel
    kind: str
    subject: str | None = None
    body: str
    variables: list[str] = Field(default_factory=list, description="The variables it uses")
    sample: str = Field(description="Rendered against sample data")
    segments: int = Field(description="SMS segments of the sample (what one costs)")
    created_at: datetime
    updated_at: datetime


class TemplateVariable(Entity):
    path: str = Field(description="What a template writes between {{ }}", examples=["learner.name"])
    variable: str = Field(description="The variable it belongs to", examples=["learner"])
    sample: str = Field(description="Its value in the sample data", examples=["王小明"])


class TemplateVariables(Entity):
    items: list[TemplateVariable] = Field(description="Every field a template may use, variable by variable")


class TemplatePreviewRequest(StrictModel):
    channel: Channel
    subject: str | None = Field(default=None, max_length=200, description="E-mail only")
    body: str = Field(min_length=1, max_length=2000, examples=["{{ learner.name }}家长您好"])


class TemplatePreview(Entity):
    text: str = Field(description="The body rendered on the sample data, as a send would")
    subject: str | None = Field(default=None, description="The subject rendered on the sample data")
    segments: int = Field(description="SMS segments of the rendering (0 for e-mail)")
    characters: int = Field(description="Characters of the rendering")
    variables: list[str] = Field(description="The variables it uses")


class Recipients(StrictModel):
    """Exactly one way of naming who receives a message."""

    lead_ids: list[str] | None = Field(default=None, max_length=1000, description="Leads picked by hand (批量勾选)")
    filter: LeadListQuery | None = Field(default=None, description="The filter GET /leads takes (按条件检索)")
    phones: list[str] | None = Field(default=None, max_length=1000, description="Typed numbers (通用短信)")
    emails: list[str] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _one(self) -> Recipients:
        given = [k for k in ("lead_ids", "filter", "phones", "emails") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("recipients: give exactly one of lead_ids, filter, phones, emails")
        return self


class MessageRequest(StrictModel):
    channel: Channel
    purpose: Purpose = Field(default="marketing", description="Marketing counts against the daily cap")
    template_id: str | None = Field(default=None, max_length=40)
    text: str | None = Field(default=None, min_length=1, max_length=2000, description="Free text (a template itself)")
    subject: str | None = Field(default=None, max_length=200)
    recipients: Recipients
    send_at: datetime | None = Field(default=None, description="定时发送; without an offset: the school's time")

    @model_validator(mode="after")
    def _content(self) -> MessageRequest:
        if (self.template_id is None) == (self.text is None):
            raise ValueError("text: give a template_id or a text, not both")
        if self.recipients.emails is not None and self.channel != "email":
            raise ValueError("recipients: e-mail addresses need channel email")
        if self.recipients.phones is not None and self.channel != "sms":
            raise ValueError("recipients: phone numbers need channel sms")
        return self


class MessageQuery(StrictModel):
    dry_run: bool = False


class RecipientOut(Entity):
    n: int
    lead_id: str | None = None
    name: str | None = None
    to: str | None = Field(default=None, description="Masked phone or e-mail")
    status: Literal["queued", "sending", "sent", "failed", "skipped"]
    reason: str | None = None
    segments: int = 0
    attempts: int = 0
    sent_at: datetime | None = None
    text: str | None = Field(default=None, description="Its own rendering (每一条短信都是唯一)")


class Message(Entity):
    id: str
    channel: Channel
    purpose: str
    template_id: str | None = None
    subject: str | None = None
    created_by: str
    created_by_name: str
    created_at: datetime
    send_at: datetime = Field(description="When it goes (moved out of quiet hours)")
    moved_by_quiet_hours: bool = False
    status: Literal["scheduled", "sending", "done"]
    recipients: int
    queued: int
    sent: int = 0
    failed: int = 0
    skipped: int
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    segments: int = Field(description="SMS segments of every recipient to send: what the school pays for")


class MessageDetail(Message):
    items: list[RecipientOut] = Field(description="One page of recipients")
    next_cursor: str | None = None


class DryRun(Entity):
    dry_run: Literal[True] = True
    send_at: datetime
    moved_by_quiet_hours: bool
    recipients: int
    would_send: int
    skipped: int
    skipped_by_reason: dict[str, int]
    segments: int
    samples: list[RecipientOut] = Field(description="The first few renderings")


class MessageDetailQuery(PageQuery):
    status: Literal["queued", "sending", "sent", "failed", "skipped"] | None = None


class OutboxEntry(Entity):
    id: str
    at: datetime
    channel: Channel
    to: str
    subject: str | None = None
    body: str
    html: str | None = Field(default=None, description="An e-mail's HTML part (the body is its plain-text alternative)")
    purpose: str
    reference: str
    segments: int


MAX_HOLIDAYS = 20
MAX_SIGNATURE = 2000
HolidayAudience = Literal["members", "contactable"]


class HolidayGreeting(StrictModel):
    """A holiday greeting (节日问候): on `date` (school time), from the greeting hour, each
    lead of the audience is sent the template once that year (docs/messaging.md)."""

    date: str = Field(
        pattern=r"^(\d{4}-)?\d{2}-\d{2}$",
        description="MM-DD every year, or YYYY-MM-DD once (a lunar holiday the school enters each year)",
        examples=["01-01", "2032-02-11"],
    )
    name: str = Field(min_length=1, max_length=50, examples=["春节"])
    template_id: str = Field(max_length=40, description="A template of kind holiday")
    audience: HolidayAudience = Field(
        default="members",
        description="members: learners who signed a contract; contactable: every lead whose status allows marketing",
    )
    channel: Channel | None = Field(default=None, description="The template's channel (filled in when saved)")

    @field_validator("date")
    @classmethod
    def _real_day(cls, value: str) -> str:
        from datetime import date as day

        try:
            if len(value) == 5:
                day.fromisoformat(f"2000-{value}")  # a leap year: 02-29 is a day (greeted on 02-28 in common years)
            elif not 1900 <= day.fromisoformat(value).year <= 2100:
                raise ValueError("out of range")
        except ValueError as exc:
            raise ValueError("not a real day (MM-DD or YYYY-MM-DD, 1900-2100)") from exc
        return value


class MessagingSettings(StrictModel):
    quiet_from: str = Field(default="21:00", pattern=HHMM, description="Quiet hours start (school time)")
    quiet_to: str = Field(default="08:00", pattern=HHMM, description="Quiet hours end")
    marketing_daily_cap: int = Field(default=3, ge=0, le=100, description="Marketing messages per recipient a day")
    digest_hour: int = Field(default=8, ge=0, le=23, description="When staff get today's work (school time)")
    digest_channel: Literal["sms", "email", "none"] = "none"
    greeting_hour: int = Field(default=9, ge=0, le=23, description="When birthday and holiday greetings go")
    birthday_template_id: str | None = None
    reminder_template_id: str | None = None
    holidays: list[HolidayGreeting] = Field(default_factory=list, max_length=MAX_HOLIDAYS)
    email_signature: str = Field(
        default="",
        max_length=MAX_SIGNATURE,
        description="The school's e-mail signature (plain text, line breaks kept), under every e-mail",
    )
    low_credit_threshold: str = Field(default="2", pattern=r"^\d+(\.\d{1,2})?$", description="Card alert below this")
    expiry_warning_days: int = Field(default=14, ge=0, le=180)
    card_alert_template_id: str | None = None
    receivable_reminder_days: int = Field(
        default=3, ge=0, le=30, description="Payment reminders go this many days before an instalment is due"
    )
    receivable_template_id: str | None = Field(default=None, description="The payment reminder (to the family)")
    receivable_overdue_template_id: str | None = Field(
        default=None, description="The overdue notice (a notification to the consultant)"
    )


class MessagingSettingsPatch(StrictModel):
    quiet_from: str | None = Field(default=None, pattern=HHMM)
    quiet_to: str | None = Field(default=None, pattern=HHMM)
    marketing_daily_cap: int | None = Field(default=None, ge=0, le=100)
    digest_hour: int | None = Field(default=None, ge=0, le=23)
    digest_channel: Literal["sms", "email", "none"] | None = None
    greeting_hour: int | None = Field(default=None, ge=0, le=23)
    birthday_template_id: str | None = None
    reminder_template_id: str | None = None
    holidays: list[HolidayGreeting] | None = Field(default=None, max_length=MAX_HOLIDAYS)
    email_signature: str | None = Field(default=None, max_length=MAX_SIGNATURE, description='"" removes it')
    low_credit_threshold: str | None = Field(default=None, pattern=r"^\d+(\.\d{1,2})?$")
    expiry_warning_days: int | None = Field(default=None, ge=0, le=180)
    card_alert_template_id: str | None = None
    receivable_reminder_days: int | None = Field(default=None, ge=0, le=30)
    receivable_template_id: str | None = None
    receivable_overdue_template_id: str | None = None
