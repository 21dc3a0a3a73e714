"""A school (tenant), its campuses, its staff and their sign-in, its configuration, its
website API keys."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)

from chalicelib.db.base import BaseItem
from chalicelib.db.items.attributes import unicode_list


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
    duty_consultant_id = UnicodeAttribute(null=True)  # where website applications land


class UserItem(BaseItem, discriminator="User"):
    id = UnicodeAttribute()
    username = UnicodeAttribute()
    display_name = UnicodeAttribute()
    role = UnicodeAttribute()
    campus_ids = unicode_list(default=list)
    supervisor_id = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute()
    token_version = NumberAttribute(default=0)
    owned_leads = NumberAttribute(default=0)  # leads this user owns (the claim cap)
    frozen_at = UnicodeAttribute(null=True)  # anti-scraping: GSI2 `T#<t>#FROZEN` while frozen
    frozen_reason = UnicodeAttribute(null=True)
    access_epoch = NumberAttribute(default=0)  # moves on each unfreeze: access counters start afresh
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class UniqueItem(BaseItem, discriminator="Unique"):
    """Claims a value (a login name, later a phone or a card number) for one owner."""

    owner_id = UnicodeAttribute()


class LoginGuardItem(BaseItem, discriminator="LoginGuard"):
    """Failed sign-ins for one typed username; expires by TTL."""

    failures = NumberAttribute(default=0)
    locked_until = NumberAttribute(null=True)


class ConfigItem(BaseItem, discriminator="Config"):
    """A piece of tenant configuration (a dictionary, lead settings, the assessment)."""

    body = JSONAttribute(null=True)  # null: the built-in defaults
    used_keys = UnicodeSetAttribute(null=True)  # dictionaries: keys some lead has used


class ApiKeyItem(BaseItem, discriminator="ApiKey"):
    """A school's public API key: the listing (tenant partition) and the lookup by hash
    (platform partition) carry the same fields; only the listing is shown to staff."""

    id = UnicodeAttribute()
    tenant = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()  # the key's first characters, to recognise it
    key_hash = UnicodeAttribute()  # SHA-256 of the key, hex
    campus_id = UnicodeAttribute()
    allowed_origins = unicode_list(default=list)
    rate_limit = NumberAttribute()  # requests a minute
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    revoked_at = UnicodeAttribute(null=True)
