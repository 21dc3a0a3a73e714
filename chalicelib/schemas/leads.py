from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StrictFloat, StrictInt, StrictStr, model_validator

from chalicelib.schemas.common import Entity, PastDay, StrictModel
from chalicelib.schemas.followups import FollowUp, Plan
from chalicelib.schemas.schedule import Appointment

Text50 = Field(min_length=1, max_length=50)
# The school's own lead fields (GET /settings/lead-fields), by key: a list field's entry key,
# text (up to 200), a number, a date YYYY-MM-DD. Checked against the definitions by the domain.
CustomValue = StrictStr | StrictInt | StrictFloat
CUSTOM_KEY = r"^[a-z][a-z0-9_]{1,31}$"
CUSTOM_DESCRIPTION = (
    "The school's own lead fields (GET /settings/lead-fields) by key: a list field's entry key, "
    "text (at most 200 characters), a number, or a date YYYY-MM-DD"
)


class Gender(StrEnum):
    male = "male"
    female = "female"
    other = "other"


class GuardianIn(StrictModel):
    name: str = Field(min_length=1, max_length=50, examples=["王妈妈"])
    relation: str | None = Field(default=None, max_length=20, examples=["mother"])
    phones: list[str] = Field(
        default_factory=list,
        max_length=5,
        examples=[["138 0013 8000"]],
        description="On an edit, a number sent back masked as the API shows it (138****8000) keeps that number",
    )
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    wechat: str | None = Field(default=None, max_length=64)
    preferred_contact_time: str | None = Field(default=None, max_length=50)
    sms_opt_out: bool = False
    email_opt_out: bool = False


class Phone(Entity):
    e164: str  # only the normalised form is stored (a `raw` of older records is ignored)


class Guardian(Entity):
    name: str
    relation: str | None = None
    phones: list[Phone] = Field(default_factory=list)
    email: str | None = None
    wechat: str | None = None
    preferred_contact_time: str | None = None
    sms_opt_out: bool = False
    email_opt_out: bool = False


class GuardianOut(Entity):
    name: str
    relation: str | None = None
    phones: list[str] = Field(description="Masked (138****8000); POST /leads/{id}/reveal-phone shows them")
    email: str | None = None
    wechat: str | None = None
    preferred_contact_time: str | None = None
    sms_opt_out: bool = False
    email_opt_out: bool = False


class _LeadFields(StrictModel):
    nickname: str | None = Field(default=None, max_length=50)
    gender: Gender | None = None
    birthday: PastDay | None = None
    school: str | None = Field(default=None, max_length=100)
    grade: str | None = Field(default=None, max_length=50)
    age: int | None = Field(default=None, ge=0, le=120)
    notes: str | None = Field(default=None, max_length=4000)
    tags: list[str] | None = Field(default=None, max_length=30)
    source: str | None = Field(default=None, max_length=50)
    sub_source: str | None = Field(default=None, max_length=50)
    status: str | None = Field(default=None, max_length=50)
    importance: str | None = Field(default=None, max_length=50)
    stage: str | None = Field(default=None, max_length=50)
    intended_courses: list[str] | None = Field(default=None, max_length=20)


class LeadCreateRequest(_LeadFields):
    name: str = Field(min_length=1, max_length=50, examples=["王小明"])
    custom: dict[Annotated[str, Field(pattern=CUSTOM_KEY)], CustomValue] | None = Field(
        default=None, max_length=30, description=CUSTOM_DESCRIPTION, examples=[{"occupation": "teacher"}]
    )
    guardians: list[GuardianIn] = Field(min_length=1, max_length=5)
    campus_id: str | None = Field(default=None, max_length=40, description="Default: the creator's only campus")
    owner_id: str | None = Field(
        default=None, max_length=40, description="Default: the creating consultant; others: the public pool"
    )
    to_pool: bool = Field(default=False, description="Put the lead straight into the public pool (公海)")
    sibling_of: str | None = Field(
        default=None, max_length=40, description="Link as a sibling of this lead: shared guardian phones allowed"
    )
    referrer_lead_id: str | None = Field(default=None, max_length=40, description="Who referred it (转介绍)")
    referrer_user_id: str | None = Field(
        default=None, max_length=40, description="A member of staff who referred it (转介绍); not with referrer_lead_id"
    )


