from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chalicelib.schemas.common import Entity, StrictModel


class CampusCreateRequest(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["南山校区"])
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=40)


class CampusPatchRequest(StrictModel):
    """Only the fields sent change. The name, address and phone: admins; the duty consultant:
    admins and the campus's managers."""

    name: str | None = Field(default=None, min_length=1, max_length=100, examples=["南山校区"])
    address: str | None = Field(default=None, max_length=300, description="null: none")
    phone: str | None = Field(default=None, max_length=40, description="null: none")
    duty_consultant_id: str | None = Field(
        default=None,
        max_length=40,
        description="Who receives the campus's website applications (值班顾问); null: the public pool",
    )


class Campus(Entity):
    id: str
    name: str
    address: str | None = None
    phone: str | None = None
    created_at: datetime
    duty_consultant_id: str | None = Field(default=None, description="值班顾问: website applications land with them")
