"""What we deploy and what we test against come from one definition, infra/table.yml.

The first half packages the app exactly as `make package` does (chalice package with
infra/table.yml merged in) and checks the template a deploy would use: it lints clean,
every function runs with a least-privilege role that cannot Scan, the stream mapping
reports partial failures and parks what it gives up on, and the zip fits Lambda.
The second half checks that the local DynamoDB table is built from the same file.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.local.table import TEMPLATE, ensure_table, load_template, parse, table_properties

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's bin dir; not resolved, so it stays the venv's
MAX_ZIP_BYTES = 25 * 1000 * 1000
FUNCTIONS = {
    "APIHandler": "ApiRole",
    "DueFollowUps": "ApiRole",
    "Birthdays": "ApiRole",
    "ScheduledMessages": "ApiRole",
    "AppointmentReminders": "ApiRole",
    "PoolReclaim": "ApiRole",
    "CardAlerts": "ApiRole",
    "ReportCheck": "ApiRole",
    "LeadImports": "ApiRole",
    "HandleStream": "StreamRole",
}
STREAM_EVENT = "HandleStreamDynamodbEventSource"  # the event key chalice gives handle_stream
# cfn-lint's exit code is a bit mask: 2 error, 4 warning, 8 informational; 1 means it
# could not lint at all (bad arguments, a crash), which must not pass as "no errors".
CFN_LINT_FAILED, CFN_LINT_ERRORS = 1, 2


def _tool_env() -> dict[str, str]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    for key in ("CRM_DYNAMODB_ENDPOINT", "CRM_TABLE", "CRM_JWT_SECRET"):
        env.pop(key, None)
    return env


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory) -> Path:
    """`chalice package --stage prod --merge-template infra/table.yml`, as `make package` runs it."""
    out = tmp_path_factory.mktemp("package") / "prod"
    result = subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template", "infra/table.yml", str(out)],
        cwd=ROOT,
        env=_tool_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def template(package_dir) -> dict[str, Any]:
    return parse((package_dir / "sam.yaml").read_text(encoding="utf-8"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_documents(template: dict[str, Any]):
    """Every inline or stand-alone policy document the template would create."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield name, policy["PolicyDocument"]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, props["PolicyDocument"]
        elif kind == "AWS::Serverless::Function":
            for policy in _as_list(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield name, policy


def _statements(template: dict[str, Any]):
    for name, document in _policy_documents(template):
        for statement in _as_list(document["Statement"]):
            yield name, statement


def _role_actions(template: dict[str, Any], role: str) -> dict[str, list[Any]]:
    """action -> the resources it is allowed on, for one role's inline policies."""
    granted: dict[str, list[Any]] = {}
    for name, statement in _statements(template):
        if name == role and statement["Effect"] == "Allow":
            for action in _as_list(statement["Action"]):
                granted.setdefault(action, []).extend(_as_list(statement["Resource"]))
    return granted


TABLE_RESOURCES = [{"Fn::GetAtt": ["CrmTable", "Arn"]}, {"Fn::Sub": "${CrmTable.Arn}/index/*"}]
ITEM_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
}


def test_the_deployable_template_passes_cfn_lint(package_dir):
    # GIVEN the template `make package` builds
    # WHEN cfn-lint checks it
    result = subprocess.run(
        [str(BIN / "cfn-lint"), str(package_dir / "sam.yaml")],
        capture_output=True,
        text=True,
        env=_tool_env(),
        timeout=600,
    )
    # THEN it ran, and found no errors (warnings, if any, are shown here)
    assert result.returncode & CFN_LINT_FAILED == 0, result.stdout + result.stderr
    assert result.returncode & CFN_LINT_ERRORS == 0, result.stdout


def test_the_deployment_zip_fits_lambdas_size_limit(package_dir):
    # GIVEN the code and its vendored dependencies, zipped by chalice
    size = (package_dir / "deployment.zip").stat().st_size
    # THEN it stays within our 25 MB budget
    assert size <= MAX_ZIP_BYTES, f"deployment.zip is {size / 1e6:.1f} MB"


