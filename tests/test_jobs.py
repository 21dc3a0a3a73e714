"""Scheduled functions read only their due bucket of the sparse DUE index."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib import jobs
from chalicelib.db import keys, telemetry
from chalicelib.db.items import UniqueItem


def _due_item(tenant: str, name: str, kind: str, bucket: str, shard: int) -> None:
    item = UniqueItem(keys.tenant_pk(tenant) + f"#TEST#{name}", keys.UNIQUE_SK, owner_id=name)
    item.DUEPK = keys.due_pk(kind, bucket, shard)
    item.DUESK = f"{tenant}#{name}"
    item.save()


def test_the_minute_job_reads_its_minute_across_shards_and_nothing_else(school):
    # GIVEN two messages due at 09:30 UTC in different shards and one due at 09:31
    _due_item(school.slug, "a", "SMS", "2031-03-04T09:30", 0)
    _due_item(school.slug, "b", "SMS", "2031-03-04T09:30", 3)
    _due_item(school.slug, "c", "SMS", "2031-03-04T09:31", 1)
    # WHEN the job runs at 09:30
    with telemetry.record() as rec:
        result = jobs.run("scheduled_messages", at=datetime(2031, 3, 4, 9, 30, 12, tzinfo=UTC))
    # THEN it finds the two, with one Query per shard and no Scan
    assert result["due"] == 2
    assert rec.operations == ["Query"] * keys.DUE_SHARDS


def test_the_app_exposes_the_three_scheduled_functions(app):
    names = {getattr(s, "name", None) for s in app.event_sources}
    assert {"due_follow_ups", "birthdays", "scheduled_messages", "handle_stream"} <= names
