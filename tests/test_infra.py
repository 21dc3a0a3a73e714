"""The deployable template and the local table come from one definition, infra/table.yml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.table import ensure_table, load_template, parse, table_properties

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """`chalice package` with the merge template, as `make package` runs it."""
    out = tmp_path_factory.mktemp("package")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    for key in ("CRM_DYNAMODB_ENDPOINT", "CRM_TABLE", "CRM_JWT_SECRET"):
        env.pop(key, None)
    subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template", "infra/table.yml", str(out / "p")],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out / "p"


def _template(packaged):
    return parse((packaged / "sam.yaml").read_text(encoding="utf-8"))


def test_the_packaged_template_passes_cfn_lint(packaged):
    result = subprocess.run(
        [str(BIN / "cfn-lint"), str(packaged / "sam.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        timeout=600,
    )
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational
    assert result.returncode & 2 == 0, result.stdout
    assert result.returncode == 0, result.stdout  # no warnings either


def test_the_deployment_zip_stays_under_25_mb(packaged):
    assert (packaged / "deployment.zip").stat().st_size <= 25 * 1000 * 1000


def _statements(template):
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            yield from policy["PolicyDocument"]["Statement"]


def test_functions_get_least_privilege_roles_without_scan(packaged):
    template = _template(packaged)
    statements = list(_statements(template))
    assert statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "dynamodb:Scan" not in actions and "dynamodb:*" not in actions
        assert "*" not in resources, statement
    functions = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {"APIHandler", "HandleStream", "DueFollowUps", "Birthdays", "ScheduledMessages"}
    for name, function in functions.items():
        expected = "StreamRole" if name == "HandleStream" else "ApiRole"
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [expected, "Arn"]}, name


def test_the_stream_mapping_reports_partial_failures_and_has_a_dead_letter_queue(packaged):
    template = _template(packaged)
    source = template["Resources"]["HandleStream"]["Properties"]["Events"]["HandleStreamDynamodbEventSource"]
    props = source["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["CrmTable", "StreamArn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 5
    assert props["MaximumRecordAgeInSeconds"] == 3600
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}
    alarms = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    assert {a["Properties"]["MetricName"] for a in alarms.values()} == {
        "IteratorAge",
        "ApproximateNumberOfMessagesVisible",
    }


def test_the_table_has_stream_ttl_pitr_and_on_demand_billing():
    props = table_properties()
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert load_template()["Resources"]["CrmTable"]["DeletionPolicy"] == "Retain"


def test_the_local_table_is_built_from_infra(table):
    props = table_properties()
    assert table["KeySchema"] == props["KeySchema"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    local = {g["IndexName"]: g["KeySchema"] for g in table["GlobalSecondaryIndexes"]}
    defined = {g["IndexName"]: g["KeySchema"] for g in props["GlobalSecondaryIndexes"]}
    assert local == defined


def test_the_code_uses_exactly_the_indexes_infra_defines():
    from chalicelib.db.base import BaseItem

    defined = {
        g["IndexName"]: [k["AttributeName"] for k in g["KeySchema"]]
        for g in table_properties()["GlobalSecondaryIndexes"]
    }
    in_code = {}
    for index in (BaseItem.gsi1, BaseItem.gsi2, BaseItem.gsi3, BaseItem.gsi4, BaseItem.due):
        schema = index._get_schema()
        in_code[schema["index_name"]] = [k["AttributeName"] for k in schema["key_schema"]]
    assert in_code == defined


def test_adding_a_gsi_to_infra_adds_it_to_an_existing_local_table(ddb_client, tmp_path):
    # GIVEN a local table made from an older definition without the DUE index
    full = (Path(__file__).resolve().parents[1] / "infra" / "table.yml").read_text(encoding="utf-8")
    dropped = ("IndexName: DUE", "AttributeName: DUEPK, AttributeType", "AttributeName: DUESK, AttributeType")
    older = "\n".join(line for line in full.splitlines() if not any(d in line for d in dropped))
    older_path, full_path = tmp_path / "older.yml", tmp_path / "full.yml"
    older_path.write_text(older, encoding="utf-8")
    full_path.write_text(full, encoding="utf-8")
    name = f"upgrade-{os.getpid()}"
    before = ensure_table(ddb_client, name, older_path)
    assert "DUE" not in {g["IndexName"] for g in before["GlobalSecondaryIndexes"]}
    # WHEN the bootstrap runs with the current definition
    after = ensure_table(ddb_client, name, full_path)
    # THEN the index is there, and nothing else changed
    assert {g["IndexName"] for g in after["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2", "GSI3", "GSI4", "DUE"}
    ddb_client.delete_table(TableName=name)
