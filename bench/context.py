"""What every section gets: the options of the run and, on demand, the local stack."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.stack import Stack

ROOT = Path(__file__).resolve().parents[1]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class Options:
    iterations: int = field(default_factory=lambda: _env_int("BENCH_ITERATIONS", 200))
    warmup: int = field(default_factory=lambda: _env_int("BENCH_WARMUP", 20))
    import_runs: int = field(default_factory=lambda: _env_int("BENCH_IMPORT_RUNS", 7))
    importtime_runs: int = field(default_factory=lambda: _env_int("BENCH_IMPORTTIME_RUNS", 3))
    staff: int = field(default_factory=lambda: _env_int("BENCH_STAFF", 10))
    package_timeout: int = field(default_factory=lambda: _env_int("BENCH_PACKAGE_TIMEOUT", 900))


class Context:
    def __init__(self, options: Options | None = None):
        self.options = options or Options()
        self.root = ROOT
        # The environment before the stack changes it: subprocesses start from this.
        self.original_env = dict(os.environ)
        self._stack: Stack | None = None

    def stack(self) -> Stack:
        """DynamoDB Local (in memory, 127.0.0.1, a free port), the app and a seeded school."""
        if self._stack is None:
            from bench.stack import Stack

            self._stack = Stack.start(self)
        return self._stack

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
