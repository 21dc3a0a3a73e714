"""Messaging: templates, messages and their recipients, frequency caps, the outbox."""

from __future__ import annotations

from chalicelib.db.keys.base import due_pk, shard_of

# --- messaging -----------------------------------------------------------------------
# Templates live in the tenant partition. A message has its own partition: the header
# (MESSAGE) and one item per recipient (RCPT#<n>), each with its own rendering and status.
# The header carries the DUE keys of the minute it is due in while recipients wait.
TEMPLATE_PREFIX = "TEMPLATE#"
MESSAGE_SK = "MESSAGE"
RECIPIENT_PREFIX = "RCPT#"


def template_sk(template_id: str) -> str:
    return f"TEMPLATE#{template_id}"


def message_pk(tenant: str, message_id: str) -> str:
    return f"T#{tenant}#MSG#{message_id}"


def recipient_sk(n: int) -> str:
    return f"RCPT#{n:05d}"


def messages_of(tenant: str) -> str:
    """GSI1: a tenant's messages, newest first."""
    return f"T#{tenant}#MESSAGES"


def message_due(minute: str, message_pk_value: str) -> tuple[str, str]:
    """DUE keys of a message with recipients waiting in that UTC minute (yyyy-mm-ddThh:mm)."""
    return due_pk("SMS", minute, shard_of(message_pk_value)), message_pk_value


def frequency_pk(tenant: str, destination: str) -> str:
    """Marketing messages sent to one phone or address, one item per school-local day."""
    return f"T#{tenant}#FREQ#{destination.casefold()}"


def outbox_pk(tenant: str) -> str:
    return f"T#{tenant}#OUTBOX"


def holiday_run_sk(run_id: str) -> str:
    """In the tenant partition: one holiday greeting's walk of its audience on one day
    (`<school date>#<holiday key>`): its lease and how far it has read."""
    return f"HOLIDAYRUN#{run_id}"
