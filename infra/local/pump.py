"""The local event pump: what AWS Lambda's event sources do for the app, on DynamoDB Local.

`StreamPump` reads the table's real DynamoDB stream (boto3 `dynamodbstreams` against
DynamoDB Local), turns each record into the record of a Lambda DynamoDB-stream event,
and calls `app.handle_stream(event, context)` with batches of up to 100, exactly as the
event source mapping would. `batchItemFailures` (ReportBatchItemFailures) are honoured:
the batch is re-delivered from the first failed sequence number, with back-off, a
bounded number of times, and then skipped with a log line. The last processed sequence
number of every shard is checkpointed in a JSON file, so a restart continues where the
previous run stopped.

`Scheduler` fires the app's scheduled functions on their `rate(...)` / `cron(...)`
expressions (UTC, as EventBridge does), calling `app.<name>(event, context)` with a
CloudWatch "Scheduled Event". A failing job is logged; it never stops the pump.

Both run in the `make run` process, each in a thread, and stop on a `threading.Event`.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ACCOUNT = "000000000000"
stream_log = logging.getLogger("crm.local.stream")
cron_log = logging.getLogger("crm.local.cron")
outbox_log = logging.getLogger("crm.local.outbox")

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The parts of Lambda's context object that handlers and powertools read."""

    def __init__(
        self,
        function_name: str,
        *,
        timeout_seconds: float = 60,
        memory_limit_in_mb: int = 512,
        region: str = "us-east-1",
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        seconds = value.timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One `get_records` record as Lambda hands it to the function (epoch-second timestamps)."""
    source = record.get("dynamodb", {})
    ddb: dict[str, Any] = {}
    if "ApproximateCreationDateTime" in source:
        ddb["ApproximateCreationDateTime"] = _epoch(source["ApproximateCreationDateTime"])
    for key in ("Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"):
        if key in source:
            ddb[key] = source[key]
    out: dict[str, Any] = {
        "eventID": record.get("eventID", str(uuid.uuid4())),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions
        out["userIdentity"] = record["userIdentity"]
    return out


def outbox_lines(records: list[dict[str, Any]]) -> list[str]:
    """What the outbox provider 'sent', one line each, from a batch of stream records: the
    local stand-in for a phone buzzing."""
    lines = []
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if record.get("eventName") != "INSERT" or (image.get("type") or {}).get("S") != "Outbox":
            continue
        text = {k: (v.get("S") or v.get("N") or "") for k, v in image.items()}
        tenant = text.get("PK", "").split("#")[1] if text.get("PK", "").startswith("T#") else "?"
        cost = f", {text.get('segments')} segment(s)" if text.get("channel") == "sms" else ""
        subject = f" [{text['subject']}]" if text.get("subject") else ""
        lines.append(
            f"{tenant}: {text.get('channel', '?').upper()} to {text.get('to')}{cost}{subject}: {text.get('body')}"
        )
    return lines


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _short(shard_id: str) -> str:
    return shard_id[-8:]


def _app_module(module: ModuleType | None) -> ModuleType:
    return module if module is not None else importlib.import_module("app")


class StreamPump:
    """Reads a table's DynamoDB stream and feeds the stream handler as Lambda would."""

    def __init__(
        self,
        *,
        table_name: str,
        endpoint: str,
        checkpoint_path: Path,
        handler: Handler | None = None,
        region: str = "us-east-1",
        function_name: str = "campus-crm-local-handle_stream",
        batch_size: int = 100,
        max_retries: int = 3,
        retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        idle_seconds: float = 0.5,
        refresh_seconds: float = 10.0,
        start_position: str = "TRIM_HORIZON",
        timeout_seconds: float = 60,
        stop: threading.Event | None = None,
        ddb_client: Any = None,
        streams_client: Any = None,
    ) -> None:
        import boto3

        if start_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("start_position is TRIM_HORIZON or LATEST")
        self.table_name = table_name
        self.checkpoint_path = Path(checkpoint_path)
        self.region = region
        self.function_name = function_name
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.idle_seconds = idle_seconds
        self.refresh_seconds = refresh_seconds
        self.start_position = start_position
        self.timeout_seconds = timeout_seconds
        self.stop_event = stop or threading.Event()
        self._handler = handler
        self._ddb = ddb_client or boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
        self._streams = streams_client or boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region)
        self.stream_arn: str | None = None
        self._checkpoint: dict[str, str] = {}
        self._finished: set[str] = set()
        self._iterators: dict[str, str] = {}
        self._resumed = False
        self._started = False
        self._next_refresh = 0.0

    # -- the Lambda side -------------------------------------------------------------

    def _invoke(self, event: dict[str, Any]) -> Any:
        handler = self._handler or _app_module(None).handle_stream
        context = LambdaContext(self.function_name, timeout_seconds=self.timeout_seconds, region=self.region)
        return handler(event, context)

    @property
    def checkpoint(self) -> dict[str, str]:
        """Last processed sequence number per shard (a copy)."""
        return dict(self._checkpoint)

    # -- checkpoint file -------------------------------------------------------------

    def _load_checkpoint(self) -> None:
        self._checkpoint, self._finished, self._resumed = {}, set(), False
        try:
            data = json.loads(self.checkpoint_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            stream_log.warning("ignoring unreadable checkpoint %s: %s", self.checkpoint_path, exc)
            return
        if data.get("stream_arn") != self.stream_arn:
            stream_log.info("checkpoint is for another stream (table re-created?); starting from TRIM_HORIZON")
            self._resumed = True
            return
        self._checkpoint = {str(k): str(v) for k, v in (data.get("shards") or {}).items()}
        self._finished = set(data.get("finished") or [])
        self._resumed = True

    def _save_checkpoint(self) -> None:
        data = {"stream_arn": self.stream_arn, "shards": self._checkpoint, "finished": sorted(self._finished)}
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.checkpoint_path.with_name(self.checkpoint_path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.checkpoint_path)

    def _commit(self, shard_id: str, sequence_number: str) -> None:
        self._checkpoint[shard_id] = sequence_number
        self._save_checkpoint()

    # -- shards ----------------------------------------------------------------------

    def _describe_stream_arn(self) -> str:
        table = self._ddb.describe_table(TableName=self.table_name)["Table"]
        arn = table.get("LatestStreamArn")
        if not arn or not table.get("StreamSpecification", {}).get("StreamEnabled"):
            raise RuntimeError(f"table {self.table_name} has no stream enabled")
        return arn

    def _list_shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = self._streams.describe_stream(**kwargs)["StreamDescription"]
            shards += desc.get("Shards", [])
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def _open(self, shard_id: str, position: str) -> str | None:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard_id}
        seq = self._checkpoint.get(shard_id)
        if seq:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seq)
        else:
            kwargs["ShardIteratorType"] = position
        try:
            return self._streams.get_shard_iterator(**kwargs).get("ShardIterator")
        except Exception as exc:
            code = _error_code(exc)
            if code == "TrimmedDataAccessException":
                stream_log.warning("shard %s: checkpoint %s was trimmed; reading from TRIM_HORIZON", shard_id, seq)
                kwargs = {"StreamArn": self.stream_arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
                return self._streams.get_shard_iterator(**kwargs).get("ShardIterator")
            if code == "ResourceNotFoundException":
                return None
            raise

    def refresh(self) -> None:
        """(Re)discovers the stream and its shards; opens an iterator on every shard ready to read."""
        arn = self._describe_stream_arn()
        if arn != self.stream_arn:
            if self.stream_arn is not None:
                stream_log.info("the table has a new stream %s", arn)
            self.stream_arn = arn
            self._iterators.clear()
            self._started = False
            self._load_checkpoint()
        shards = self._list_shards()
        ids = {s["ShardId"] for s in shards}
        first = not self._started
        position = self.start_position if first and not self._resumed else "TRIM_HORIZON"
        changed = False
        gone = (set(self._checkpoint) | self._finished) - ids
        if gone:
            # Trimmed away (or a checkpoint from an older stream): forget them; their
            # children, if any, are read from TRIM_HORIZON.
            for shard_id in gone:
                self._checkpoint.pop(shard_id, None)
                self._finished.discard(shard_id)
            changed = True
        # Closed shards already read to their end, or skipped by LATEST, need no iterator.
        for shard in shards:
            shard_id = shard["ShardId"]
            end = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
            idle = end and shard_id not in self._finished and shard_id not in self._iterators
            if idle and (self._checkpoint.get(shard_id) == end or (first and position == "LATEST")):
                self._finished.add(shard_id)
                changed = True
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self._iterators or shard_id in self._finished:
                continue
            parent = shard.get("ParentShardId")
            if parent and parent in ids and parent not in self._finished:
                continue  # a parent's records come first (order per item)
            iterator = self._open(shard_id, position)
            if iterator is None:
                self._finished.add(shard_id)
                changed = True
            else:
                self._iterators[shard_id] = iterator
                stream_log.debug("reading shard %s", shard_id)
        self._started = True
        if changed or first:
            self._save_checkpoint()
        self._next_refresh = time.monotonic() + self.refresh_seconds

    # -- reading and delivering ------------------------------------------------------

    def poll_once(self) -> int:
        """One read of every open shard (at most one batch each); returns the records read."""
        if self.stream_arn is None or time.monotonic() >= self._next_refresh or not self._iterators:
            self.refresh()
        read = 0
        for shard_id in list(self._iterators):
            if self.stop_event.is_set():
                break
            read += self._poll_shard(shard_id)
        return read

    def _poll_shard(self, shard_id: str) -> int:
        try:
            response = self._streams.get_records(ShardIterator=self._iterators[shard_id], Limit=self.batch_size)
        except Exception as exc:
            code = _error_code(exc)
            if code in ("ExpiredIteratorException", "TrimmedDataAccessException", "ResourceNotFoundException"):
                stream_log.info("shard %s: %s; reopening", _short(shard_id), code)
                del self._iterators[shard_id]
                self._next_refresh = 0.0
                return 0
            raise
        records = response.get("Records", [])
        complete = True
        if records:
            complete = self._deliver(shard_id, records)
        next_iterator = response.get("NextShardIterator")
        if not complete:
            # Stopped mid-retry: reopen from the checkpoint next time, so nothing is lost.
            del self._iterators[shard_id]
        elif next_iterator:
            self._iterators[shard_id] = next_iterator
        else:
            stream_log.info("shard %s closed and read to its end", _short(shard_id))
            del self._iterators[shard_id]
            self._finished.add(shard_id)
            self._save_checkpoint()
            self._next_refresh = 0.0  # look for its children now
        return len(records)

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> bool:
        """Invokes the handler until the batch succeeds or retries run out; False if stopped."""
        pending = [lambda_record(r, self.stream_arn or "", self.region) for r in records]
        attempt = 0
        while pending:
            seqs = [r["dynamodb"]["SequenceNumber"] for r in pending]
            started = time.monotonic()
            failed: list[str | None]
            try:
                result = self._invoke({"Records": pending})
                failed = [f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or []]
                error = ""
            except Exception as exc:  # noqa: BLE001 - any function error fails the whole batch, as in Lambda
                failed, error = [seqs[0]], f" ({type(exc).__name__}: {exc})"
            ms = (time.monotonic() - started) * 1000
            span = f"shard {_short(shard_id)} records={len(pending)} seq {seqs[0]}..{seqs[-1]}"
            if not failed:
                stream_log.info("batch %s ok in %.0f ms", span, ms)
                self._commit(shard_id, seqs[-1])
                for line in outbox_lines(pending):
                    outbox_log.info("%s", line)
                return True
            # An unknown or empty identifier fails the whole batch (Lambda does the same).
            first = min((seqs.index(f) for f in failed if f in seqs), default=0) if None not in failed else 0
            if first > 0:
                self._commit(shard_id, seqs[first - 1])
                pending = pending[first:]
                attempt = 0  # progress: the retry budget is per failing record
            attempt += 1
            if attempt > self.max_retries:
                stream_log.error(
                    "batch %s failed %d times from seq %s%s; skipping %d records",
                    span,
                    attempt,
                    seqs[first],
                    error,
                    len(pending),
                )
                self._commit(shard_id, seqs[-1])
                return True
            delay = min(self.max_retry_delay, self.retry_delay * 2 ** (attempt - 1))
            stream_log.warning(
                "batch %s: %d failed from seq %s%s; retry %d/%d in %.1f s",
                span,
                len(failed),
                seqs[first],
                error,
                attempt,
                self.max_retries,
                delay,
            )
            if self.stop_event.wait(delay):
                return False
        return True

    def run(self, stop: threading.Event | None = None) -> None:
        """Polls until `stop` is set; sleeps `idle_seconds` whenever there is nothing new."""
        if stop is not None:
            self.stop_event = stop
        stop = self.stop_event
        failures = 0
        while not stop.is_set():
            try:
                read = self.poll_once()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - DynamoDB Local restarting, table missing: keep polling
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    stream_log.warning("stream unavailable (%s: %s); retrying", type(exc).__name__, exc)
                stop.wait(min(5.0, self.idle_seconds * 2**failures))
                continue
            if read == 0:
                stop.wait(self.idle_seconds)


# -- schedules -------------------------------------------------------------------------

_MONTHS = {
    m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)
}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
# name, lowest, highest, names
_CRON_FIELDS: list[tuple[str, int, int, dict[str, int]]] = [
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, {}),
]
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class Rate:
    """`rate(N unit)`. Locally aligned to the epoch: rate(5 minutes) fires at :00, :05, ... UTC."""

    def __init__(self, seconds: int, expression: str) -> None:
        self.seconds = seconds
        self.expression = expression

    def next_after(self, moment: datetime) -> datetime:
        step = int(moment.timestamp()) // self.seconds + 1
        return datetime.fromtimestamp(step * self.seconds, UTC)

    def __repr__(self) -> str:
        return self.expression