def test_no_function_can_scan_the_table_or_touch_other_tables(template):
    # GIVEN every IAM policy statement the stack would create
    statements = list(_statements(template))
    assert statements
    for name, statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement, name
        actions = [a.lower() for a in _as_list(statement["Action"])]
        resources = _as_list(statement["Resource"])
        # THEN no action pattern covers Scan, no action is a bare wildcard
        assert not any(fnmatch.fnmatchcase("dynamodb:scan", a) for a in actions), (name, statement)
        assert "*" not in actions and "dynamodb:*" not in actions, (name, statement)
        # AND nothing is granted on every resource, least of all DynamoDB actions
        assert "*" not in resources, (name, statement)
        if any(a.startswith("dynamodb:") for a in actions):
            assert all("CrmTable" in json.dumps(r) for r in resources), (name, statement)


def test_each_function_runs_with_its_own_least_privilege_role(template):
    # GIVEN the functions chalice generates for app.py
    functions = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    # THEN they are the ones we expect, each using a role from infra/table.yml, not chalice's
    assert set(functions) == set(FUNCTIONS)
    for name, function in functions.items():
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [FUNCTIONS[name], "Arn"]}, name
    assert not any(
        v["Type"] == "AWS::IAM::Role" and k not in FUNCTIONS.values() for k, v in template["Resources"].items()
    )
    for role in ("ApiRole", "StreamRole"):
        props = template["Resources"][role]["Properties"]
        assert props["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert props["ManagedPolicyArns"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
        ]


