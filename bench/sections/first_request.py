"""A cold start as a user meets it: the deployed package imported in a fresh interpreter AND
its first request served, against the baseline app imported from the same zip AND its first
DynamoDB call. Lazy imports move time from the import into the first request; this figure
counts both, so moving cost around cannot flatter it.

Both sides run against the bench's DynamoDB Local, in the same interleaved rounds, from the
lean zip unpacked alone on sys.path (`python -I -S -B`, as /var/task on Lambda; see
cold_import). The app serves `GET /leads/{id}` for an admin through its Lambda handler (an
API Gateway proxy event): authentication, the lead's page, its audit entry. The baseline
imports chalice and boto3, makes its DynamoDB client and reads one item with GetItem. The
stream function's entry point imports, then handles a batch of one lead INSERT record (the
report aggregates it counts, its marker), new each run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import stats
from bench.context import Context
from bench.registry import Check, Column, Result, Table, section
from bench.sections.cold_import import DEPLOYED_BASELINE, LEAN_TARGET_RATIO, TARGET_RATIO, _lean_zip, _unpack

_RUNNER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
spec = json.loads(sys.argv[2])
start = time.perf_counter()
if spec["kind"] == "app":
    import app
    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "api", 1024, "bench-cold-start"
        invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:api"
        def get_remaining_time_in_millis(self):
            return 30000
    imported = time.perf_counter()
    response = app.app(spec["event"], Context())
    status = response["statusCode"]
elif spec["kind"] == "stream":
    from chalicelib.entry import stream
    imported = time.perf_counter()
    event = json.loads(json.dumps(spec["event"]).replace("@RUN@", str(time.time_ns())))  # a new record each run
    answer = stream.handle_stream(event, None)
    status = 500 if answer.get("batchItemFailures") else 200
else:
    module = __import__(spec["module"])
    imported = time.perf_counter()
    found = module.dynamodb.get_item(TableName=spec["table"], Key=spec["key"])
    status = 200 if "Item" in found else 404
done = time.perf_counter()
print(json.dumps({"seconds": done - start, "import": imported - start, "status": status, "modules": len(sys.modules)}))
"""


def _event(path: str, resource: str, params: dict[str, str], token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "bench"}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": "GET",
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "bench",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _stream_event(stack, lead: str) -> dict[str, Any]:
    """One INSERT record of the lead as DynamoDB Streams delivers it (its report aggregates are
    counted); each run gets a new event id and sequence number, so each is new work."""
    from chalicelib.db import keys

    key = {"PK": {"S": keys.lead_pk(stack.tenant, lead)}, "SK": {"S": keys.LEAD_SK}}
    image = stack.ddb.get_item(TableName=stack.table["TableName"], Key=key)["Item"]
    return {
        "Records": [
            {
                "eventID": "bench-@RUN@",
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "eventSourceARN": f"{stack.table['TableArn']}/stream/bench",
                "dynamodb": {
                    "Keys": key,
                    "NewImage": image,
                    "SequenceNumber": "@RUN@",
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        ]
    }


def _run(task_root: Path, spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _RUNNER, str(task_root), json.dumps(spec)],
        cwd=task_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start of {spec['kind']} failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if out["status"] != 200:
        raise RuntimeError(f"cold start of {spec['kind']}: the first request answered {out['status']}")
    return out


@section("first_request", "Cold start as deployed: import and the first request, vs the bare app", order=12)
def first_request(ctx: Context) -> Result:
    from chalicelib.db import keys

    stack = ctx.stack()
    lead = stack.call(
        "POST",
        "/leads",
        {"name": "冷启动", "campus_id": stack.campus_id, "guardians": [{"name": "家长", "phones": ["13700001234"]}]},
        expect=201,
    ).json_body["id"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["AWS_ENDPOINT_URL_DYNAMODB"] = stack.endpoint  # the baseline's client: the same DynamoDB Local
    specs = {
        "baseline": {
            "kind": "baseline",
            "module": DEPLOYED_BASELINE,
            "table": stack.table["TableName"],
            "key": {"PK": {"S": keys.lead_pk(stack.tenant, lead)}, "SK": {"S": keys.LEAD_SK}},
        },
        "app": {"kind": "app", "event": _event(f"/leads/{lead}", "/leads/{lead_id}", {"lead_id": lead}, stack.token)},
        "stream": {"kind": "stream", "event": _stream_event(stack, lead)},
    }
    runs = ctx.options.import_runs
    with tempfile.TemporaryDirectory(prefix="bench-first-request-") as tmp:
        zip_path, provenance = _lean_zip(ctx, Path(tmp))
        task_root = Path(tmp) / "task"
        _unpack(ctx, zip_path, task_root)
        for spec in specs.values():  # unmeasured: warms the page cache and DynamoDB Local
            _run(task_root, spec, env)
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
        for i in range(runs):
            names = list(specs)
            for name in names[i % len(names) :] + names[: i % len(names)]:
                samples[name].append(_run(task_root, specs[name], env))

    def med(name: str, key: str) -> float:
        return stats.median([s[key] for s in samples[name]]) * 1e3

    rows = []
    for name, label in (
        ("baseline", "baseline: import chalice + boto3, 1 client, then 1 GetItem"),
        ("app", "app: import, then GET /leads/{id} through the Lambda handler"),
        ("stream", "stream function: import its entry point, then a batch of one lead INSERT"),
    ):
        rows.append(
            {
                "figure": label,
                "median_ms": med(name, "seconds"),
                "import_ms": med(name, "import"),
                "first_ms": med(name, "seconds") - med(name, "import"),
                "min_ms": min(s["seconds"] for s in samples[name]) * 1e3,
                "runs": len(samples[name]),
                "modules": samples[name][-1]["modules"],
                "ratio": stats.ratio(med(name, "seconds"), med("baseline", "seconds")),
            }
        )
    return Result(
        tables=[
            Table(
                f"import + first request, as deployed (median of {runs} fresh interpreters each, interleaved)",
                [
                    Column("figure", "figure"),
                    Column("median_ms", "median ms (total)", "{:.1f}"),
                    Column("import_ms", "of which import", "{:.1f}"),
                    Column("first_ms", "of which first request", "{:.1f}"),
                    Column("min_ms", "min ms", "{:.1f}"),
                    Column("runs", "N"),
                    Column("modules", "sys.modules"),
                    Column("ratio", "ratio", "{:.2f}"),
                ],
                rows,
            )
        ],
        notes=[f"the zip is {provenance}"],
        checks=[
            Check("cold start (import + first request) as deployed / baseline", rows[1]["ratio"], TARGET_RATIO, "x"),
            Check(
                "stream cold start (import + first batch) as deployed / baseline",
                rows[2]["ratio"],
                LEAN_TARGET_RATIO,
                "x",
            ),
        ],
        details={"samples": samples},
    )