class Cron:
    """AWS `cron(minutes hours day-of-month month day-of-week year)`, in UTC."""

    def __init__(self, fields: list[frozenset[int] | None], expression: str) -> None:
        self.minutes, self.hours, self.days, self.months, self.weekdays, self.years = fields
        self.expression = expression

    def _day_matches(self, moment: datetime) -> bool:
        if self.days is not None:
            return moment.day in self.days
        assert self.weekdays is not None
        return (moment.isoweekday() % 7) + 1 in self.weekdays  # AWS: 1 = SUN ... 7 = SAT

    def next_after(self, moment: datetime) -> datetime:
        """The first minute strictly after `moment` that matches."""
        assert self.minutes and self.hours and self.months and self.years
        t = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        last_year = max(self.years)
        while t.year <= last_year:
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = datetime(t.year + t.month // 12, t.month % 12 + 1, 1, tzinfo=UTC)
            elif not self._day_matches(t):
                t = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = datetime(t.year, t.month, t.day, t.hour, tzinfo=UTC) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise ValueError(f"{self.expression} never fires after {moment.isoformat()}")

    def __repr__(self) -> str:
        return self.expression


def _cron_value(token: str, name: str, lo: int, hi: int, names: dict[str, int]) -> int:
    token = token.strip().upper()
    if token.isdigit():
        value = int(token)
    elif token in names:
        value = names[token]
    else:
        if any(c in token for c in "LW#"):
            raise ValueError(f"{name}: {token!r} (L, W and #) is not supported by the local scheduler")
        raise ValueError(f"{name}: {token!r} is not a number or a name")
    if not lo <= value <= hi:
        raise ValueError(f"{name}: {value} is outside {lo}-{hi}")
    return value


def _cron_field(text: str, name: str, lo: int, hi: int, names: dict[str, int]) -> frozenset[int] | None:
    if text == "?":
        if name not in ("day-of-month", "day-of-week"):
            raise ValueError(f"{name}: '?' is only allowed in day-of-month or day-of-week")
        return None
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name}: bad step in {part!r}")
            step = int(step_text)
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _cron_value(a, name, lo, hi, names), _cron_value(b, name, lo, hi, names)
            if start > end:
                raise ValueError(f"{name}: range {base!r} runs backwards")
        else:
            start = _cron_value(base, name, lo, hi, names)
            end = hi if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_schedule(expression: Any) -> Rate | Cron:
    """Parses a schedule expression (a string or chalice's Rate/Cron objects)."""
    text = expression.to_string() if hasattr(expression, "to_string") else str(expression)
    text = text.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value <= 0:
            raise ValueError(f"{text}: the rate must be positive")
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"{text}: AWS wants a singular unit for 1 and a plural one otherwise")
        return Rate(value * _UNIT_SECONDS[unit.rstrip("s")], text)
    cron = _CRON.match(text)
    if not cron:
        raise ValueError(f"{text!r} is neither rate(...) nor cron(...)")
    parts = cron.group(1).split()
    if len(parts) != 6:
        raise ValueError(f"{text}: AWS cron has 6 fields (minutes hours day-of-month month day-of-week year)")
    fields = [_cron_field(p, *spec) for p, spec in zip(parts, _CRON_FIELDS, strict=True)]
    if (fields[2] is None) == (fields[4] is None):
        raise ValueError(f"{text}: exactly one of day-of-month and day-of-week must be '?'")
    return Cron(fields, text)


