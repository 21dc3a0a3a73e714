"""The anti-scraping counting windows (智能预警): which counters a read adds to and which limit
each is held to. Pure (datetime and the key builder), so the stream function counts reads and
checks the thresholds without loading the audit's pages, freezing or the settings schemas;
domain/audit.py re-exports these names."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.db import keys

WINDOWS = (
    ("m", "%Y%m%d%H%M", timedelta(minutes=1)),
    ("h", "%Y%m%d%H", timedelta(hours=1)),
    ("d", "%Y%m%d", timedelta(days=1)),
)
LIMITS = {"m": "reads_per_minute", "h": "reads_per_hour", "d": "reads_per_day"}
WINDOW_NAMES = {"m": "minute", "h": "hour", "d": "day"}


def windows(at: datetime, epoch: int = 0) -> list[tuple[str, str, int]]:
    """(window, counter item SK, expiry time) of the minute, hour and day holding `at`, in the
    user's access epoch (it moves on each unfreeze, so counting starts afresh)."""
    out = []
    for name, pattern, length in WINDOWS:
        expiry = int((at + length + timedelta(hours=1)).timestamp())
        out.append((name, keys.access_sk(name, epoch, at.strftime(pattern)), expiry))
    return out
