from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from chalicelib.schemas.common import Entity, StrictModel, decimal_string
from chalicelib.schemas.read_limits import READ_LIMIT_DEFAULTS

KEY_PATTERN = r"^[\w-]{1,40}$"
# a school's own list (issue 19: occupation, industry, region, ...) and a custom lead field's key
CUSTOM_NAME_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"
MAX_CUSTOM_LISTS = 20
MAX_LEAD_FIELDS = 30
CUSTOM_TEXT_MAX = 200
CUSTOM_NUMBER_MAX = 1e12  # a custom number field's bound, either sign
ExchangeRate = Annotated[
    Decimal, *decimal_string(r"^\d{1,6}(\.\d{1,2})?$", "2.00"), Field(ge=0, le=100000, decimal_places=2)
]


class DictionaryKind(StrEnum):
    sources = "sources"  # 客户来源 (with sub-sources via `parent`)
    statuses = "statuses"
    importance = "importance"  # 重要程度
    stages = "stages"  # 销售进程
    follow_up_methods = "follow_up_methods"
    glossary_categories = "glossary_categories"  # 常用语分类: the glossary's phrases by category


class DictionaryEntry(StrictModel):
    key: str = Field(pattern=KEY_PATTERN, examples=["referral"])
    label: str = Field(min_length=1, max_length=50, examples=["转介绍"])
    retired: bool = Field(default=False, description="Kept for old leads; cannot be chosen any more")
    parent: str | None = Field(default=None, pattern=KEY_PATTERN, description="sources only: the parent source")
    contact: Literal["all", "transactional", "none"] | None = Field(
        default=None,
        description="statuses only: what a lead in this status may be sent. all; transactional (reminders and "
        "notices, no marketing or greetings); none (do not contact). Default all; the built-in blacklist: none",
    )


class DictionaryPutRequest(StrictModel):
    entries: list[DictionaryEntry] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unique(self) -> DictionaryPutRequest:
        keys = [e.key for e in self.entries]
        if len(keys) != len(set(keys)):
            raise ValueError("keys must be unique")
        for e in self.entries:
            if e.parent is not None and e.parent not in keys:
                raise ValueError(f"parent {e.parent!r} of {e.key!r} is not in the list")
        return self


class Dictionary(Entity):
    kind: str = Field(
        description="One of the six built-in lists (sources, statuses, importance, stages, follow_up_methods, "
        "glossary_categories) or a list of the school's own (a name matching ^[a-z][a-z0-9_]{1,31}$)",
        examples=["occupation"],
    )
    custom: bool = Field(default=False, description="A list of the school's own (not one of the six built-in)")
    entries: list[DictionaryEntry]
    used: list[str] = Field(default_factory=list, description="keys used by some lead: retire, never delete")


class DictionaryList(Entity):
    """Every list of the school: the six built-in ones first, then its own by name."""

    items: list[Dictionary]
    custom_limit: int = Field(default=MAX_CUSTOM_LISTS, description="How many lists of its own a school may have")


LeadFieldType = Literal["list", "text", "number", "date"]


class LeadFieldDefinition(StrictModel):
    """A lead field of the school's own (自定义字段): its value is kept in the lead's `custom`."""

    key: str = Field(pattern=CUSTOM_NAME_PATTERN, examples=["occupation"])
    label: str = Field(min_length=1, max_length=50, examples=["职业"])
    type: LeadFieldType = Field(
        description="list: a key of the list named by `list`; text: up to 200 characters; number; "
        "date: YYYY-MM-DD (1900-2100)"
    )
    list: str | None = Field(
        default=None, pattern=CUSTOM_NAME_PATTERN, description="type list only: the list (built-in or the school's)"
    )
    retired: bool = Field(default=False, description="Kept on the leads that have it; cannot be newly set")

    @model_validator(mode="after")
    def _list_for_lists(self) -> LeadFieldDefinition:
        if (self.type == "list") != (self.list is not None):
            raise ValueError("`list` is required for a list field, and only for one")
        return self


