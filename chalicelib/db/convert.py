from __future__ import annotations

from typing import Any

from pynamodb.models import Model

_KEY_ATTRS = {
    "PK",
    "SK",
    "GSI1PK",
    "GSI1SK",
    "GSI2PK",
    "GSI2SK",
    "GSI3PK",
    "GSI3SK",
    "GSI4PK",
    "GSI4SK",
    "DUEPK",
    "DUESK",
    "kind",
    "expires_at",
}


def values(item: Model) -> dict[str, Any]:
    """An item's business attributes, without its key and index attributes; maps come out
    as plain dicts."""
    return {
        k: (v.as_dict() if hasattr(v, "as_dict") else v)
        for k, v in item.attribute_values.items()
        if k not in _KEY_ATTRS
    }
