"""The fast tier: pure logic, no DynamoDB Local, no Java (`make unit`, seconds).

tests/conftest.py still applies (its environment: a test table name, a JWT secret, metrics
off), but none of its table fixtures may be used here: the one that would start DynamoDB
Local fails instead, so a test that needs the table is sent back to tests/.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dynamodb_endpoint():
    pytest.fail(
        "tests/unit runs without DynamoDB Local: a test that needs the table (school, client, app, table...) "
        "belongs in tests/, not tests/unit/",
        pytrace=False,
    )