class LeadFieldsPutRequest(StrictModel):
    fields: list[LeadFieldDefinition] = Field(max_length=MAX_LEAD_FIELDS)

    @field_validator("fields")
    @classmethod
    def _unique(cls, fields: list[LeadFieldDefinition]) -> list[LeadFieldDefinition]:
        keys = [f.key for f in fields]
        if len(keys) != len(set(keys)):
            raise ValueError("field keys must be unique")
        return fields


class LeadFields(Entity):
    fields: list[LeadFieldDefinition]
    used: list[str] = Field(default_factory=list, description="field keys some lead has used: retire, never delete")


HistoryVisibility = Literal["owner_team", "campus", "school"]


class LeadSettings(StrictModel):
    protection_days: int = Field(default=30, ge=1, le=365, description="Days without follow-up before 公海")
    reclaim_warning_days: int = Field(default=3, ge=0, le=30)
    max_leads_per_consultant: int = Field(default=500, ge=1, le=100000)
    attendance_opens_minutes_before: int = Field(
        default=60, ge=0, le=1440, description="Arrival and no-show can be marked from this long before the start on"
    )
    export_roles: list[str] = Field(
        default_factory=lambda: ["manager", "admin"], description="Roles that may export leads (导出)"
    )
    import_roles: list[str] = Field(
        default_factory=lambda: ["manager", "admin"], description="Roles that may import leads (批量导入)"
    )
    erase_untouched_after_years: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="Erase the personal data of leads nobody has changed for this many years (the lead_retention "
        "step of the hourly pool_reclaim job); null: never",
    )
    history_visibility: HistoryVisibility = Field(
        default="owner_team",
        description="Who may read a lead's follow-up history (GET /follow-ups), never its phones or its page: "
        "owner_team: whoever sees the lead (its owner, their supervisor, the campus's managers, front desk "
        "and finance); campus: also every consultant and supervisor of the lead's campus; school: every "
        "staff member but teachers, whatever their campus",
    )


class CardSettings(StrictModel):
    """How cards spend and keep credits (会员卡设置)."""

    deduction_order: Literal["expiring_first", "oldest_first"] = Field(
        default="expiring_first", description="Which contract's credits a deduction takes first"
    )
    exchange_rate: ExchangeRate | None = Field(
        default=None, description="Cash per lesson credit; null or 0: no exchange"
    )
    extend_when_frozen: bool = Field(default=True, description="Unfreezing extends validity by the days frozen")
    max_sub_cards: int = Field(default=5, ge=0, le=20)
    max_freeze_days: int = Field(
        default=366, ge=1, le=3660, description="A freeze's last day is at most this many days after today"
    )
    event_fee_charge_at: Literal["booking", "arrival"] = Field(
        default="booking", description="When a paid event's fee is taken from the lead's card: on booking or arrival"
    )
    event_fee_refund_on_cancel: Literal["full", "none"] = Field(
        default="full", description="A booking cancelled after its fee was charged: refund it all, or nothing"
    )


class CardSettingsPatch(StrictModel):
    deduction_order: Literal["expiring_first", "oldest_first"] | None = None
    exchange_rate: ExchangeRate | None = None
    extend_when_frozen: bool | None = None
    max_sub_cards: int | None = Field(default=None, ge=0, le=20)
    max_freeze_days: int | None = Field(default=None, ge=1, le=3660)
    event_fee_charge_at: Literal["booking", "arrival"] | None = None
    event_fee_refund_on_cancel: Literal["full", "none"] | None = None


