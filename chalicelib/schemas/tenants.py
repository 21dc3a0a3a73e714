from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chalicelib.schemas.common import Entity

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,39}$"


class Tenant(Entity):
    slug: str = Field(pattern=SLUG_PATTERN)
    name: str
    timezone: str = Field(description="IANA time zone, e.g. Asia/Shanghai")
    phone_region: str = Field(description="Default region for phone numbers, e.g. CN")
    plan: str = "standard"
    status: str = "active"
    created_at: datetime
