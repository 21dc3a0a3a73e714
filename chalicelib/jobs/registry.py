"""The jobs by name, filled by `@job(name)` (jobs/due.py). Below jobs/__init__.py, which loads
the jobs to run one, so due.py imports this module and nothing imports back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

JobFn = Callable[[datetime, str | None], dict[str, Any]]  # (when, only this tenant or all)
JOBS: dict[str, JobFn] = {}


def job(name: str) -> Callable[[JobFn], JobFn]:
    def register(fn: JobFn) -> JobFn:
        JOBS[name] = fn
        return fn

    return register
