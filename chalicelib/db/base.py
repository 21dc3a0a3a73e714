"""The base pynamodb model of the single table, and the one shared connection.

PynamoDB caches a connection per model class; with a dozen item classes that would mean
a dozen botocore clients, each loading the DynamoDB service model (tens of ms apiece on
a cold start). Every item class here shares one connection instead.
"""

from __future__ import annotations

from types import MethodType
from typing import Any, ClassVar, Self, TypeVar, cast

from pynamodb.attributes import DiscriminatorAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.settings import get_settings

_shared: dict[str, Any] = {}

# What each index holds besides the keys (the table's, its own): INCLUDE projections, the
# same lists as infra/table.yml (tests/test_infra.py checks they agree). `type` is the
# discriminator pynamodb filters every query of an item class on; the rest are the
# attributes the lists filter on (a FilterExpression on an index sees only what it holds).
# Readers that need more fetch the items from the table (db/hydrate.py, one BatchGetItem a
# page), so a change to anything else (notes, guardians, history, counters) writes no
# index copy. docs/data-model.md, "Index projections", says which reader needs what.
# (+ `custom`: the school's own lead fields, issue 19, filtered on by path: custom.<key> = :v)
_LEAD_FILTERS = ("status", "source", "stage", "importance", "level", "tags", "name_key", "campus_id", "custom")
PROJECTIONS: dict[str, tuple[str, ...]] = {
    # + a lead's GSI2PK (it has a next follow-up), follow-ups' method, contracts' signed_on,
    # messages' created_by/campus_ids, audit's lead_id
    "GSI1": ("type", *_LEAD_FILTERS, "GSI2PK", "method", "signed_on", "created_by", "campus_ids", "lead_id"),
    # + appointments' kind and attendance, audit's lead_id/campus_ids
    "GSI2": ("type", *_LEAD_FILTERS, "appointment_kind", "attendance", "lead_id", "campus_ids"),
    # + a lead's GSI4PK (it has a next follow-up), follow-ups' method, open cohorts' seats
    "GSI3": ("type", *_LEAD_FILTERS, "GSI4PK", "method", "confirmed", "seats"),
    # + appointments' kind and attendance, open cohorts' seats
    "GSI4": ("type", *_LEAD_FILTERS, "appointment_kind", "attendance", "confirmed", "seats"),
    # the jobs read the item's key and id only
    "DUE": ("type", "id"),
}

# The indexes are generic in the item class they answer with: each item class gets its own
# copy bound to it (pynamodb's MetaModel._initialize_indexes), so `UserItem.gsi1.query()`
# yields UserItem; `ClassVar[GSI1[Self]]` below says exactly that.
_M = TypeVar("_M", bound=Model)


class GSI1(GlobalSecondaryIndex[_M]):  # type: ignore[no-untyped-call]  # pynamodb's Index.__init_subclass__ has no annotations
    class Meta:
        index_name = "GSI1"
        projection = IncludeProjection(list(PROJECTIONS["GSI1"]))

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class GSI2(GlobalSecondaryIndex[_M]):  # type: ignore[no-untyped-call]  # pynamodb's Index.__init_subclass__ has no annotations
    class Meta:
        index_name = "GSI2"
        projection = IncludeProjection(list(PROJECTIONS["GSI2"]))

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class GSI3(GlobalSecondaryIndex[_M]):  # type: ignore[no-untyped-call]  # pynamodb's Index.__init_subclass__ has no annotations
    class Meta:
        index_name = "GSI3"
        projection = IncludeProjection(list(PROJECTIONS["GSI3"]))

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


class GSI4(GlobalSecondaryIndex[_M]):  # type: ignore[no-untyped-call]  # pynamodb's Index.__init_subclass__ has no annotations
    class Meta:
        index_name = "GSI4"
        projection = IncludeProjection(list(PROJECTIONS["GSI4"]))

    GSI4PK = UnicodeAttribute(hash_key=True)
    GSI4SK = UnicodeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex[_M]):  # type: ignore[no-untyped-call]  # pynamodb's Index.__init_subclass__ has no annotations
    """Sparse, cross-tenant: an item carries DUEPK/DUESK only while it is due."""

    class Meta:
        index_name = "DUE"
        projection = IncludeProjection(list(PROJECTIONS["DUE"]))

    DUEPK = UnicodeAttribute(hash_key=True)
    DUESK = UnicodeAttribute(range_key=True)


class BaseItem(Model):
    """Every item of the table. Subclasses name their kind with `discriminator=`."""

    class Meta:
        table_name = "campus-crm-local"
        region = "us-east-1"
        host: str | None = None
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

    gsi1: ClassVar[GSI1[Self]] = GSI1()
    gsi2: ClassVar[GSI2[Self]] = GSI2()
    gsi3: ClassVar[GSI3[Self]] = GSI3()
    gsi4: ClassVar[GSI4[Self]] = GSI4()
    due: ClassVar[DueIndex[Self]] = DueIndex()

    @classmethod
    def _get_connection(cls) -> TableConnection:  # noqa: D401 - pynamodb hook
        settings = get_settings()
        ident = (settings.table_name, settings.dynamodb_endpoint, settings.region)
        conn: TableConnection | None = _shared.get("table")
        if conn is None or _shared.get("ident") != ident:
            BaseItem.Meta.table_name = settings.table_name
            BaseItem.Meta.host = settings.dynamodb_endpoint
            BaseItem.Meta.region = settings.region
            BaseItem._connection = None
            # A classmethod read off the class is a bound method (MethodType); its __func__ is
            # pynamodb's own _get_connection, called with cls=BaseItem (never the subclass).
            conn = cast(MethodType, Model._get_connection).__func__(BaseItem)
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
