"""Privacy: what a lead's partition keeps so that its data can be found (export) and erased
without a Scan, and the retention marker that files a lead under the day it was last touched.

The sort keys sit between `LEAD` and `PLAN#`, a range the lead's page (db/leads/reading.py)
never reads: `LEAD#RETAIN` < `MSGREF#` < `OUTREF#` < `PLAN#`.
"""

from __future__ import annotations

from chalicelib.db.keys.base import due_pk

RETAIN_SK = "LEAD#RETAIN"
MESSAGE_REF_PREFIX = "MSGREF#"
OUTBOX_REF_PREFIX = "OUTREF#"
RETENTION_CURSOR_SK = "JOBCURSOR#lead_retention"
RETENTION_BACKFILL_SK = "JOBCURSOR#retention_backfill"  # the walk that files markers for older leads


def message_ref_sk(message_id: str, n: int) -> str:
    """In a lead's partition: one recipient of a message that went to the lead's guardians."""
    return f"{MESSAGE_REF_PREFIX}{message_id}#{n:05d}"


def outbox_ref_sk(outbox_sk: str) -> str:
    """In a lead's partition: one outbox entry (local and dev stages) that was for the lead."""
    return f"{OUTBOX_REF_PREFIX}{outbox_sk}"


def retain_due(tenant: str, day: str, lead_pk_value: str) -> tuple[str, str]:
    """DUE keys of a lead last touched on `day` (UTC date), one partition per school and day:
    the retention job reads only the days that have come due for the school's setting."""
    return due_pk("RETAIN", f"{tenant}|{day}", 0), lead_pk_value


def retain_bucket(tenant: str, day: str) -> str:
    return due_pk("RETAIN", f"{tenant}|{day}", 0)
