"""Leads: the lead's partition, its scopes, phone claims, birthdays and the reclaim index."""

from __future__ import annotations

from datetime import datetime

from chalicelib.db.keys.base import due_pk, shard_of, stamp

# --- leads -------------------------------------------------------------------------
# A lead's partition holds the lead (SK LEAD) and everything about it (history, links,
# and later follow-ups, appointments, contracts and cards), so one Query reads it all.
LEAD_SK = "LEAD"


def lead_pk(tenant: str, lead_id: str) -> str:
    return f"T#{tenant}#LEAD#{lead_id}"


def history_sk(at: str | datetime, entry_id: str) -> str:
    return f"HIST#{stamp(at)}#{entry_id}"


def sibling_sk(lead_id: str) -> str:
    return f"SIBLING#{lead_id}"


def referral_sk(lead_id: str) -> str:
    return f"REFERRAL#{lead_id}"


def owner_scope(tenant: str, owner_id: str | None, campus_id: str) -> str:
    """GSI1/GSI2 partition: a consultant's leads, or the public pool of one campus."""
    return f"T#{tenant}#OWNER#{owner_id}" if owner_id else f"T#{tenant}#POOL#{campus_id}"


def campus_scope(tenant: str, campus_id: str) -> str:
    """GSI3/GSI4 partition: every live lead of a campus (managers, admins)."""
    return f"T#{tenant}#CAMPUS#{campus_id}"


def recycle_bin(tenant: str) -> str:
    """GSI1 partition of soft-deleted leads."""
    return f"T#{tenant}#BIN"


def phone_pk(tenant: str, e164: str) -> str:
    return f"T#{tenant}#PHONE#{e164}"


BIRTHDAY_SK = "BIRTHDAY"


def birthday_due(month_day: str, lead_pk_value: str) -> tuple[str, str]:
    """DUE keys of a learner's birthday (MM-DD; 02-29 stays 02-29)."""
    return due_pk("BIRTHDAY", month_day, shard_of(lead_pk_value)), lead_pk_value


def reclaim_due(day: str, lead_id: str) -> tuple[str, str]:
    """DUE keys of an owned lead whose protection period ends on `day` (UTC date)."""
    return due_pk("RECLAIM", day, shard_of(lead_id)), lead_id
