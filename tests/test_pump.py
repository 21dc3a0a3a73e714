"""The local event pump: the table's real stream into the stream handler, and the cron schedules."""

from __future__ import annotations

import json
import os
import time
import types
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.pump import Scheduler, StreamPump
from tests.conftest import without_quiet_hours


def _pump(endpoint: str, checkpoint, **kw: Any) -> tuple[StreamPump, list[tuple[dict, Any]]]:
    """A pump on the suite's table whose handler is app.handle_stream, spied on."""
    import app as app_module

    invocations: list[tuple[dict, Any]] = []

    def handler(event, context):
        invocations.append((event, context))
        return app_module.handle_stream(event, context)

    options: dict[str, Any] = {"start_position": "LATEST", "retry_delay": 0.01, "idle_seconds": 0.05, **kw}
    pump = StreamPump(
        table_name=os.environ["CRM_TABLE"], endpoint=endpoint, checkpoint_path=checkpoint, handler=handler, **options
    )
    return pump, invocations


# Guards against a pump that never gets there, not timings: a pump started from the trim
# horizon reads every record the suite's shared table has streamed so far, which on a busy
# two-core machine took over 15 s once the suite grew.
PATIENCE = 120.0


def _pump_until(pump: StreamPump, done: Callable[[], bool], timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        read = pump.poll_once()
        if done():
            return
        if read == 0:
            time.sleep(0.05)
    raise AssertionError(f"the pump did not get there within {timeout} s")


def _drain(pump: StreamPump, timeout: float = PATIENCE) -> None:
    """Polls until a poll reads nothing (the stream is caught up)."""
    deadline = time.monotonic() + timeout
    while pump.poll_once():
        assert time.monotonic() < deadline, "the stream never ran dry"


@pytest.fixture
def campus_images(school):
    """What a temporary 'Campus' stream effect saw for this school: (event name, image); a
    hook in `behaviour` (by campus id) that raises fails the campus's record."""
    from tests.test_streams import extra_effect

    seen: list[tuple[str, dict]] = []
    behaviour: dict[str, Callable[[dict], None]] = {}

    def on_campus(record):
        image = record.new or record.old or {}
        if image.get("PK") != f"T#{school.slug}":
            return []
        hook = behaviour.get(image.get("id", ""))
        if hook:
            hook(image)
        seen.append((record.event_name, image))
        return []

    with extra_effect(on_campus, "Campus"):
        yield seen, behaviour


def _names(seen: list[tuple[str, dict]]) -> list[str]:
    return [image["name"] for _, image in seen]


def _record_for(invocations, campus_id: str) -> dict:
    for event, _ in invocations:
        for record in event["Records"]:
            if record["dynamodb"].get("NewImage", {}).get("id", {}).get("S") == campus_id:
                return record
    raise AssertionError(f"no record for campus {campus_id}")


def test_a_write_reaches_the_stream_handler_as_a_lambda_event(
    dynamodb_endpoint, table, school, campus_images, tmp_path
):
    seen, _ = campus_images
    # GIVEN a pump positioned at the tip of the table's stream
    pump, invocations = _pump(dynamodb_endpoint, tmp_path / "checkpoint.json")
    pump.poll_once()
    # WHEN an admin opens a campus through the API
    response = school.admin.post("/campuses", {"name": "前海校区 🏫", "address": "深圳市前海"})
    assert response.status_code == 201, response.body
    campus_id = response.json_body["id"]
    _pump_until(pump, lambda: "前海校区 🏫" in _names(seen))
    # THEN the 'Campus' handler saw the insert with the Chinese name intact
    assert seen == [("INSERT", seen[0][1])]
    assert seen[0][1]["address"] == "深圳市前海"
    # AND the handler got a Lambda-shaped DynamoDB stream record and a Lambda context
    record = _record_for(invocations, campus_id)
    ddb = record["dynamodb"]
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventVersion"] == "1.1"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == pump.stream_arn
    assert isinstance(ddb["ApproximateCreationDateTime"], int | float)
    assert abs(ddb["ApproximateCreationDateTime"] - time.time()) < 300
    assert ddb["Keys"] == {"PK": {"S": f"T#{school.slug}"}, "SK": {"S": f"CAMPUS#{campus_id}"}}
    assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert ddb["SequenceNumber"].isdigit() and ddb["SizeBytes"] > 0
    assert "OldImage" not in ddb
    json.dumps(invocations[-1][0])  # serialisable, as a real event is
    context = invocations[-1][1]
    assert context.get_remaining_time_in_millis() > 0
    assert context.aws_request_id and context.function_name and context.memory_limit_in_mb
    assert context.invoked_function_arn.startswith("arn:aws:lambda:")
    # AND the checkpoint file records how far the pump got
    saved = json.loads((tmp_path / "checkpoint.json").read_text())
    assert saved["stream_arn"] == pump.stream_arn
    assert any(int(seq) >= int(ddb["SequenceNumber"]) for seq in saved["shards"].values())


def test_a_failed_record_is_redelivered_then_processed_once_and_the_checkpoint_advances(
    dynamodb_endpoint, table, school, campus_images, tmp_path
):
    seen, behaviour = campus_images
    pump, invocations = _pump(dynamodb_endpoint, tmp_path / "checkpoint.json", max_retries=3)
    pump.poll_once()
    # GIVEN two new campuses, the first of whose handler fails once
    first = school.admin.post("/campuses", {"name": "失败一次"}).json_body["id"]
    second = school.admin.post("/campuses", {"name": "总是成功"}).json_body["id"]
    attempts = {"n": 0}

    def fail_once(image):
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise RuntimeError("transient")

    behaviour[first] = fail_once
    # WHEN the pump delivers them
    _pump_until(pump, lambda: "失败一次" in _names(seen))
    _drain(pump)
    # THEN the failed record was tried twice and processed exactly once
    assert attempts["n"] == 2
    assert _names(seen).count("失败一次") == 1
    # AND the batch was re-delivered from the failed record on (so the second came again, at least once)
    assert _names(seen).count("总是成功") == 2
    # AND the checkpoint is past both records
    last = _record_for(invocations, second)["dynamodb"]["SequenceNumber"]
    assert any(int(seq) >= int(last) for seq in pump.checkpoint.values())
    assert first != second


def test_a_record_that_keeps_failing_is_skipped_after_the_retries(
    dynamodb_endpoint, table, school, campus_images, tmp_path
):
    seen, behaviour = campus_images
    pump, invocations = _pump(dynamodb_endpoint, tmp_path / "checkpoint.json", max_retries=2)
    pump.poll_once()
    # GIVEN a campus whose handler always fails, followed by a good one
    bad = school.admin.post("/campuses", {"name": "永远失败"}).json_body["id"]

    def always_fail(image):
        raise RuntimeError("permanent")

    behaviour[bad] = always_fail
    # WHEN the pump delivers it
    _pump_until(pump, lambda: len(invocations) >= 3)
    _drain(pump)
    school.admin.post("/campuses", {"name": "之后的校区"})
    _pump_until(pump, lambda: "之后的校区" in _names(seen))
    # THEN it was tried once plus two retries, then skipped, and the pump went on
    bad_seq = _record_for(invocations, bad)["dynamodb"]["SequenceNumber"]
    tries = sum(1 for event, _ in invocations for r in event["Records"] if r["dynamodb"]["SequenceNumber"] == bad_seq)
    assert tries == 3
    assert "永远失败" not in _names(seen)


def test_the_checkpoint_survives_a_new_pump(dynamodb_endpoint, table, school, campus_images, tmp_path):
    seen, _ = campus_images
    checkpoint = tmp_path / "checkpoint.json"
    # GIVEN a pump that delivered campus A and stopped
    first_pump, _ = _pump(dynamodb_endpoint, checkpoint)
    first_pump.poll_once()
    school.admin.post("/campuses", {"name": "校区A"})
    _pump_until(first_pump, lambda: "校区A" in _names(seen))
    _drain(first_pump)
    seen.clear()
    # WHEN a new pump starts on the same checkpoint (from TRIM_HORIZON if it had none) and B is written
    second_pump, _ = _pump(dynamodb_endpoint, checkpoint, start_position="TRIM_HORIZON")
    _drain(second_pump)
    school.admin.post("/campuses", {"name": "校区B"})
    _pump_until(second_pump, lambda: "校区B" in _names(seen))
    # THEN it delivered B but not A again
    assert _names(seen) == ["校区B"]


def test_a_checkpoint_for_a_shard_that_is_gone_restarts_from_trim_horizon(
    dynamodb_endpoint, table, school, campus_images, tmp_path
):
    seen, _ = campus_images
    # GIVEN a checkpoint naming a shard the stream no longer has
    checkpoint = tmp_path / "checkpoint.json"
    stream_arn = table["LatestStreamArn"]
    checkpoint.write_text(
        json.dumps({"stream_arn": stream_arn, "shards": {"shardId-00000000000000000000-gone0000": "1"}})
    )
    # WHEN a pump starts on it
    pump, _ = _pump(dynamodb_endpoint, checkpoint)
    _pump_until(pump, lambda: school.campus["name"] in _names(seen))
    # THEN it read the current shards from TRIM_HORIZON, so the campus made before it started arrives
    assert _names(seen) == [school.campus["name"]]
    assert "shardId-00000000000000000000-gone0000" not in pump.checkpoint


class _FakeStreams:
    """A dynamodbstreams client with hand-made shards (DynamoDB Local rarely rolls its shards over)."""

    def __init__(self, shards: list[dict[str, Any]]) -> None:
        self.shards = shards

    def describe_stream(self, StreamArn, ExclusiveStartShardId=None):
        ids = [s["ShardId"] for s in self.shards]
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = self.shards[start : start + 1]  # one shard per page, to exercise paging
        listed = []
        for shard in page:
            seqs = [r["dynamodb"]["SequenceNumber"] for r in shard["records"]]
            seq_range = {"StartingSequenceNumber": seqs[0]}
            if shard.get("closed"):
                seq_range["EndingSequenceNumber"] = seqs[-1]
            entry = {"ShardId": shard["ShardId"], "SequenceNumberRange": seq_range}
            if shard.get("parent"):
                entry["ParentShardId"] = shard["parent"]
            listed.append(entry)
        more = start + 1 < len(self.shards)
        return {"StreamDescription": {"Shards": listed, **({"LastEvaluatedShardId": ids[start]} if more else {})}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        shard = next(s for s in self.shards if s["ShardId"] == ShardId)
        seqs = [r["dynamodb"]["SequenceNumber"] for r in shard["records"]]
        position = {"TRIM_HORIZON": 0, "LATEST": len(seqs)}.get(ShardIteratorType)
        if ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            position = seqs.index(SequenceNumber) + 1
        return {"ShardIterator": f"{ShardId}|{position}"}

    def get_records(self, ShardIterator, Limit):
        shard_id, position = ShardIterator.split("|")
        shard = next(s for s in self.shards if s["ShardId"] == shard_id)
        records = shard["records"][int(position) : int(position) + Limit]
        end = int(position) + len(records)
        if shard.get("closed") and end >= len(shard["records"]):
            return {"Records": records}  # no NextShardIterator: read to its end
        return {"Records": records, "NextShardIterator": f"{shard_id}|{end}"}


def _fake_record(seq: int) -> dict[str, Any]:
    keys = {"PK": {"S": "T#fake"}, "SK": {"S": f"ITEM#{seq}"}}
    return {
        "eventID": f"event-{seq}",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ddblocal",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2031, 3, 4, 9, 30, tzinfo=UTC),
            "Keys": keys,
            "NewImage": {**keys, "n": {"N": "2"}},
            "OldImage": {**keys, "n": {"N": "1"}},
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": 40,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def test_a_child_shard_is_read_after_its_parent_and_closed_shards_are_remembered(tmp_path):
    # GIVEN a stream whose open child shard is listed before its closed parent
    arn = "arn:aws:dynamodb:ddblocal:000000000000:table/fake/stream/2031-03-04T00:00:00.000"
    streams = _FakeStreams(
        [
            {
                "ShardId": "shardId-00000000000000000002-child000",
                "parent": "shardId-00000000000000000001-parent00",
                "records": [_fake_record(3)],
            },
            {
                "ShardId": "shardId-00000000000000000001-parent00",
                "closed": True,
                "records": [_fake_record(1), _fake_record(2)],
            },
        ]
    )
    ddb = types.SimpleNamespace(
        describe_table=lambda TableName: {
            "Table": {"LatestStreamArn": arn, "StreamSpecification": {"StreamEnabled": True}}
        }
    )
    delivered: list[dict] = []

    def handler(event, context):
        delivered.extend(event["Records"])
        return {"batchItemFailures": []}

    checkpoint = tmp_path / "checkpoint.json"
    options = {
        "table_name": "fake",
        "endpoint": "http://127.0.0.1:9",
        "checkpoint_path": checkpoint,
        "handler": handler,
        "ddb_client": ddb,
        "streams_client": streams,
        "idle_seconds": 0.01,
    }
    pump = StreamPump(**options)
    # WHEN the pump polls until the stream is read
    deadline = time.monotonic() + 5
    while len(delivered) < 3 and time.monotonic() < deadline:
        pump.poll_once()
    # THEN the parent's records come first, then the child's, each once, as Lambda records
    assert [r["dynamodb"]["SequenceNumber"][-1] for r in delivered] == ["1", "2", "3"]
    assert delivered[0]["dynamodb"]["ApproximateCreationDateTime"] == int(
        datetime(2031, 3, 4, 9, 30, tzinfo=UTC).timestamp()
    )
    assert delivered[0]["eventSourceARN"] == arn and delivered[0]["awsRegion"] == "us-east-1"
    assert delivered[0]["dynamodb"]["OldImage"]["n"] == {"N": "1"}
    # AND the checkpoint knows the parent is finished and where the child is
    saved = json.loads(checkpoint.read_text())
    assert saved["finished"] == ["shardId-00000000000000000001-parent00"]
    assert saved["shards"]["shardId-00000000000000000002-child000"] == f"{3:021d}"
    # AND a restarted pump delivers nothing again
    delivered.clear()
    again = StreamPump(**options)
    assert again.poll_once() == 0 and again.poll_once() == 0
    assert delivered == []


def test_the_scheduler_fires_the_apps_functions_when_their_time_comes(app):
    import app as app_module

    # GIVEN a scheduler on the app, with a clock we move by hand
    clock = [datetime(2031, 3, 4, 10, 59, 30, tzinfo=UTC)]
    scheduler = Scheduler(app_module, now=lambda: clock[0])
    assert {fn.name: fn.expression for fn in scheduler.functions} == {
        "due_follow_ups": "cron(0 * * * ? *)",
        "birthdays": "cron(5 * * * ? *)",
        "scheduled_messages": "rate(1 minute)",
        "appointment_reminders": "cron(15 * * * ? *)",
        "pool_reclaim": "cron(25 * * * ? *)",
        "card_alerts": "cron(35 * * * ? *)",
        "report_check": "cron(45 * * * ? *)",
        "lead_imports": "rate(1 minute)",
        "staff_offboarding": "rate(1 minute)",
    }
    # WHEN nothing is due yet
    # THEN nothing fires
    assert scheduler.run_pending() == []
    assert scheduler.seconds_until_next() == 30

    # WHEN the clock reaches 11:00
    clock[0] = datetime(2031, 3, 4, 11, 0, 0, tzinfo=UTC)
    runs = scheduler.run_pending()
    # THEN the hourly follow-up job and the minutely messages job run, for 11:00, without error
    assert sorted(r.name for r in runs) == ["due_follow_ups", "lead_imports", "scheduled_messages", "staff_offboarding"]
    assert all(r.error is None and r.scheduled_for == clock[0] for r in runs), runs
    assert {r.result["job"] for r in runs} == {
        "due_follow_ups",
        "lead_imports",
        "scheduled_messages",
        "staff_offboarding",
    }
    # AND running again at the same time fires nothing twice
    assert scheduler.run_pending() == []

    # WHEN the clock jumps to 11:05:20 (five minutes missed)
    clock[0] = datetime(2031, 3, 4, 11, 5, 20, tzinfo=UTC)
    runs = scheduler.run_pending()
    # THEN birthdays run at :05 and the minutely job once (missed fires collapse into one)
    assert sorted(r.name for r in runs) == ["birthdays", "lead_imports", "scheduled_messages", "staff_offboarding"]
    assert all(r.error is None for r in runs), runs
    assert {fn.name: fn.next_run for fn in scheduler.functions} == {
        "due_follow_ups": datetime(2031, 3, 4, 12, 0, tzinfo=UTC),
        "birthdays": datetime(2031, 3, 4, 12, 5, tzinfo=UTC),
        "scheduled_messages": datetime(2031, 3, 4, 11, 6, tzinfo=UTC),
        "appointment_reminders": datetime(2031, 3, 4, 11, 15, tzinfo=UTC),
        "pool_reclaim": datetime(2031, 3, 4, 11, 25, tzinfo=UTC),
        "card_alerts": datetime(2031, 3, 4, 11, 35, tzinfo=UTC),
        "report_check": datetime(2031, 3, 4, 11, 45, tzinfo=UTC),
        "lead_imports": datetime(2031, 3, 4, 11, 6, tzinfo=UTC),
        "staff_offboarding": datetime(2031, 3, 4, 11, 6, tzinfo=UTC),
    }


def test_the_scheduled_event_is_a_cloudwatch_scheduled_event_and_a_failing_job_is_contained():
    from chalice import Chalice

    # GIVEN an app with one failing and one working scheduled function
    app = Chalice(app_name="pump-test")
    received = []

    @app.schedule("rate(1 minute)")
    def boom(event):
        raise RuntimeError("the job failed")

    @app.schedule("cron(0/15 * * * ? *)")
    def fine(event):
        received.append(event)
        return "done"

    module = types.SimpleNamespace(app=app, boom=boom, fine=fine)
    clock = [datetime(2031, 3, 4, 10, 59, 30, tzinfo=UTC)]
    scheduler = Scheduler(module, now=lambda: clock[0])
    # WHEN both come due
    clock[0] = datetime(2031, 3, 4, 11, 0, 1, tzinfo=UTC)
    runs = {r.name: r for r in scheduler.run_pending()}
    # THEN the failure is recorded, not raised, and the other job still ran
    assert isinstance(runs["boom"].error, RuntimeError)
    assert runs["fine"].result == "done"
    # AND the working job got what EventBridge sends
    event = received[0]
    assert event.detail_type == "Scheduled Event"
    assert event.source == "aws.events"
    assert event.time == "2031-03-04T11:00:00Z"
    assert event.detail == {}
    assert event.resources and event.resources[0].startswith("arn:aws:events:us-east-1:")
    assert event.to_dict()["version"] == "0"
    assert event.context.get_remaining_time_in_millis() > 0
    # AND the failing job is scheduled again
    assert {fn.name: fn.next_run for fn in scheduler.functions}["boom"] == datetime(2031, 3, 4, 11, 1, tzinfo=UTC)


def test_the_pump_prints_what_the_outbox_sent(dynamodb_endpoint, table, school, tmp_path, caplog):
    import logging

    pump, _ = _pump(dynamodb_endpoint, tmp_path / "checkpoint.json")
    pump.poll_once()
    caplog.set_level(logging.INFO, logger="crm.local.outbox")
    without_quiet_hours(school)
    sent = school.admin.post(
        "/messages",
        {
            "channel": "sms",
            "purpose": "notice",
            "text": "明天停课，请留意 🌧",
            "recipients": {"phones": ["13800138000"]},
        },
    )
    assert sent.status_code == 201, sent.body
    _pump_until(pump, lambda: any("SMS to +8613800138000" in r.getMessage() for r in caplog.records))
    line = next(r.getMessage() for r in caplog.records if "SMS to" in r.getMessage())
    assert line == f"{school.slug}: SMS to +8613800138000, 1 segment(s): 明天停课，请留意 🌧"
