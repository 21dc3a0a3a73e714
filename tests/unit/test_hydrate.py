"""db/hydrate.py under throttling: DynamoDB may leave keys of a BatchGetItem unprocessed
(DynamoDB Local never does), and a list page must still come back whole."""

from __future__ import annotations

from types import SimpleNamespace

from chalicelib.db import hydrate


class _ThrottledOnce:
    """A DynamoDB client that answers the first BatchGetItem with half its keys unprocessed."""

    def __init__(self) -> None:
        self.requests: list[list[dict]] = []

    def batch_get_item(self, RequestItems):  # noqa: N803 - botocore's parameter name
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        self.requests.append(keys)
        items = [{**k, "name": {"S": "线索 " + k["SK"]["S"]}} for k in keys]
        if len(self.requests) == 1:
            half = len(keys) // 2
            return {"Responses": {table: items[:half]}, "UnprocessedKeys": {table: {"Keys": keys[half:]}}}
        return {"Responses": {table: items}, "UnprocessedKeys": {}}


def test_unprocessed_keys_are_asked_again_after_a_pause_until_every_item_came(monkeypatch):
    client = _ThrottledOnce()
    pauses: list[float] = []
    monkeypatch.setattr(hydrate, "connection", lambda: SimpleNamespace(client=client))
    monkeypatch.setattr(hydrate.time, "sleep", pauses.append)
    wanted = [("T#t#LEAD#" + str(n), "LEAD") for n in range(6)]

    found = hydrate.raw_items(wanted)

    assert set(found) == set(wanted)  # every item, though the first answer held half
    assert [len(keys) for keys in client.requests] == [6, 3]  # only the unprocessed ones again
    assert len(pauses) == 1 and 0 < pauses[0] <= 1.0  # after a pause, not at once
