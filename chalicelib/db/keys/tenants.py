"""The tenant partition (the school, its campuses, its configuration), staff users and sign-in throttling."""

from __future__ import annotations

# The tenant's own record and its campuses live in the tenant partition.
TENANT_SK = "TENANT"
TENANT_DIRECTORY = "PLATFORM#TENANTS"  # GSI1 partition listing every tenant


def campus_sk(campus_id: str) -> str:
    return f"CAMPUS#{campus_id}"


CAMPUS_PREFIX = "CAMPUS#"


# Staff users: one partition per tenant (staff counts are small), listable in one Query.
def users_pk(tenant: str) -> str:
    return f"T#{tenant}#USERS"


def user_sk(user_id: str) -> str:
    return f"USER#{user_id}"


USER_PREFIX = "USER#"


def team_gsi1pk(tenant: str, supervisor_id: str) -> str:
    """GSI1 partition of a supervisor's team (sparse: only users with a supervisor)."""
    return f"T#{tenant}#TEAM#{supervisor_id}"


def username_pk(tenant: str, username: str) -> str:
    return f"T#{tenant}#USERNAME#{username.casefold()}"


# Sign-in throttling, per tenant and typed username (whether or not the user exists): one
# guard for the login name from all addresses (GUARD), one per source address (GUARD#<ip>),
# and the addresses this name has signed in from (KNOWN#<ip>).
LOGIN_GUARD_SK = "GUARD"


def login_address_sk(address: str) -> str:
    return f"GUARD#{address}"


def login_known_sk(address: str) -> str:
    return f"KNOWN#{address}"


def login_guard_pk(tenant: str, username: str) -> str:
    return f"T#{tenant}#LOGIN#{username.casefold()}"


# Tenant configuration lives in the tenant partition under CONFIG#, read with one Query.
CONFIG_PREFIX = "CONFIG#"
LEAD_SETTINGS_SK = "CONFIG#LEADS"
ASSESSMENT_SK = "CONFIG#ASSESSMENT"
LEAD_FIELDS_SK = "CONFIG#LEAD_FIELDS"  # the school's own lead fields (their used keys: fields some lead has)
CARD_SETTINGS_SK = "CONFIG#CARDS"
MESSAGING_SETTINGS_SK = "CONFIG#MESSAGING"


def dictionary_sk(kind: str) -> str:
    return f"CONFIG#DICT#{kind}"


SECURITY_SETTINGS_SK = "CONFIG#SECURITY"
