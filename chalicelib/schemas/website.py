"""Website integration: public API keys, open cohorts, applications from a web form."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from chalicelib.schemas.common import Entity, PageQuery, PastDay, StrictModel

ORIGIN_PATTERN = r"^https?://[^/\s?#]+$"


class ApiKeyRequest(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["官网报名表"])
    campus_id: str = Field(max_length=40, description="Applications through this key land in this campus")
    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Websites allowed to use the key (scheme://host[:port]); empty: any",
        examples=[["https://www.example-school.cn"]],
    )
    rate_limit_per_minute: int = Field(default=60, ge=1, le=6000, description="Requests a minute with this key")

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        import re

        cleaned = [o.strip().rstrip("/").lower() for o in value]
        for origin in cleaned:
            if not re.match(ORIGIN_PATTERN, origin):
                raise ValueError(f"{origin!r} is not an origin such as https://www.example.cn")
        return list(dict.fromkeys(cleaned))


class ApiKey(Entity):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters (pk_ab12…); the key itself is never shown again")
    campus_id: str
    allowed_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoked: bool = False


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The secret key, shown this once: send it as X-Api-Key")


class PublicCohortQuery(PageQuery):
    programme_id: str | None = Field(default=None, max_length=40, description="Only this programme's cohorts")


class ApplicationRequest(StrictModel):
    learner_name: str = Field(min_length=1, max_length=50, examples=["王小明"])
    guardian_name: str = Field(min_length=1, max_length=50, examples=["王妈妈"])
    phone: str = Field(min_length=1, max_length=40, examples=["138 0013 8000"])
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    birthday: PastDay | None = None
    programme: str | None = Field(default=None, max_length=100, examples=["少儿英语"])
    cohort_id: str | None = Field(
        default=None, max_length=40, description="An open cohort from GET /public/cohorts: the lead goes to its campus"
    )
    message: str | None = Field(default=None, max_length=1000)
    consent: bool = Field(description="The guardian agrees to be contacted; must be true")
    website: str | None = Field(default=None, max_length=200, description="Honeypot: a hidden field people leave empty")

    @field_validator("email", "birthday", "programme", "cohort_id", "message", "website", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """A web form sends its empty inputs as ""."""
        return None if isinstance(value, str) and not value.strip() else value


class ApplicationReceipt(Entity):
    received: bool = True
    message: str = "感谢报名，我们会尽快与您联系。Thank you, we will be in touch soon."
