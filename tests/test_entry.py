"""The stream function's and the jobs' lean handlers (chalicelib/entry): they import none of
the API and none of the heavy libraries only pages and spreadsheets need, and still do the work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import jobs
from chalicelib.db import keys
from chalicelib.entry import jobs as job_handlers
from chalicelib.entry import stream as stream_handler
from tests.test_leads import lead_body
from tests.test_streams import _days, figures, tap  # noqa: F401 - tap: the fixture

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("jinja2", "openpyxl")
# What a cold import must not pull in: the API and its routing, app.py, the heavy libraries
_PROBE = """
import json, sys
__import__(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_by(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, module],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["chalicelib.entry.stream", "chalicelib.entry.jobs"])
def test_a_lean_entry_point_imports_none_of_the_api_nor_pages_and_sheets(module):
    # WHEN the entry point is imported in a fresh interpreter, as a cold Lambda does
    loaded = _loaded_by(module)
    # THEN no blueprint, no app.py, no chalice routing, no jinja2 or openpyxl came with it
    assert module in loaded
    assert [m for m in loaded if m == "chalicelib.api" or m.startswith("chalicelib.api.")] == []
    assert "app" not in loaded
    assert [m for m in loaded if m.split(".")[0] in HEAVY + ("chalice",)] == []


# What the stream function's cold import does not load: pynamodb and the item classes (its reads
# and writes go through db/client.py's botocore client, itself made on the first batch), pydantic
# (the settings are a dataclass; the read limits' defaults come from schemas/read_limits.py, no
# schema), powertools' batch utility (the partial answer is built by the processor), and what
# only freezing, the audit pages or the other settings sections use.
NOT_FOR_THE_STREAM = (
    "pynamodb",
    "pydantic",
    "pydantic_core",
    "boto3",
    "botocore.session",
    "botocore.client",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes",
    "chalicelib.db.base",
    "chalicelib.db.items",
    "chalicelib.db.transactions",
    "chalicelib.db.reports",
    "chalicelib.db.config",
    "chalicelib.db.users",
    "chalicelib.db.schedule",
    "chalicelib.db.tenants",
    "chalicelib.domain.audit",
    "chalicelib.domain.config",
    "chalicelib.domain.auth",
    "chalicelib.domain.tokens",
    "chalicelib.schemas.common",
    "chalicelib.schemas.settings",
    "jwt",
)


def test_the_stream_entry_loads_neither_pynamodb_nor_pydantic_nor_a_client():
    # WHEN the stream function's handler is imported in a fresh interpreter, as a cold Lambda does
    loaded = _loaded_by("chalicelib.entry.stream")
    # THEN its processor, effects, writer and counting windows are there, and none of the heavy
    # libraries, item classes, schemas or what only freezing and the API use
    assert {"chalicelib.streams.access", "chalicelib.db.streams", "chalicelib.domain.access_windows"} <= set(loaded)
    assert [m for m in loaded if any(m == n or m.startswith(n + ".") for n in NOT_FOR_THE_STREAM)] == []
    assert [m for m in loaded if m.startswith("chalicelib.schemas.")] == ["chalicelib.schemas.read_limits"]


def test_the_stream_entry_makes_no_metrics_object_and_no_client_until_a_batch_needs_one():
    # WHEN the stream function's handler is imported in a fresh interpreter
    done = subprocess.run(
        [sys.executable, "-c", _MADE_AT_IMPORT],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # THEN neither powertools' Metrics object nor the DynamoDB client exists yet: an invocation
    # that publishes nothing never makes the one, and the first batch makes the other
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"metrics": 0, "client": False}


_MADE_AT_IMPORT = """
import json
import chalicelib.entry.stream
from chalicelib import observability
from chalicelib.db import client
print(json.dumps({"metrics": len(observability._made), "client": "client" in client._shared}))
"""


def test_a_batch_with_counted_reads_reads_the_counters_and_the_limits_in_one_call(school, tap):  # noqa: F811
    from chalicelib.db import telemetry

    # GIVEN the stream records of a consultant's reads (audit entries with a weight), already
    # applied once so that the school's time zone is known to this container
    consultant = school.staff("consultant")
    lead = consultant.post("/leads", {**lead_body(name="读者"), "campus_id": school.campus["id"]}).json_body
    stream_handler.handle_stream({"Records": tap.drain()}, None)
    consultant.get(f"/leads/{lead['id']}")
    records = tap.drain()
    # WHEN the stream function applies them
    with telemetry.record() as calls:
        result = stream_handler.handle_stream({"Records": records}, None)
    # THEN one transaction writes the counters and markers, and the freeze check reads the
    # user's counters and the school's security settings in one BatchGetItem (no other read)
    assert result["batchItemFailures"] == []
    assert calls.operations == ["TransactWriteItems", "BatchGetItem"]
    # AND replayed, the batch writes nothing and still checks
    with telemetry.record() as again:
        assert stream_handler.handle_stream({"Records": records}, None)["batchItemFailures"] == []
    assert again.operations == ["TransactWriteItems", "BatchGetItem"]
    assert again.calls[0].error == "TransactionCanceledException"


