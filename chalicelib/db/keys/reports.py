"""Derived data (report aggregates, stream markers, access counters, usage) and the audit log."""

from __future__ import annotations

# --- derived data ----------------------------------------------------------------------
# Report aggregates: one partition per school and period (a day or a month, school time),
# one item per dimension value. Access counters: one partition per user, one item per window.
ALL_DIMENSION = "all#all"


def aggregate_pk(tenant: str, period: str) -> str:
    """A day (yyyy-mm-dd) or a month (yyyy-mm) of a school's figures."""
    return f"T#{tenant}#AGG#{period}"


def dimension_sk(dimension: str, value: str) -> str:
    return f"{dimension}#{value}"


def seen_pk(tenant: str, event_id: str) -> str:
    """Markers of applied stream records, spread over 16 partitions."""
    return f"T#{tenant}#SEEN#{sum(event_id.encode()) % 16}"


def access_pk(tenant: str, user_id: str) -> str:
    """A user's weighted customer-data reads in fixed windows (minute, hour, day; UTC)."""
    return f"T#{tenant}#ACCESS#{user_id}"


def access_sk(window: str, epoch: int, stamp: str) -> str:
    """One window's counter ('m', 'h' or 'd', then the UTC minute, hour or day), in the user's
    access epoch (it moves on each unfreeze, so counting starts afresh)."""
    return f"{window}#{epoch}#{stamp}"


def usage_pk(tenant: str) -> str:
    return f"T#{tenant}#USAGE"


def audit_pk(tenant: str, day: str) -> str:
    """A day (UTC) of a school's audit entries."""
    return f"T#{tenant}#AUDIT#{day}"


def audit_by(tenant: str, user_id: str) -> str:
    """GSI1: a user's audit entries by time."""
    return f"T#{tenant}#AUDITBY#{user_id}"


def audit_of_lead(tenant: str, lead_id: str) -> str:
    """GSI2: the audit entries about one lead by time."""
    return f"T#{tenant}#AUDITLEAD#{lead_id}"


def frozen_users(tenant: str) -> str:
    """GSI2 (sparse): the school's frozen users."""
    return f"T#{tenant}#FROZEN"