def test_the_api_and_jobs_role_can_use_items_read_the_token_secret_and_send_from_the_schools_senders_only(
    template,
):
    # GIVEN what the API and the scheduled functions may do
    granted = _role_actions(template, "ApiRole")
    # THEN item operations (transactions included: IAM checks them per item) on the table and its indexes
    assert set(granted) == ITEM_ACTIONS | {
        "ssm:GetParameter",
        "sms-voice:SendTextMessage",
        "ses:SendEmail",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
    }
    # AND objects of the stack's own (private) files bucket, nothing else in S3
    files = [{"Fn::Sub": "${FilesBucket.Arn}/*"}]
    assert granted["s3:GetObject"] == granted["s3:PutObject"] == granted["s3:DeleteObject"] == files
    bucket = template["Resources"]["FilesBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    # AND SMS from the one pool, e-mail from the one verified domain
    assert granted["sms-voice:SendTextMessage"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:sms-voice:${AWS::Region}:${AWS::AccountId}:pool/${SmsPoolId}"}
    ]
    assert granted["ses:SendEmail"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${EmailDomain}"}
    ]
    assert "sms-voice:SendTextMessage" not in _role_actions(template, "StreamRole")
    for action in ITEM_ACTIONS:
        assert granted[action] == TABLE_RESOURCES, action
    # AND the one SSM parameter holding the JWT secret, whose name begins with "/" (no "parameter//")
    assert granted["ssm:GetParameter"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${JwtSecretParameterName}"}
    ]
    parameter = template["Parameters"]["JwtSecretParameterName"]
    assert parameter["Default"] == "/campus-crm/jwt-secret"
    assert parameter["AllowedPattern"].startswith("^(/")


def test_only_the_stream_role_reads_the_stream_and_writes_to_the_failure_queue(template):
    # GIVEN what the stream processor may do
    granted = _role_actions(template, "StreamRole")
    stream_actions = {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    # THEN the item operations, its table's stream, and sending to its failure queue; no secret
    assert set(granted) == ITEM_ACTIONS | stream_actions | {"sqs:SendMessage"}
    for action in stream_actions:
        assert granted[action] == [{"Fn::GetAtt": ["CrmTable", "StreamArn"]}], action
    assert granted["sqs:SendMessage"] == [{"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}]
    # AND the API role has none of it
    assert not set(_role_actions(template, "ApiRole")) & (stream_actions | {"sqs:SendMessage"})


def test_a_failing_stream_record_is_retried_alone_then_parked_in_a_queue(template):
    # GIVEN the DynamoDB event source of the stream processor
    events = template["Resources"]["HandleStream"]["Properties"]["Events"]
    assert set(events) == {STREAM_EVENT}
    source = events[STREAM_EVENT]
    props = source["Properties"]
    # THEN it reads this table's stream from the start of what is kept, 100 records at a time
    assert source["Type"] == "DynamoDB"
    assert props["Stream"] == {"Fn::GetAtt": ["CrmTable", "StreamArn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["BatchSize"] == 100
    # AND one bad record does not hold up its batch: partial failures, bisection, bounded retries
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 5
    assert props["MaximumRecordAgeInSeconds"] == 3600
    # AND what it gives up on lands in an encrypted queue kept for 14 days
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}}}
    queue = template["Resources"]["StreamFailureQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"] == {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}


def test_an_alarm_fires_when_the_stream_lags_or_records_fail_for_good(template):
    # GIVEN the alarms in the stack
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in template["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
    }
    # THEN one watches the stream processor's iterator age (over a minute behind)
    lag = alarms.pop("IteratorAge")
    assert lag["Namespace"] == "AWS/Lambda"
    assert lag["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "HandleStream"}}]
    assert (lag["ComparisonOperator"], lag["Threshold"]) == ("GreaterThanThreshold", 60000)
    # AND one watches the failure queue for any message at all
    failed = alarms.pop("ApproximateNumberOfMessagesVisible")
    assert failed["Namespace"] == "AWS/SQS"
    assert failed["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["StreamFailureQueue", "QueueName"]}}]
    assert (failed["ComparisonOperator"], failed["Threshold"]) == ("GreaterThanThreshold", 0)
    assert not alarms


def test_every_function_is_told_the_table_and_the_secret_parameter(template):
    # GIVEN the SAM Globals from infra/table.yml (SAM merges them into each function's variables)
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    # THEN the table and the secret's parameter come from the stack, and no function overrides them
    assert variables == {
        "CRM_TABLE": {"Ref": "CrmTable"},
        "CRM_JWT_SECRET_PARAM": {"Ref": "JwtSecretParameterName"},
        "CRM_SMS_ORIGINATION": {"Ref": "SmsPoolId"},
        "CRM_EMAIL_FROM": {"Fn::Sub": "no-reply@${EmailDomain}"},
        "CRM_BUCKET": {"Ref": "FilesBucket"},
    }
    for name in FUNCTIONS:
        own = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert not set(own) & set(variables), name
        assert own["CRM_STAGE"] == "prod"


def test_the_stack_outputs_the_api_url_the_table_and_its_stream(template):
    # GIVEN the stack's outputs (chalice adds the API's, infra/table.yml the table's)
    outputs = template["Outputs"]
    # THEN a deployer finds the API URL, the table for the console, and its stream
    assert outputs["EndpointURL"]["Value"]["Fn::Sub"].startswith("https://${RestAPI}.execute-api.")
    assert outputs["TableName"]["Value"] == {"Ref": "CrmTable"}
    assert outputs["TableStreamArn"]["Value"] == {"Fn::GetAtt": ["CrmTable", "StreamArn"]}


def test_the_table_keeps_its_data_safe_and_bills_per_request():
    # GIVEN the table definition
    props = table_properties()
    # THEN on-demand billing, a stream with both images, TTL, backups, encryption, and it survives stack deletion
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    table = load_template()["Resources"]["CrmTable"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def _indexes(gsis: list[dict[str, Any]]) -> dict[str, tuple[Any, str]]:
    return {g["IndexName"]: (g["KeySchema"], g["Projection"]["ProjectionType"]) for g in gsis}


def test_the_local_table_is_built_from_infra(table, ddb_client):
    # GIVEN the table the suite runs on, made by the local bootstrap
    # WHEN it is compared with infra/table.yml
    props = table_properties()
    # THEN keys, indexes, attribute types and the stream are the ones the cloud table gets
    assert table["KeySchema"] == props["KeySchema"]
    assert _indexes(table["GlobalSecondaryIndexes"]) == _indexes(props["GlobalSecondaryIndexes"])
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(props["AttributeDefinitions"], key=str)
    assert table["StreamSpecification"]["StreamEnabled"] is True
    assert table["StreamSpecification"]["StreamViewType"] == props["StreamSpecification"]["StreamViewType"]
    # AND TTL is on the same attribute
    ttl = ddb_client.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    assert ttl["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]


def test_the_code_uses_exactly_the_indexes_infra_defines():
    # GIVEN the indexes the pynamodb models query
    from chalicelib.db.base import BaseItem

    # WHEN they are compared with the ones infra/table.yml creates
    defined = {
        g["IndexName"]: [k["AttributeName"] for k in g["KeySchema"]]
        for g in table_properties()["GlobalSecondaryIndexes"]
    }
    in_code = {}
    for index in (BaseItem.gsi1, BaseItem.gsi2, BaseItem.gsi3, BaseItem.gsi4, BaseItem.due):
        schema = index._get_schema()
        in_code[schema["index_name"]] = [k["AttributeName"] for k in schema["key_schema"]]
    # THEN they are the same indexes with the same keys
    assert in_code == defined


def _template_without_index(index_name: str) -> dict[str, Any]:
    """infra/table.yml as it was before `index_name` was added (index and its key attributes gone)."""
    older = load_template(TEMPLATE)
    props = older["Resources"]["CrmTable"]["Properties"]
    dropped = next(g for g in props["GlobalSecondaryIndexes"] if g["IndexName"] == index_name)
    keys = {k["AttributeName"] for k in dropped["KeySchema"]}
    props["GlobalSecondaryIndexes"] = [g for g in props["GlobalSecondaryIndexes"] if g is not dropped]
    props["AttributeDefinitions"] = [d for d in props["AttributeDefinitions"] if d["AttributeName"] not in keys]
    return older


def test_a_gsi_added_to_infra_is_added_to_an_existing_local_table_keeping_its_data(ddb_client, tmp_path):
    # GIVEN a local table made from an older definition without the DUE index, holding an item
    older_path, current_path = tmp_path / "older.yml", tmp_path / "current.yml"
    older_path.write_text(yaml.safe_dump(_template_without_index("DUE")), encoding="utf-8")
    current_path.write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    name = f"upgrade-{uuid.uuid4().hex[:8]}"
    before = ensure_table(ddb_client, name, older_path)
    try:
        assert "DUE" not in {g["IndexName"] for g in before["GlobalSecondaryIndexes"]}
        item = {"PK": {"S": "T#t1#LEAD#1"}, "SK": {"S": "LEAD"}, "DUEPK": {"S": "DUE#2026-01-01"}, "DUESK": {"S": "1"}}
        ddb_client.put_item(TableName=name, Item=item)

        # WHEN the bootstrap runs again with the current definition
        after = ensure_table(ddb_client, name, current_path)

        # THEN the table has every index infra/table.yml defines
        assert _indexes(after["GlobalSecondaryIndexes"]) == _indexes(table_properties()["GlobalSecondaryIndexes"])
        # AND the existing item is still there and now found through the new index
        assert ddb_client.get_item(TableName=name, Key={"PK": item["PK"], "SK": item["SK"]})["Item"] == item
        found = ddb_client.query(
            TableName=name,
            IndexName="DUE",
            KeyConditionExpression="DUEPK = :d",
            ExpressionAttributeValues={":d": {"S": "DUE#2026-01-01"}},
        )["Items"]
        assert found == [item]
    finally:
        ddb_client.delete_table(TableName=name)