class LeadPatchRequest(_LeadFields):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    custom: dict[Annotated[str, Field(pattern=CUSTOM_KEY)], CustomValue | None] | None = Field(
        default=None,
        max_length=30,
        description=CUSTOM_DESCRIPTION + ". Only the keys sent change; a key sent as null is removed",
    )
    guardians: list[GuardianIn] | None = Field(default=None, min_length=1, max_length=5)
    sibling_of: str | None = Field(
        default=None, max_length=40, description="Join this lead's family: shared guardian phones allowed"
    )


class _LeadCommon(Entity):
    """The fields a lead has both as stored and as shown."""

    id: str
    name: str
    nickname: str | None = None
    gender: Gender | None = None
    birthday: date | None = None
    school: str | None = None
    grade: str | None = None
    age: int | None = None
    notes: str | None = None
    tags: list[str] = Field(default_factory=list)
    source: str | None = None
    sub_source: str | None = None
    referrer_lead_id: str | None = None
    referrer_user_id: str | None = Field(default=None, description="A member of staff who referred it")
    family_id: str
    campus_id: str
    owner_id: str | None = Field(default=None, description="null: in the public pool (公海)")
    owner_name: str | None = None
    status: str = "potential"
    importance: str | None = None
    stage: str | None = None
    level: str | None = None
    intended_courses: list[str] = Field(default_factory=list)
    created_by: str
    created_at: datetime
    updated_at: datetime
    owned_since: datetime | None = None
    last_contacted_at: datetime | None = None
    next_follow_up_at: datetime | None = None
    follow_up_count: int = Field(default=0, description="Follow-ups recorded on the lead (跟进次数)")
    signed_on: date | None = Field(default=None, description="First contract signed (签约): a member from then on")
    conversion_days: int | None = Field(default=None, description="Days from the lead's creation to signing (转化周期)")
    deleted_at: datetime | None = None
    erased_at: datetime | None = Field(
        default=None, description="Its personal data was erased (POST /leads/{id}/erase, or the retention setting)"
    )
    reclaim_on: date | None = Field(
        default=None, description="Protected until: without a follow-up by then it returns to the pool"
    )
    assessment_total: float | None = None
    custom: dict[str, str | int | float] = Field(default_factory=dict, description=CUSTOM_DESCRIPTION)


class Lead(_LeadCommon):
    """A lead as stored, with full phone numbers and assessment answers."""

    guardians: list[Guardian]
    assessments: dict[str, dict] = Field(default_factory=dict)
    origin: dict | None = Field(
        default=None,
        description="The history entry that made the lead (its action and details; `by` and `at` "
        "when they differ from created_by and created_at), stored on the lead and shown as its "
        "oldest history entry. Not shown as a field.",
    )

    @property
    def phones(self) -> list[str]:
        return [p.e164 for g in self.guardians for p in g.phones]


class LeadOut(_LeadCommon):
    """A lead as the API shows it: phones masked."""

    guardians: list[GuardianOut]


class HistoryEntry(Entity):
    at: datetime
    by: str | None = Field(description="user id; null for the system")
    action: str = Field(examples=["created", "assigned", "claimed", "released", "level_changed", "phone_revealed"])
    details: dict = Field(default_factory=dict)