def test_the_security_settings_read_alone_are_the_full_loads(school):
    from chalicelib.domain import config
    from chalicelib.schemas.settings import SecuritySettingsPatch

    # GIVEN a school that keeps the defaults: the lone read gives the same defaults
    assert config.load_security(school.slug) == config.load(school.slug).security
    # WHEN a limit is changed
    config.patch_security_settings(school.slug, SecuritySettingsPatch(reads_per_minute=7))
    # THEN the lone read sees it at once, as the full load does (neither caches)
    assert config.load_security(school.slug).reads_per_minute == 7
    assert config.load_security(school.slug) == config.load(school.slug).security


def test_the_api_loads_jinja2_openpyxl_and_phonenumbers_only_where_first_used():
    # WHEN app.py is imported in a fresh interpreter, as the API's cold start does
    loaded = _loaded_by("app")
    # THEN none of the heavy libraries only some routes use came with it (templates, pages,
    # spreadsheets, phone numbers load on the first request that needs them)
    assert [m for m in loaded if m.split(".")[0] in HEAVY + ("phonenumbers",)] == []
    assert "chalicelib.domain.sandbox" not in loaded


# What `import app` leaves to the first request that needs it: the store (pynamodb, botocore's
# client and session, boto3 and our db layer), the token library, and every domain module (a
# view imports its own where it runs; domain.roles and domain.clock name who may call a route
# and are light). botocore's package itself comes with powertools' user agent: no client.
NOT_FOR_THE_API_IMPORT = ("pynamodb", "boto3", "botocore.client", "botocore.session", "jwt", "chalicelib.db")
REGISTERING_NEEDS = {"chalicelib.domain", "chalicelib.domain.roles", "chalicelib.domain.clock"}


def test_import_app_registers_the_routes_and_leaves_the_store_and_the_domain_to_the_first_request():
    # WHEN app.py is imported in a fresh interpreter, as the API's cold start does
    loaded = _loaded_by("app")
    # THEN every blueprint is there (each registers its routes), and neither the store nor the
    # domain modules the views call came with it
    assert {"chalicelib.api.leads", "chalicelib.api.cards", "chalicelib.api.routing"} <= set(loaded)
    assert [m for m in loaded if m.startswith(NOT_FOR_THE_API_IMPORT)] == []
    assert [m for m in loaded if m.startswith("chalicelib.domain") and m not in REGISTERING_NEEDS] == []


_COLD_DOCUMENT = """
import json, app
from chalicelib.api.openapi import build
print(json.dumps(build()))
"""


def test_a_cold_container_serves_the_committed_openapi_document_with_every_error_code():
    # GIVEN a fresh interpreter that has only imported app.py (the views' domain modules not yet
    # loaded: the error codes are read from the source they import where they run)
    done = subprocess.run(
        [sys.executable, "-c", _COLD_DOCUMENT],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # THEN the document it builds (GET /openapi.json on a cold container) is the committed one:
    # the same routes, each with all its error codes (`make openapi` after changing a route)
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert json.loads(done.stdout.strip().splitlines()[-1]) == committed


def test_a_template_still_checks_and_renders_when_jinja2_loads_late():
    from chalicelib.domain import templates

    assert templates.check("{{ learner.name }}，你好") == ["learner"]
    assert templates.render("{{ learner.name }}，你好", {"learner": {"name": "小明"}}) == "小明，你好"


def test_every_job_has_its_lean_handler_and_app_declares_it(app):
    # GIVEN the jobs the registry runs
    from chalicelib.jobs import due  # noqa: F401 - registers them

    # THEN each has a handler of its name in chalicelib.entry.jobs, and app.py a function chalice deploys
    assert all(callable(getattr(job_handlers, name, None)) for name in jobs.JOBS)
    assert set(jobs.JOBS) <= {getattr(s, "name", None) for s in app.event_sources}


def test_the_stream_handler_applies_a_batch_of_records(school, tap):  # noqa: F811 - tap: the fixture
    # GIVEN the stream records of a new lead
    school.admin.post("/leads", {**lead_body(name="入口"), "campus_id": school.campus["id"]})
    records = tap.drain()
    assert records
    # WHEN the stream function's handler gets them as Lambda's raw event
    result = stream_handler.handle_stream({"Records": records}, None)
    # THEN every record is applied: the day's new-lead figure counts the lead
    assert result["batchItemFailures"] == []
    day = figures(school.slug, _days())
    assert sum(v.get("new_leads", 0) for (p, sk), v in day.items() if len(p) == 10 and sk == keys.ALL_DIMENSION) == 1


def test_a_job_handler_runs_its_job_on_the_scheduled_event(school):
    # GIVEN the EventBridge event a schedule delivers
    event = {
        "version": "0",
        "id": "entry-test",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2031-03-04T09:31:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    # WHEN the job functions' handlers run
    for name in ("scheduled_messages", "due_follow_ups", "report_check"):
        result = getattr(job_handlers, name)(event, None)
        # THEN each ran its job and says so
        assert result["job"] == name
