"""Follow-ups and work plans (in the lead's partition)."""

from __future__ import annotations

from datetime import datetime

from chalicelib.db.keys.base import stamp

# --- follow-ups and work plans (in the lead's partition) ----------------------------
FOLLOW_UP_PREFIX = "FU#"
PLAN_PREFIX = "PLAN#"


def follow_up_sk(at: str | datetime, follow_up_id: str) -> str:
    return f"FU#{stamp(at)}#{follow_up_id}"


def follow_ups_by(tenant: str, user_id: str) -> str:
    """GSI1: a consultant's follow-ups by time."""
    return f"T#{tenant}#FUBY#{user_id}"


def follow_ups_in(tenant: str, campus_id: str) -> str:
    """GSI3: a campus's follow-ups by time."""
    return f"T#{tenant}#FUCAMPUS#{campus_id}"


def plan_sk(plan_id: str) -> str:
    return f"PLAN#{plan_id}"


def plan_grant_sk(user_id: str) -> str:
    """In the lead's partition: the open plans on it assigned to this user (their access)."""
    return f"GRANT#{user_id}"


def plans_of(tenant: str, user_id: str) -> str:
    """GSI1 (sparse, open plans only): a consultant's plans by planned time."""
    return f"T#{tenant}#PLANS#{user_id}"
