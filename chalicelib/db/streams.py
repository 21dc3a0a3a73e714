"""Writing the stream's effects: coalesced per aggregate key, exactly once per record."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.expressions.operand import Path

from chalicelib.db import keys, transactions
from chalicelib.db.items import AggregateItem, SeenItem

MAX_ITEMS = 100  # a transaction's limit: markers + aggregate updates
MARKER_TTL = timedelta(days=2)  # a stream keeps records 24 hours: no replay comes later


def _chunks(records: list[Any]) -> list[list[Any]]:
    """Consecutive records whose markers and distinct aggregate keys fit one transaction."""
    chunks: list[list[Any]] = []
    current: list[Any] = []
    keys_in: set[tuple[str, str]] = set()
    for record in records:
        new = {(e.pk, e.sk) for e in record.effects} - keys_in
        if current and len(current) + 1 + len(keys_in) + len(new) > MAX_ITEMS:
            chunks.append(current)
            current, keys_in = [], set()
            new = {(e.pk, e.sk) for e in record.effects}
        current.append(record)
        keys_in |= new
    if current:
        chunks.append(current)
    return chunks


def apply(records: list[Any]) -> dict[str, int]:
    """Writes every record's effects once; returns how many were applied and how many had
    been applied before (their markers existed)."""
    outcome: Counter[str] = Counter()
    for chunk in _chunks(records):
        outcome.update(_commit(chunk))
    return dict(outcome)


def _commit(chunk: list[Any]) -> Counter[str]:
    outcome: Counter[str] = Counter()
    expires = int((datetime.now(UTC) + MARKER_TTL).timestamp())
    for attempt in range(10):
        if not chunk:
            return outcome
        totals: dict[tuple[str, str], Counter[str]] = {}
        ttls: dict[tuple[str, str], int] = {}
        for record in chunk:
            for effect in record.effects:
                totals.setdefault((effect.pk, effect.sk), Counter()).update(dict(effect.add))
                if effect.ttl:
                    ttls[(effect.pk, effect.sk)] = max(effect.ttl, ttls.get((effect.pk, effect.sk), 0))
        try:
            with transactions.write() as tx:
                for record in chunk:
                    marker = SeenItem(keys.seen_pk(record.tenant, record.event_id), record.event_id)
                    marker.expires_at = expires
                    tx.save(marker, condition=SeenItem.PK.does_not_exist(), label=f"seen:{record.sequence}")
                for (pk, sk), counts in totals.items():
                    actions: list[Any] = [Path([name]).add(value) for name, value in counts.items() if value]
                    actions.append(AggregateItem.kind.set(AggregateItem))
                    if (pk, sk) in ttls:
                        actions.append(AggregateItem.expires_at.set(ttls[(pk, sk)]))
                    tx.update(AggregateItem(pk, sk), actions, label="aggregate")
        except transactions.TransactionConflict as exc:
            done = {label.split(":", 1)[1] for label in exc.failed if label.startswith("seen:")}
            if not done:
                raise
            outcome["already_applied"] += len(done)
            chunk = [r for r in chunk if r.sequence not in done]
            continue
        except transactions.TransactionBusy:
            time.sleep(0.01 * (attempt + 1))
            continue
        outcome["applied"] += len(chunk)
        outcome["updates"] += len(totals)
        return outcome
    raise RuntimeError("stream effects could not be written after 10 attempts")
