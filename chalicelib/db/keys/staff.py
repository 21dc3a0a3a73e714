"""Staff leaving (离职交接) and employee records (员工档案): items in the users partition."""

from __future__ import annotations

from chalicelib.db.keys.base import due_pk, shard_of

# One offboarding per user (a re-enabled user who leaves again starts a new one over the
# finished one), in the users partition beside the user; while it has work left it is filed
# on DUE `OFFBOARD#queued` for the `staff_offboarding` job.
OFFBOARD_PREFIX = "OFFBOARD#"
EMPLOYEE_RECORD_PREFIX = "PROFILE#"


def offboarding_sk(user_id: str) -> str:
    return f"{OFFBOARD_PREFIX}{user_id}"


def offboarding_due(tenant: str, user_id: str) -> tuple[str, str]:
    sk = offboarding_sk(user_id)
    return due_pk("OFFBOARD", "queued", shard_of(f"{tenant}#{user_id}")), sk


def employee_record_sk(user_id: str) -> str:
    return f"{EMPLOYEE_RECORD_PREFIX}{user_id}"
