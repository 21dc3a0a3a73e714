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


def test_the_minute_job_reads_a_few_minute_buckets_across_shards_and_nothing_else(school):
    # GIVEN things filed under 09:30 UTC in two shards, and under 09:45
    _due_item(school.slug, "a", "SMS", "2031-03-04T09:30", 0)
    _due_item(school.slug, "b", "SMS", "2031-03-04T09:30", 3)
    _due_item(school.slug, "c", "SMS", "2031-03-04T09:45", 1)
    # WHEN the job runs at 09:31 (its cursor says it last read 09:30)
    from chalicelib.db import messaging as messaging_db

    messaging_db.advance_job_cursor("scheduled_messages", "2031-03-04T09:30")
    with telemetry.record() as rec:
        jobs.run("scheduled_messages", at=datetime(2031, 3, 4, 9, 31, 12, tzinfo=UTC))
    # THEN it read the last three minutes (09:29-09:31): one Query per shard each, no Scan,
    # plus its cursor; what was due at 09:45 was not read at all
    assert rec.operations.count("Query") == 3 * keys.DUE_SHARDS
    assert "Scan" not in rec.operations


def test_the_app_exposes_the_three_scheduled_functions(app):
    names = {getattr(s, "name", None) for s in app.event_sources}
    assert {"due_follow_ups", "birthdays", "scheduled_messages", "handle_stream"} <= names


def test_a_second_report_check_with_nothing_new_writes_nothing(school):
    # GIVEN the nightly check of a day has run once (it records its verdict)
    from chalicelib.db import reports as reports_db

    at = datetime(2031, 3, 5, 19, 10, tzinfo=UTC)  # 03:10 on the 6th in Shanghai: checks the 5th
    with telemetry.record() as first:
        assert jobs.run("report_check", at=at, tenant=school.slug)["checked"] == 1
    assert "PutItem" in first.operations
    # WHEN it runs again with nothing new (a retry, or the next run)
    with telemetry.record() as rec:
        assert jobs.run("report_check", at=at.replace(minute=40), tenant=school.slug) == {
            "job": "report_check",
            "checked": 1,
            "drifted": 0,
        }
    # THEN it wrote nothing: the verdict kept is the same, with the first check's time
    writes = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
    assert [op for op in rec.operations if op in writes] == []
    kept = reports_db.get_many([(keys.aggregate_pk(school.slug, "2031-03-05"), reports_db.CHECK_SK)])
    assert [(v["drift"], v["checked_at"]) for v in kept.values()] == [("none", "2031-03-05T19:10:00.000Z")]
