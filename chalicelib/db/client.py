"""The table's low-level botocore client, for the code that needs no pynamodb model.

The stream function (db/streams.py) reads and writes counters, markers and a few raw items:
it sends the very requests pynamodb would, through this one client, so its cold start loads
neither pynamodb nor the item classes (docs/decisions/0007-lean-stream-and-logging.md).
botocore itself loads on the first call, not when this module is imported.

The client is configured as pynamodb's connection is (db/base.py's BaseItem.Meta): the same
timeouts, botocore's standard retry mode with 3 retries, no parameter validation, and
telemetry hooked, so `telemetry.record()` sees its calls as it sees pynamodb's.
"""

from __future__ import annotations

import base64
from decimal import Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

from chalicelib.settings import get_settings

_shared: dict[str, Any] = {}

# What boto3's TypeDeserializer reads numbers with (DynamoDB's own limits: 38 digits).
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Inexact, Overflow, Rounded, Underflow])


def client() -> Any:
    """The shared botocore DynamoDB client (made on first use, again if the table, endpoint or
    region setting changed: the tests point it at DynamoDB Local)."""
    settings = get_settings()
    ident = (settings.table_name, settings.dynamodb_endpoint, settings.region)
    if _shared.get("ident") != ident:
        import botocore.session
        from botocore.config import Config

        from chalicelib.db import telemetry

        made = botocore.session.get_session().create_client(
            "dynamodb",
            region_name=settings.region,
            endpoint_url=settings.dynamodb_endpoint,
            config=Config(
                parameter_validation=False,
                connect_timeout=2,
                read_timeout=5,
                max_pool_connections=10,
                retries={"total_max_attempts": 4, "mode": "standard"},
            ),
        )
        telemetry.attach(made)
        _shared.update(client=made, ident=ident)
    return _shared["client"]


def table_name() -> str:
    return get_settings().table_name


def plain(value: dict[str, Any]) -> Any:
    """One attribute value from the wire format ({"S": "..."}, {"N": "1"}, ...), as boto3's
    TypeDeserializer gives it: numbers are Decimals, sets are sets; binary values are bytes (a
    stream record in a Lambda event carries them base64-encoded)."""
    (kind, raw), *_ = value.items()
    if kind == "S" or kind == "BOOL":
        return raw
    if kind == "N":
        return _NUMBERS.create_decimal(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: plain(v) for k, v in raw.items()}
    if kind == "L":
        return [plain(v) for v in raw]
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {_NUMBERS.create_decimal(n) for n in raw}
    if kind == "B":
        return _bytes(raw)
    if kind == "BS":
        return {_bytes(b) for b in raw}
    raise TypeError(f"not a DynamoDB attribute value: {kind}")


def _bytes(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else base64.b64decode(raw)


def number(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


def as_int(value: dict[str, Any] | None, default: int = 0) -> int:
    """A stored counter (an N attribute) as an int; `default` when absent."""
    return int(Decimal(value["N"])) if value and "N" in value else default
