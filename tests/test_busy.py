"""Real DynamoDB cancels a transaction that meets another one on the same items
(`TransactionConflict`) and throttles under load; DynamoDB Local never does. These tests
make the table answer that way, at the HTTP level of botocore (the very response DynamoDB
sends), and check that a request retries, then answers 409 BUSY with Retry-After, never
500, and never writes half a change."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from botocore.awsrequest import AWSResponse

from chalicelib.db.base import connection
from tests.test_appointments import _trial, centre  # noqa: F401 - the fixture
from tests.test_leads import lead_body


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_kw):
        yield self._body


def _cancelled(n_items: int, reason: str) -> AWSResponse:
    reasons = [{"Code": "None"}] * (n_items - 1) + [{"Code": reason, "Message": "Transaction is ongoing for the item"}]
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{reason}]",
        "CancellationReasons": reasons,
    }
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse("https://dynamodb.local/", 400, headers, _Raw(json.dumps(body).encode()))


def _throttled() -> AWSResponse:
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return AWSResponse("https://dynamodb.local/", 400, headers, _Raw(json.dumps(body).encode()))


@contextlib.contextmanager
def dynamodb_busy(
    times: int, operation: str = "TransactWriteItems", reason: str = "TransactionConflict"
) -> Iterator[list]:
    """The next `times` calls of `operation` are refused as real DynamoDB refuses them under
    contention; the list collects one entry per refusal."""
    refused: list[str] = []
    events = connection().client.meta.events

    def handler(request, **_kw):
        if len(refused) >= times:
            return None
        refused.append(operation)
        if reason == "throttle":
            return _throttled()
        n_items = len(json.loads(request.body or b"{}").get("TransactItems", [])) or 1
        return _cancelled(n_items, reason)

    event = f"before-send.dynamodb.{operation}"
    events.register(event, handler, unique_id=f"busy-{id(refused)}")
    try:
        yield refused
    finally:
        events.unregister(event, unique_id=f"busy-{id(refused)}")


def _leads_named(session, name: str) -> list[dict]:
    return [lead for lead in session.get("/leads?limit=100").json_body["items"] if lead["name"] == name]


def test_a_lead_create_that_meets_a_busy_transaction_is_retried_and_succeeds(school):
    consultant = school.staff("consultant")
    with dynamodb_busy(times=2) as refused:
        response = consultant.post("/leads", lead_body(name="重试学员", phone="13900001111"))
    assert len(refused) == 2
    assert response.status_code == 201, response.body
    assert len(_leads_named(school.admin, "重试学员")) == 1


def test_a_lead_create_that_stays_busy_is_409_busy_with_retry_after_and_writes_nothing(school):
    consultant = school.staff("consultant")
    with dynamodb_busy(times=1000):
        response = consultant.post("/leads", lead_body(name="忙碌学员", phone="13900002222"))
    assert response.status_code == 409, response.body
    assert response.json_body["error"]["code"] == "BUSY"
    assert int(response.headers["Retry-After"]) >= 1
    assert _leads_named(school.admin, "忙碌学员") == []
    # the phone was not claimed half-way: the same request now succeeds
    again = consultant.post("/leads", lead_body(name="忙碌学员", phone="13900002222"))
    assert again.status_code == 201, again.body


def test_a_throttled_table_is_409_busy_not_500(school):
    consultant = school.staff("consultant")
    with dynamodb_busy(times=1000, reason="throttle"):
        response = consultant.post("/leads", lead_body(name="限流学员", phone="13900003333"))
    assert response.status_code == 409, response.body
    assert response.json_body["error"]["code"] == "BUSY"
    assert "Retry-After" in response.headers


def test_a_throttled_read_is_409_busy_not_500(school):
    consultant = school.staff("consultant")
    with dynamodb_busy(times=1000, operation="Query", reason="throttle"):
        response = consultant.get("/leads")
    assert response.status_code == 409, response.body
    assert response.json_body["error"]["code"] == "BUSY"


def test_a_booking_that_meets_a_busy_transaction_is_retried_then_409_busy(centre):  # noqa: F811
    lead = centre.alice.post("/leads", lead_body(name="试听学员")).json_body
    session_id = centre.sessions[0]["id"]
    with dynamodb_busy(times=3) as refused:
        booked = _trial(centre.alice, lead, session_id)
    assert len(refused) == 3
    assert booked.status_code == 201, booked.body

    other = centre.alice.post("/leads", lead_body(name="试听学员二")).json_body
    with dynamodb_busy(times=1000):
        busy = _trial(centre.alice, other, session_id)
    assert busy.status_code == 409, busy.body
    assert busy.json_body["error"]["code"] == "BUSY"
    # no seat was taken by the refused booking: one booked of two
    sessions = centre.manager.get(f"/sessions?date={centre.sessions[0]['date']}").json_body["items"]
    seat = next(s for s in sessions if s["id"] == session_id)
    assert (seat["trials"], seat["seats_left"]) == (1, 1), seat