class LeadDetail(LeadOut):
    """A lead's page: the lead and the latest of its follow-ups, appointments and history
    (5 of each; the rest through the paginated routes, from the cursors below), whatever
    the length of its history."""

    follow_ups: list[FollowUp] = Field(
        default_factory=list,
        description="The latest 5, newest first (历史跟进记录); the rest: GET /follow-ups?lead=<id>",
    )
    follow_ups_cursor: str | None = Field(
        default=None, description="Set when there are older follow-ups: the `cursor` of GET /follow-ups?lead=<id>"
    )
    plans: list[Plan] = Field(default_factory=list, description="Work plans on this lead, open ones first")
    appointments: list[Appointment] = Field(
        default_factory=list,
        description="The 5 latest booked visits, trials and events, newest first; more: GET /leads/{id}/appointments",
    )
    appointments_cursor: str | None = Field(
        default=None, description="Set when there are more: the `cursor` of GET /leads/{lead_id}/appointments"
    )
    history: list[HistoryEntry] = Field(
        default_factory=list, description="The latest 5 entries, oldest first; all of it: GET /leads/{lead_id}/history"
    )
    history_cursor: str | None = Field(
        default=None, description="Set when there are older entries: the `cursor` of GET /leads/{lead_id}/history"
    )
    truncated: list[Literal["plans", "links"]] = Field(
        default_factory=list,
        description="Lists cut at 50 items: plans (with siblings and referrals; the oldest plans left out), "
        "links (contract_ids, card_ids, enrolment_ids)",
    )
    siblings: list[str] = Field(default_factory=list, description="ids of the other leads of the family")
    referrals: list[str] = Field(default_factory=list, description="ids of the leads this one referred")
    contract_ids: list[str] = Field(
        default_factory=list, description="Contracts signing this learner (GET /contracts/{id})"
    )
    card_ids: list[str] = Field(default_factory=list, description="Cards this learner holds (GET /cards/{id})")
    enrolment_ids: list[str] = Field(
        default_factory=list, description="The learner's enrolments in cohorts (报名; id <cohort>-<lead>)"
    )


class LeadGetQuery(StrictModel):
    format: Literal["json", "html"] = Field(
        default="json",
        description="json (LeadDetail); html: the printable customer record (客户档案: details, guardians with "
        "phones masked, contracts, cards, the latest 200 follow-ups), A4 print styles",
    )


class LeadListQuery(StrictModel):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=4096)
    scope: Literal["visible", "mine", "team", "pool"] = Field(
        default="visible", description="visible: all you may see; mine; team (supervisors); pool (公海)"
    )
    sort: Literal["newest", "next_follow_up"] = "newest"
    status: str | None = Field(default=None, max_length=50)
    source: str | None = Field(default=None, max_length=50)
    stage: str | None = Field(default=None, max_length=50)
    importance: str | None = Field(default=None, max_length=50)
    level: str | None = Field(default=None, max_length=50)
    owner: str | None = Field(default=None, max_length=40)
    campus: str | None = Field(default=None, max_length=40)
    tag: str | None = Field(default=None, max_length=50)
    created_from: datetime | None = None
    created_to: datetime | None = None
    next_from: datetime | None = None
    next_to: datetime | None = None
    q: str | None = Field(default=None, min_length=1, max_length=50, description="Name prefix, or a phone number")
    custom: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,31}:.{1,200}$")]] | None = Field(
        default=None,
        max_length=3,
        description="A custom field's value, <key>:<value> (a list field's entry key); up to 3, all must match",
        examples=[["occupation:teacher"]],
    )

    @model_validator(mode="after")
    def _ranges(self) -> LeadListQuery:
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise ValueError("created_from is after created_to")
        if self.next_from and self.next_to and self.next_from > self.next_to:
            raise ValueError("next_from is after next_to")
        return self


class AssignRequest(StrictModel):
    owner_id: str = Field(max_length=40)


class RevealPhoneResponse(Entity):
    lead_id: str
    guardians: list[Guardian]


class LeadExportQuery(LeadListQuery):
    """The lead list's filters; `limit` and `cursor` are not used (every match, up to 10,000)."""

    format: Literal["xlsx", "csv"] = "xlsx"
