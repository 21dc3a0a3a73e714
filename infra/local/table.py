"""Creates or updates a DynamoDB (Local) table from infra/table.yml, the cloud definition.

Only what DynamoDB Local understands is applied: keys, attribute definitions, GSIs,
stream, TTL. Missing GSIs are added one at a time (DynamoDB allows one per UpdateTable).
A GSI whose projection differs from the definition cannot be changed in place: it is
deleted and created again (the table's items stay; the index is rebuilt from them).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "table.yml"
RESOURCE = "CrmTable"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, keeping intrinsic tags (!Ref, !GetAtt, ...) as plain values."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def parse(text: str) -> dict[str, Any]:
    """CloudFormation YAML (ours, or what `chalice package` writes) as plain data."""
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return parse(path.read_text(encoding="utf-8"))


def table_properties(path: Path = TEMPLATE) -> dict[str, Any]:
    return load_template(path)["Resources"][RESOURCE]["Properties"]


def _attribute_definitions(props: dict[str, Any], names: set[str]) -> list[dict[str, str]]:
    return [d for d in props["AttributeDefinitions"] if d["AttributeName"] in names]


def _gsi_spec(gsi: dict[str, Any]) -> dict[str, Any]:
    return {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}


def _same_projection(present: dict[str, Any], wanted: dict[str, Any]) -> bool:
    def norm(projection: dict[str, Any]) -> tuple[str, frozenset[str]]:
        return projection.get("ProjectionType", "ALL"), frozenset(projection.get("NonKeyAttributes") or ())

    return norm(present.get("Projection") or {}) == norm(wanted["Projection"])


def _wait_active(client: Any, name: str) -> dict[str, Any]:
    for _ in range(600):
        table = client.describe_table(TableName=name)["Table"]
        busy = table["TableStatus"] != "ACTIVE" or any(
            g.get("IndexStatus") not in (None, "ACTIVE") for g in table.get("GlobalSecondaryIndexes", [])
        )
        if not busy:
            return table
        time.sleep(0.1)
    raise TimeoutError(f"table {name} did not become active")


def _wait_gone(client: Any, name: str, index: str) -> None:
    for _ in range(600):
        table = client.describe_table(TableName=name)["Table"]
        if index not in {g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])}:
            return
        time.sleep(0.1)
    raise TimeoutError(f"index {index} of {name} was not deleted")


def ensure_table(client: Any, name: str, path: Path = TEMPLATE) -> dict[str, Any]:
    """Creates the table if missing, else adds missing GSIs and rebuilds those whose projection
    changed (keeping the items); returns the table description."""
    props = table_properties(path)
    gsis = props.get("GlobalSecondaryIndexes", [])
    try:
        table = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexes=[_gsi_spec(g) for g in gsis],
            StreamSpecification={"StreamEnabled": True, **props["StreamSpecification"]},
        )
        table = _wait_active(client, name)
    else:
        present = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
        for gsi in gsis:
            if gsi["IndexName"] in present:
                if _same_projection(present[gsi["IndexName"]], gsi):
                    continue
                drop = {"Delete": {"IndexName": gsi["IndexName"]}}
                client.update_table(TableName=name, GlobalSecondaryIndexUpdates=[drop])
                _wait_gone(client, name, gsi["IndexName"])
            key_names = {k["AttributeName"] for k in gsi["KeySchema"]}
            client.update_table(
                TableName=name,
                AttributeDefinitions=_attribute_definitions(props, key_names),
                GlobalSecondaryIndexUpdates=[{"Create": _gsi_spec(gsi)}],
            )
            _wait_active(client, name)
        table = _wait_active(client, name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    return table