class SecuritySettings(StrictModel):
    """Anti-scraping (智能预警) thresholds on weighted customer-data reads, and audit retention.
    A read counts the customer records it returned (a lead's detail 1, a page its items, an
    export its rows); a read is refused once a window is spent, and an account going over a
    threshold in its window is frozen."""

    reads_per_minute: int = Field(default=READ_LIMIT_DEFAULTS["reads_per_minute"], ge=1, le=100000)
    reads_per_hour: int = Field(default=READ_LIMIT_DEFAULTS["reads_per_hour"], ge=1, le=1000000)
    reads_per_day: int = Field(default=READ_LIMIT_DEFAULTS["reads_per_day"], ge=1, le=10000000)
    audit_retention_days: int = Field(default=180, ge=7, le=3650)


class SecuritySettingsPatch(StrictModel):
    reads_per_minute: int | None = Field(default=None, ge=1, le=100000)
    reads_per_hour: int | None = Field(default=None, ge=1, le=1000000)
    reads_per_day: int | None = Field(default=None, ge=1, le=10000000)
    audit_retention_days: int | None = Field(default=None, ge=7, le=3650)


class LeadSettingsPatch(StrictModel):
    protection_days: int | None = Field(default=None, ge=1, le=365)
    reclaim_warning_days: int | None = Field(default=None, ge=0, le=30)
    max_leads_per_consultant: int | None = Field(default=None, ge=1, le=100000)
    attendance_opens_minutes_before: int | None = Field(default=None, ge=0, le=1440)
    export_roles: list[Literal["admin", "manager", "supervisor", "consultant", "frontdesk", "finance"]] | None = None
    import_roles: list[Literal["admin", "manager", "supervisor", "consultant", "frontdesk", "finance"]] | None = None
    erase_untouched_after_years: int | None = Field(default=None, ge=0, le=50, description="0 turns it off")
    history_visibility: HistoryVisibility | None = None


# --- assessments (客户评估) ----------------------------------------------------------


class AnswerOption(StrictModel):
    id: str = Field(pattern=KEY_PATTERN)
    label: str = Field(min_length=1, max_length=200)
    score: float = Field(ge=-1000, le=1000)


class Question(StrictModel):
    id: str = Field(pattern=KEY_PATTERN)
    text: str = Field(min_length=1, max_length=500)
    options: list[AnswerOption] = Field(min_length=2, max_length=20)


class Questionnaire(StrictModel):
    id: str = Field(pattern=KEY_PATTERN, examples=["economy"])
    title: str = Field(min_length=1, max_length=100, examples=["经济能力"])
    weight: float = Field(default=1.0, gt=0, le=100)
    questions: list[Question] = Field(min_length=1, max_length=50)


class Level(StrictModel):
    level: str = Field(min_length=1, max_length=20, examples=["A"])
    min_score: float = Field(description="The weighted total at which a lead reaches this level")
    label: str | None = Field(default=None, max_length=50)


class AssessmentConfig(StrictModel):
    questionnaires: list[Questionnaire] = Field(default_factory=list, max_length=20)
    levels: list[Level] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> AssessmentConfig:
        ids = [q.id for q in self.questionnaires]
        if len(ids) != len(set(ids)):
            raise ValueError("questionnaire ids must be unique")
        for q in self.questionnaires:
            qids = [x.id for x in q.questions]
            if len(qids) != len(set(qids)):
                raise ValueError(f"question ids must be unique in {q.id}")
            for x in q.questions:
                if len({o.id for o in x.options}) != len(x.options):
                    raise ValueError(f"option ids must be unique in {q.id}.{x.id}")
        names = [lv.level for lv in self.levels]
        if len(names) != len(set(names)):
            raise ValueError("levels must be unique")
        return self


class AssessmentAnswerRequest(StrictModel):
    questionnaire_id: str = Field(pattern=KEY_PATTERN)
    answers: dict[str, str] = Field(description="question id -> option id", min_length=1, max_length=50)


class AssessmentResult(Entity):
    lead_id: str
    questionnaire_id: str
    score: float
    total: float = Field(description="Weighted total over every answered questionnaire")
    level: str | None
    previous_level: str | None
    level_changed: bool
