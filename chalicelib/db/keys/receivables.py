"""Receivables (应收): each contract instalment and each confirmed enrolment's instalment,
an amount due on a day."""

from __future__ import annotations

from chalicelib.db.keys.base import due_pk, shard_of, stamp

# A receivable lives in the partition of what it is owed for: a contract's
# (`T#<t>#CONTRACT#<id>` / `RECV#<nn>`) or a cohort's (`T#<t>#COHORT#<id>` /
# `RECV#<lead>#<nn>`), written in the same transaction as the contract, the payment or the
# enrolment's confirmation that makes or changes it. While it is unpaid it carries the
# "open" keys of three sparse lists (the school's, its campus's and its consultant's); paid,
# the "paid" ones; cancelled (a void contract, a declined enrolment), none. The sort key is
# the due date, the id and the amount still owed, so the ageing report reads the index only.
RECEIVABLE_PREFIX = "RECV#"
RECEIVABLE_STATES = ("open", "paid")


def contract_receivable_sk(n: int) -> str:
    return f"RECV#{n:02d}"


def enrolment_receivable_sk(lead_id: str, n: int) -> str:
    return f"RECV#{lead_id}#{n:02d}"


def enrolment_payment_sk(lead_id: str, at: str, payment_id: str) -> str:
    """In a cohort's partition: a payment towards the lead's enrolment."""
    return f"PAY#{lead_id}#{stamp(at)}#{payment_id}"


def receivables_of(tenant: str, state: str) -> str:
    """GSI1: the school's receivables in a state (open | paid), by due date."""
    return f"T#{tenant}#RECV#{state}"


def receivables_by(tenant: str, consultant_id: str, state: str) -> str:
    """GSI2: one consultant's receivables in a state, by due date."""
    return f"T#{tenant}#RECVBY#{consultant_id}#{state}"


def receivables_in(tenant: str, campus_id: str, state: str) -> str:
    """GSI3: one campus's receivables in a state, by due date."""
    return f"T#{tenant}#RECVC#{campus_id}#{state}"


def receivable_sort(due_on: str, receivable_id: str, outstanding: int) -> str:
    """The lists' sort key: due date, id (unique), then what is still owed in fen."""
    return f"{due_on}#{receivable_id}#{outstanding}"


def receivable_due(day: str, receivable_id: str) -> tuple[str, str]:
    """DUE keys of a receivable to remind about on a school-local day (`receivable_reminders`)."""
    return due_pk("RECEIVABLE", day, shard_of(receivable_id)), f"{day}#{receivable_id}"
