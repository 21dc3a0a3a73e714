"""Scheduled functions. Each is also runnable once from the console (`jobs run NAME`).

Each job reads only what is due, from the sparse, date-keyed DUE index: its cost grows
with the due items, never with the size of the table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.jobs.registry import JOBS, JobFn, job  # noqa: F401 - the public face
from chalicelib.observability import logger


def run(
    name: str, event: dict[str, Any] | None = None, at: datetime | None = None, tenant: str | None = None
) -> dict[str, Any]:
    from chalicelib.domain import clock
    from chalicelib.jobs import due  # noqa: F401 - registers the jobs

    when = at or clock.now()
    result = JOBS[name](when, tenant)
    logger.info("job finished", extra={"job": name, "at": clock.iso(when), "tenant": tenant, **result})
    return {"job": name, **result}
