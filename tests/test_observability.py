"""What the logs keep of a failure: where and what kind, never what a customer typed."""

from __future__ import annotations

import io
import json

import pytest
from pydantic import BaseModel

PHONE = "13912345678"
NAME = "王小明"


@pytest.fixture
def log_output():
    """What the app's logger writes (its real handler and formatter), for one test."""
    from chalicelib.observability import logger

    handler = logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


class _Probe(BaseModel):
    phone: int


def _fails_quoting_its_input(principal, request):
    """A bug deep in the domain whose errors quote the request: a pydantic validation error
    (input_value=...), then an f-string with the phone, raised from it."""
    phone = request.guardians[0].phones[0]
    try:
        _Probe.model_validate({"phone": f"{phone} {request.name}"})
    except ValueError as exc:
        raise RuntimeError(f"could not store lead {request.name} with phone {phone}") from exc


def test_a_failing_request_does_not_write_the_customers_phone_or_name_into_the_logs(school, log_output, monkeypatch):
    from chalicelib.domain import leads

    # GIVEN a lead creation that breaks with errors quoting the lead's name and phone
    monkeypatch.setattr(leads, "create_lead", _fails_quoting_its_input)
    body = {"name": NAME, "guardians": [{"name": "王妈妈", "relation": "mother", "phones": [PHONE]}]}
    # WHEN the request is made
    response = school.admin.post("/leads", body)
    # THEN the caller gets the envelope's 500
    assert response.status_code == 500 and response.json_body["error"]["code"] == "INTERNAL"
    logged = log_output.getvalue()
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    failure = next(r for r in records if r["message"] == "unhandled error")
    # AND the log says what failed and where: both exceptions, the fields of the validation error, the frames
    assert failure["exception_name"] == "RuntimeError"
    assert "pydantic_core._pydantic_core.ValidationError: phone (int_parsing)" in failure["exception"]
    assert "builtins.RuntimeError" in failure["exception"] and "_fails_quoting_its_input" in failure["exception"]
    assert failure["stack_trace"]["type"] == "RuntimeError"
    # AND nowhere in what was logged is the phone (in any spelling) or the child's name
    for secret in (PHONE, "+86" + PHONE, "139 1234 5678", NAME, json.dumps(NAME)[1:-1]):
        assert secret not in logged, secret


def test_a_failing_stream_record_is_logged_by_kind_and_place_without_the_customers_values(log_output):
    from chalicelib.streams import processor
    from tests.test_streams import extra_effect

    # GIVEN a lead's stream record, and an effect that breaks quoting the item's values
    image = {
        "PK": {"S": "T#t-log#LEAD#01"},
        "SK": {"S": "LEAD"},
        "type": {"S": "Lead"},
        "name": {"S": NAME},
        "phones": {"SS": [PHONE]},
    }
    raw = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"PK": image["PK"], "SK": image["SK"]}, "NewImage": image, "SequenceNumber": "100"},
    }

    def fault(record):
        raise RuntimeError(f"cannot count lead {record.new['name']} ({record.new['phones']})")

    # WHEN the stream processor handles it
    with extra_effect(fault, "Lead"):
        result = processor.handle({"Records": [raw]}, None)
    # THEN the record alone is reported failed, to be retried
    assert result["batchItemFailures"] == [{"itemIdentifier": "100"}]
    # AND the log says which kind of record broke, with what and where, but holds no phone or name
    logged = log_output.getvalue()
    failure = next(json.loads(line) for line in logged.splitlines() if "stream record failed" in line)
    assert failure["kind"] == "Lead" and failure["exception_name"] == "RuntimeError"
    assert "builtins.RuntimeError" in failure["exception"] and "in fault" in failure["exception"]
    for secret in (PHONE, NAME, json.dumps(NAME)[1:-1]):
        assert secret not in logged, secret


def test_each_request_logs_one_line_with_the_lambda_context_the_correlation_id_and_the_caller(school, log_output):
    from chalicelib.observability import logger

    # GIVEN the app logging at INFO (the suite runs at WARNING)
    previous = logger.log_level
    logger.setLevel("INFO")
    try:
        # WHEN two requests are made, and something is logged after them
        first = school.admin.get("/campuses")
        second = school.admin.get("/campuses?limit=1")
        logger.info("after the requests")
    finally:
        logger.setLevel(previous)
    assert first.status_code == second.status_code == 200
    records = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    lines = [r for r in records if r["message"] == "request"]
    # THEN each request wrote one line: what was asked and answered, and who asked
    assert [(r["method"], r["path"], r["status"]) for r in lines] == [("GET", "/campuses", 200)] * 2
    assert all(r["tenant"] == school.slug and r["user"] == school.admin.user["id"] for r in lines)
    # AND the Lambda context keys (powertools' inject_lambda_context) and a correlation id per request
    for r in lines:
        assert r["function_name"] and r["function_request_id"] and isinstance(r["cold_start"], bool)
        assert {"function_arn", "function_memory_size"} <= set(r)
    # AND the caller's keys are gone once the request is over
    after = next(r for r in records if r["message"] == "after the requests")
    assert "tenant" not in after and "user" not in after


def test_the_correlation_id_is_api_gateways_request_id(app, school, log_output):
    from chalice.local import LambdaContext, LambdaEventConverter, RouteMatcher

    from chalicelib.observability import logger

    # GIVEN a request as API Gateway hands it to Lambda, with its request id (chalice local has none)
    converter = LambdaEventConverter(RouteMatcher(list(app.routes)))
    event = converter.create_lambda_event("GET", "/campuses", {"Authorization": f"Bearer {school.admin.token}"})
    event["requestContext"]["requestId"] = "c0ffee00-0000-4000-8000-000000000001"
    previous = logger.log_level
    logger.setLevel("INFO")
    try:
        # WHEN the function is invoked
        response = app(event, LambdaContext("api_handler", 256))
    finally:
        logger.setLevel(previous)
    assert response["statusCode"] == 200
    # THEN its request line carries that id as the correlation id
    records = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    line = next(r for r in records if r["message"] == "request")
    assert line["correlation_id"] == "c0ffee00-0000-4000-8000-000000000001"
