"""One pynamodb class per kind of item. Keys are set from db.keys only."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.db.base import BaseItem


class TenantItem(BaseItem, discriminator="Tenant"):
    slug = UnicodeAttribute()
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    phone_region = UnicodeAttribute()
    plan = UnicodeAttribute(default="standard")
    status = UnicodeAttribute(default="active")
    created_at = UnicodeAttribute()


class CampusItem(BaseItem, discriminator="Campus"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


class UserItem(BaseItem, discriminator="User"):
    id = UnicodeAttribute()
    username = UnicodeAttribute()
    display_name = UnicodeAttribute()
    role = UnicodeAttribute()
    campus_ids = ListAttribute(of=UnicodeAttribute, default=list)
    supervisor_id = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute()
    token_version = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class UniqueItem(BaseItem, discriminator="Unique"):
    """Claims a value (a login name, later a phone or a card number) for one owner."""

    owner_id = UnicodeAttribute()


class LoginGuardItem(BaseItem, discriminator="LoginGuard"):
    """Failed sign-ins for one typed username; expires by TTL."""

    failures = NumberAttribute(default=0)
    locked_until = NumberAttribute(null=True)