@dataclass
class ScheduledFunction:
    name: str
    expression: str
    handler_string: str
    schedule: Rate | Cron
    next_run: datetime | None = None


@dataclass
class JobRun:
    name: str
    scheduled_for: datetime
    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


def scheduled_functions(app: Any) -> list[ScheduledFunction]:
    """The app's `@app.schedule(...)` functions, from its event sources."""
    found = []
    for source in getattr(app, "event_sources", []):
        expression = getattr(source, "schedule_expression", None)
        if expression is None:
            continue
        schedule = parse_schedule(expression)
        found.append(ScheduledFunction(source.name, repr(schedule), source.handler_string, schedule))
    return found


class Scheduler:
    """Fires the app's scheduled functions when their time comes (clock injectable for tests)."""

    def __init__(
        self,
        app_module: ModuleType | Any | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        region: str = "us-east-1",
        function_prefix: str = "campus-crm-local-",
        timeout_seconds: float = 300,
        functions: Iterable[ScheduledFunction] | None = None,
    ) -> None:
        self.module = _app_module(app_module)
        self.now = now or (lambda: datetime.now(UTC))
        self.region = region
        self.function_prefix = function_prefix
        self.timeout_seconds = timeout_seconds
        self.functions = list(functions) if functions is not None else scheduled_functions(self.module.app)
        start = self.now()
        for fn in self.functions:
            fn.next_run = fn.schedule.next_after(start)

    def _resolve(self, handler_string: str) -> Callable[..., Any]:
        module_name, _, attr = handler_string.rpartition(".")
        module = self.module if module_name in ("", "app") else importlib.import_module(module_name)
        return getattr(module, attr)

    def event(self, fn: ScheduledFunction, at: datetime) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{ACCOUNT}:rule/{self.function_prefix}{fn.name}-event"],
            "detail": {},
        }

    def fire(self, fn: ScheduledFunction, at: datetime) -> JobRun:
        run = JobRun(fn.name, at)
        started = time.monotonic()
        try:
            handler = self._resolve(fn.handler_string)
            context = LambdaContext(
                self.function_prefix + fn.name, timeout_seconds=self.timeout_seconds, region=self.region
            )
            run.result = handler(self.event(fn, at), context)
        except Exception as exc:  # noqa: BLE001 - a failing job is logged and never stops the pump
            run.error = exc
            run.seconds = time.monotonic() - started
            cron_log.exception(
                "job %s (%s) for %s failed after %.0f ms", fn.name, fn.expression, at, run.seconds * 1000
            )
            return run
        run.seconds = time.monotonic() - started
        cron_log.info(
            "job %s (%s) for %s ok in %.0f ms: %s",
            fn.name,
            fn.expression,
            at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            run.seconds * 1000,
            run.result,
        )
        return run

    def run_pending(self) -> list[JobRun]:
        """Fires every function whose time has come; missed fires collapse into one."""
        now = self.now()
        runs = []
        for fn in self.functions:
            assert fn.next_run is not None
            if fn.next_run <= now:
                runs.append(self.fire(fn, fn.next_run))
                fn.next_run = fn.schedule.next_after(now)
        return runs

    def seconds_until_next(self) -> float:
        upcoming = [fn.next_run for fn in self.functions if fn.next_run is not None]
        if not upcoming:
            return 60.0
        return max(0.0, (min(upcoming) - self.now()).total_seconds())

    def run(self, stop: threading.Event) -> None:
        for fn in self.functions:
            cron_log.info("schedule %s %s, next at %s", fn.name, fn.expression, fn.next_run)
        while not stop.is_set():
            self.run_pending()
            stop.wait(min(1.0, max(0.05, self.seconds_until_next())))


@dataclass
class EventPump:
    """The stream pump and the scheduler, each in a daemon thread, stopped by one event."""

    stream: StreamPump
    scheduler: Scheduler
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [
            threading.Thread(target=self.stream.run, args=(self.stop,), name="stream-pump", daemon=True),
            threading.Thread(target=self.scheduler.run, args=(self.stop,), name="scheduler", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def alive(self) -> bool:
        return all(t.is_alive() for t in self.threads)

    def join(self, timeout: float = 15.0) -> None:
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
