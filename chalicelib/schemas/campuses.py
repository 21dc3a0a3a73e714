from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chalicelib.schemas.common import Entity, StrictModel


class CampusCreateRequest(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["南山校区"])
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=40)


class Campus(Entity):
    id: str
    name: str
    address: str | None = None
    phone: str | None = None
    created_at: datetime
