"""Percentiles, ratios and interleaved timing loops."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def ratio(value: float | None, baseline: float | None) -> float | None:
    if value is None or not baseline:
        return None
    return value / baseline


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Seconds in, milliseconds out."""
    return {
        "n": len(samples),
        "p50_ms": percentile(samples, 50) * 1e3,
        "p95_ms": percentile(samples, 95) * 1e3,
        "mean_ms": statistics.fmean(samples) * 1e3,
        "min_ms": min(samples) * 1e3,
        "max_ms": max(samples) * 1e3,
    }


def interleaved(
    ops: dict[str, Callable[[], object]], *, iterations: int, warmup: int, block: int = 10
) -> dict[str, list[float]]:
    """Seconds per call of each op, run in alternating blocks so drift hits all alike.

    Each op is warmed up `warmup` times, then the ops take turns, `block` calls at a
    time, the order rotating every round, until each has `iterations` samples.
    """
    for fn in ops.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in ops}
    names = list(ops)
    clock = time.perf_counter
    turn = 0
    while any(len(s) < iterations for s in samples.values()):
        order = names[turn % len(names) :] + names[: turn % len(names)]
        turn += 1
        for name in order:
            fn, out = ops[name], samples[name]
            for _ in range(min(block, iterations - len(out))):
                start = clock()
                fn()
                out.append(clock() - start)
    return samples
