from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from chalicelib.schemas.board import Announcement
from chalicelib.schemas.common import Entity, StrictModel
from chalicelib.schemas.tenants import Tenant

USERNAME_PATTERN = r"^[\w.@+-]{2,64}$"  # \w is Unicode: 王老师 is a valid login name


class Role(StrEnum):
    admin = "admin"
    manager = "manager"  # 店长: everything in their campuses
    supervisor = "supervisor"  # 顾问主管: leads a team of consultants
    consultant = "consultant"  # 顾问
    frontdesk = "frontdesk"
    teacher = "teacher"
    finance = "finance"


class User(Entity):
    """A staff user as the API shows it (never the password hash)."""

    id: str
    username: str
    display_name: str
    role: Role
    campus_ids: list[str] = Field(default_factory=list)
    supervisor_id: str | None = None
    active: bool = True
    phone: str | None = None
    email: str | None = None
    frozen_at: datetime | None = Field(default=None, description="Frozen by anti-scraping (智能预警) since")
    frozen_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class UserRecord(User):
    """The stored user, with what only the sign-in code may see."""

    password_hash: str
    token_version: int = 0
    access_epoch: int = 0  # anti-scraping: counts restart from zero after each unfreeze


class UserCreateRequest(StrictModel):
    username: str = Field(pattern=USERNAME_PATTERN, examples=["li.na"])
    password: str = Field(min_length=10, max_length=256)
    display_name: str = Field(min_length=1, max_length=100, examples=["李娜"])
    role: Role
    campus_ids: list[str] = Field(default_factory=list, max_length=50)
    supervisor_id: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class PasswordResetRequest(StrictModel):
    """An admin sets a new password for a staff account (it forgot its own): every session
    of that account ends."""

    password: str = Field(min_length=10, max_length=256)


class UserPatchRequest(StrictModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    campus_ids: list[str] | None = Field(default=None, max_length=50)
    supervisor_id: str | None = Field(default=None, max_length=40)
    active: bool | None = None
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")


class UserListQuery(StrictModel):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)
    supervisor_id: str | None = Field(default=None, max_length=40, description="Only this supervisor's team")


class LoginRequest(StrictModel):
    tenant: str = Field(min_length=1, max_length=40, examples=["demo"])
    username: str = Field(min_length=1, max_length=64, examples=["admin"])
    password: str = Field(min_length=1, max_length=256)


class LoginResponse(Entity):
    token: str
    token_type: str = "Bearer"
    expires_at: datetime
    user: User
    unread_announcements: list[Announcement] = Field(
        default_factory=list, description="公告板: announcements not yet read (POST /announcements/{id}/read)"
    )


class MeResponse(Entity):
    user: User
    tenant: Tenant
