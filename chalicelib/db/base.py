"""The base pynamodb model of the single table, and the one shared connection.

PynamoDB caches a connection per model class; with a dozen item classes that would mean
a dozen botocore clients, each loading the DynamoDB service model (tens of ms apiece on
a cold start). Every item class here shares one connection instead.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import DiscriminatorAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.settings import get_settings

_shared: dict[str, Any] = {}


class GSI1(GlobalSecondaryIndex):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class GSI2(GlobalSecondaryIndex):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class GSI3(GlobalSecondaryIndex):
    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


class GSI4(GlobalSecondaryIndex):
    class Meta:
        index_name = "GSI4"
        projection = AllProjection()

    GSI4PK = UnicodeAttribute(hash_key=True)
    GSI4SK = UnicodeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex):
    """Sparse, cross-tenant: an item carries DUEPK/DUESK only while it is due."""

    class Meta:
        index_name = "DUE"
        projection = AllProjection()

    DUEPK = UnicodeAttribute(hash_key=True)
    DUESK = UnicodeAttribute(range_key=True)


class BaseItem(Model):
    """Every item of the table. Subclasses name their kind with `discriminator=`."""

    class Meta:
        table_name = "campus-crm-local"
        region = "us-east-1"
        host = None
        max_retry_attempts = 3
        connect_timeout_seconds = 2
        read_timeout_seconds = 5

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute(attr_name="type")
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    DUEPK = UnicodeAttribute(null=True)
    DUESK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # TTL, epoch seconds

    gsi1 = GSI1()
    gsi2 = GSI2()
    gsi3 = GSI3()
    gsi4 = GSI4()
    due = DueIndex()

    @classmethod
    def _get_connection(cls) -> TableConnection:  # noqa: D401 - pynamodb hook
        settings = get_settings()
        ident = (settings.table_name, settings.dynamodb_endpoint, settings.region)
        conn = _shared.get("table")
        if conn is None or _shared.get("ident") != ident:
            BaseItem.Meta.table_name = settings.table_name
            BaseItem.Meta.host = settings.dynamodb_endpoint
            BaseItem.Meta.region = settings.region
            BaseItem._connection = None
            conn = Model._get_connection.__func__(BaseItem)
            _shared["table"] = conn
            _shared["ident"] = ident
            from chalicelib.db import telemetry

            telemetry.attach(conn.connection.client)
        return conn


def connection() -> Connection:
    """The low-level pynamodb connection, for transactions."""
    return BaseItem._get_connection().connection


def reset_connection() -> None:
    _shared.clear()
    BaseItem._connection = None
