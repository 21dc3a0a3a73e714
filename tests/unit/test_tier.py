"""The fast tier stays fast: no test collected under tests/unit reaches for DynamoDB Local."""

from __future__ import annotations

from pathlib import Path

UNIT = Path(__file__).resolve().parent


def test_no_unit_test_uses_a_fixture_that_starts_dynamodb_local(request):
    # (tests/unit/conftest.py also makes that fixture fail, should one slip in)
    reaching = [
        item.nodeid
        for item in request.session.items
        if UNIT in Path(str(item.path)).resolve().parents and "dynamodb_endpoint" in getattr(item, "fixturenames", ())
    ]
    assert reaching == [], "these need the table: move them back to tests/"
