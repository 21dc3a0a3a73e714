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
import re
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
    "DueFollowUps": "JobsRole",
    "Birthdays": "JobsRole",
    "ScheduledMessages": "JobsRole",
    "AppointmentReminders": "JobsRole",
    "PoolReclaim": "JobsRole",
    "CardAlerts": "JobsRole",
    "ReportCheck": "JobsRole",
    "LeadImports": "JobsRole",
    "StaffOffboarding": "JobsRole",
    "HandleStream": "StreamRole",
}
LOG_GROUPS = {"APIHandler": "ApiLogGroup", "HandleStream": "StreamLogGroup"}  # the jobs': <Function>LogGroup
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
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


# The console's URL, wherever the stack names the origin browsers may call from: the
# custom ConsoleOrigin, else the distribution's own https://<id>.cloudfront.net.
CONSOLE_URL = {
    "Fn::If": ["HasCustomOrigin", {"Ref": "ConsoleOrigin"}, {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"}]
}
QUOTED_CONSOLE_URL = {  # the same, as a gateway response header value
    "Fn::If": [
        "HasCustomOrigin",
        {"Fn::Sub": "'${ConsoleOrigin}'"},
        {"Fn::Sub": "'https://${ConsoleDistribution.DomainName}'"},
    ]
}


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
    for role in ("ApiRole", "JobsRole", "StreamRole"):
        props = template["Resources"][role]["Properties"]
        assert props["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
        # no managed policy (AWSLambdaBasicExecutionRole would let it create and write any log group)
        assert "ManagedPolicyArns" not in props, role


def test_the_stream_and_the_jobs_run_their_lean_handlers_not_the_apis(template, package_dir):
    # GIVEN the functions chalice generates for app.py, and the zip they run
    import zipfile

    from chalicelib.entry import jobs as job_handlers
    from chalicelib.entry import stream as stream_handler

    functions = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    handlers = {name: function["Properties"]["Handler"] for name, function in functions.items()}
    # THEN the API runs app.py; the stream function and each job their module in chalicelib/entry
    assert handlers.pop("APIHandler") == "app.app"
    assert handlers.pop("HandleStream") == "chalicelib.entry.stream.handle_stream"
    assert set(handlers) == {n for n, role in FUNCTIONS.items() if role == "JobsRole"}
    for name, handler in handlers.items():
        module, _, fn = handler.rpartition(".")
        assert module == "chalicelib.entry.jobs", name
        # the function chalice named from the job's name (due_follow_ups -> DueFollowUps)
        assert name == "".join(part.title() for part in fn.split("_")), name
        assert callable(getattr(job_handlers, fn)), name
    assert callable(stream_handler.handle_stream)
    # AND the modules they name are in the zip (as source or compiled)
    names = zipfile.ZipFile(package_dir / "deployment.zip").namelist()
    for module in ("__init__", "stream", "jobs"):
        assert any(re.fullmatch(rf"chalicelib/entry/(__pycache__/)?{module}\.(py|.*pyc)", n) for n in names), module


def _files(*prefixes: str) -> list[dict[str, str]]:
    return [{"Fn::Sub": f"${{FilesBucket.Arn}}/{prefix}/*"} for prefix in prefixes]


@pytest.mark.parametrize("role", ["ApiRole", "JobsRole"])
def test_the_api_and_jobs_roles_can_use_items_read_the_token_secret_and_send_from_the_schools_senders_only(
    template, role
):
    # GIVEN what the API, or the scheduled functions, may do
    granted = _role_actions(template, role)
    # THEN item operations (transactions included: IAM checks them per item) on the table and its indexes
    files = {"s3:GetObject", "s3:PutObject"} | ({"s3:DeleteObject"} if role == "ApiRole" else set())
    assert set(granted) == ITEM_ACTIONS | LOG_ACTIONS | files | {
        "ssm:GetParameter",
        "sms-voice:SendTextMessage",
        "ses:SendEmail",
    }
    bucket = template["Resources"]["FilesBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    # AND SMS from the one pool, e-mail from the one verified domain
    assert granted["sms-voice:SendTextMessage"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:sms-voice:${AWS::Region}:${AWS::AccountId}:pool/${SmsPoolId}"}
    ]
    assert granted["ses:SendEmail"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${EmailDomain}"}
    ]
    for action in ITEM_ACTIONS:
        assert granted[action] == TABLE_RESOURCES, action
    # AND the one SSM parameter holding the JWT secret, whose name begins with "/" (no "parameter//")
    assert granted["ssm:GetParameter"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${JwtSecretParameterName}"}
    ]
    parameter = template["Parameters"]["JwtSecretParameterName"]
    assert parameter["Default"] == "/campus-crm/jwt-secret"
    assert parameter["AllowedPattern"].startswith("^(/")


def test_each_role_reaches_only_its_own_files(template):
    # GIVEN the files bucket's prefixes: uploads/ (presigned PUTs), attachments/ (published), imports/
    api, jobs = _role_actions(template, "ApiRole"), _role_actions(template, "JobsRole")
    # THEN the API signs uploads, publishes and serves attachments, takes imports; it deletes only attachments
    assert api["s3:GetObject"] == api["s3:PutObject"] == _files("uploads", "attachments", "imports")
    assert api["s3:DeleteObject"] == _files("attachments")
    # AND the jobs read imports and write their error sheets, nothing else
    assert jobs["s3:GetObject"] == jobs["s3:PutObject"] == _files("imports")
    # AND the stream processor has no file, no secret and no sender at all
    stream = _role_actions(template, "StreamRole")
    assert not {a for a in stream if a.split(":")[0] in ("s3", "ssm", "sms-voice", "ses")}


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
    assert set(granted) == ITEM_ACTIONS | stream_actions | LOG_ACTIONS | {"sqs:SendMessage"}
    for action in stream_actions:
        assert granted[action] == [{"Fn::GetAtt": ["CrmTable", "StreamArn"]}], action
    assert granted["sqs:SendMessage"] == [{"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}]
    # AND the API and jobs roles have none of it
    for role in ("ApiRole", "JobsRole"):
        assert not set(_role_actions(template, role)) & (stream_actions | {"sqs:SendMessage"}), role


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
        "CRM_CONSOLE_ORIGIN": CONSOLE_URL,
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


def test_the_files_bucket_refuses_anything_over_plain_http(template):
    # GIVEN the files bucket's policy
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    policies = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": "FilesBucket"}]
    assert len(policies) == 1
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    # THEN every S3 action on the bucket and its objects is denied to anyone without TLS
    assert {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [{"Fn::GetAtt": ["FilesBucket", "Arn"]}, {"Fn::Sub": "${FilesBucket.Arn}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    } in statements
    assert not [s for s in statements if s["Effect"] == "Allow"]


def test_the_files_bucket_forgets_uploads_after_a_day_and_imports_with_their_error_sheets_after_30_days(template):
    # GIVEN the bucket's lifecycle rules
    rules = template["Resources"]["FilesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = {r["Prefix"]: r["ExpirationInDays"] for r in rules if r["Status"] == "Enabled" and "Prefix" in r}
    # THEN unpublished uploads (a published attachment is a copy under attachments/) go after a day,
    # import files and their error sheets (imports/<school>/<import>/...) after 30 days
    assert expiring == {"uploads/": 1, "imports/": 30}
    # AND a multipart upload left half done is cleaned up too; published attachments are kept
    assert {
        "Id": "incomplete-uploads-abort",
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    } in rules


def test_browsers_reach_the_files_bucket_from_the_stages_console_only(template):
    # GIVEN the bucket's CORS rules and the stack's ConsoleOrigin parameter
    (rule,) = template["Resources"]["FilesBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    parameter = template["Parameters"]["ConsoleOrigin"]
    # THEN only that origin may PUT and GET, with the headers an upload sends
    assert rule["AllowedOrigins"] == [CONSOLE_URL]
    assert sorted(rule["AllowedMethods"]) == ["GET", "PUT"]
    assert rule["AllowedHeaders"] == ["Content-Type", "If-None-Match"]
    # AND a custom origin is an https host the distribution can serve (no port, no path),
    # never "*" or plain http; empty (the default) means the distribution's own domain
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("https://crm.example.edu") and pattern.fullmatch("")
    refused = ("*", "http://crm.example.edu", "https://*.example.edu", "https://crm.example.edu/path")
    for origin in (*refused, "https://crm.example.edu:8443"):
        assert not pattern.fullmatch(origin), origin
    # AND it is the origin the prod stage's API allows (CRM_CORS_ORIGIN)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    for stage in ("dev", "prod"):
        assert pattern.match(config["stages"][stage]["environment_variables"]["CRM_CORS_ORIGIN"]), stage


def test_the_api_stage_is_throttled(template):
    # GIVEN the API's stage settings
    api = template["Resources"]["RestAPI"]["Properties"]
    # THEN every method of every path is throttled to the stack's rate and burst
    assert api["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
        }
    ]
    assert template["Parameters"]["ApiRateLimit"]["Default"] == 50
    assert template["Parameters"]["ApiBurstLimit"]["Default"] == 100


def test_every_function_logs_to_its_own_group_kept_for_a_bounded_time(template):
    resources = template["Resources"]
    retention = template["Parameters"]["LogRetentionInDays"]
    assert retention["Default"] == 90 and max(retention["AllowedValues"]) <= 365
    groups = set()
    for name, role in FUNCTIONS.items():
        # GIVEN a function and the log group it is given
        group = LOG_GROUPS.get(name, f"{name}LogGroup")
        assert resources[name]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group}}, name
        # THEN the group is the stack's, with a retention
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        # AND the function's role may write to it (and may not create groups)
        granted = _role_actions(template, role)
        assert {"Fn::GetAtt": [group, "Arn"]} in granted["logs:PutLogEvents"], name
        assert {"Fn::GetAtt": [group, "Arn"]} in granted["logs:CreateLogStream"], name
        assert "logs:CreateLogGroup" not in granted
        groups.add(group)
    # AND no function shares its group, and no role writes another kind's logs
    assert len(groups) == len(FUNCTIONS)
    for role in set(FUNCTIONS.values()):
        own = {LOG_GROUPS.get(f, f"{f}LogGroup") for f, r in FUNCTIONS.items() if r == role}
        assert {g["Fn::GetAtt"][0] for g in _role_actions(template, role)["logs:PutLogEvents"]} == own, role


ENVELOPE_KEYS = ["code", "message", "details"]


def test_api_gateways_own_errors_answer_in_the_error_envelope_with_cors(template):
    # GIVEN the answers API Gateway gives by itself (no route, too large, throttled, its 5xx)
    responses = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"
    ]
    assert {
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "ACCESS_DENIED",
        "UNAUTHORIZED",
        "MISSING_AUTHENTICATION_TOKEN",
        "REQUEST_TOO_LARGE",
        "THROTTLED",
        "QUOTA_EXCEEDED",
        "INTEGRATION_TIMEOUT",
        "INTEGRATION_FAILURE",
    } <= set(responses)
    for kind, response in responses.items():
        # THEN each is the app's JSON envelope {"error": {"code", "message", "details"}}
        body = response["responseTemplates"]["application/json"]
        sample = body.replace("$context.error.messageString", '"a message"')
        error = json.loads(sample)["error"]
        assert list(error) == ENVELOPE_KEYS and error["details"] == [], kind
        assert error["code"] and error["message"], kind
        # AND the console may read it: the stage's origin, never "*"
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == QUOTED_CONSOLE_URL
    # AND the codes are the app's own where there is one; an unknown route is a 404
    expected = {
        "THROTTLED": ("429", "THROTTLED"),
        "REQUEST_TOO_LARGE": ("413", "REQUEST_TOO_LARGE"),
        "MISSING_AUTHENTICATION_TOKEN": ("404", "NOT_FOUND"),
        "ACCESS_DENIED": ("403", "FORBIDDEN"),
        "UNAUTHORIZED": ("401", "UNAUTHORIZED"),
    }
    for kind, (status, code) in expected.items():
        assert responses[kind]["statusCode"] == status, kind
        assert json.loads(responses[kind]["responseTemplates"]["application/json"])["error"]["code"] == code
    assert responses["THROTTLED"]["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"  # what CloudFormation gives the distribution


def _resolve(template: dict[str, Any], value: Any, parameters: dict[str, str]) -> Any:
    """What CloudFormation makes of `value` for these parameter values (the intrinsics the
    console's origin uses: Ref, Fn::Sub, Fn::If, Fn::Not, Fn::Equals, Fn::Select, Fn::Split)."""
    params = {name: p.get("Default") for name, p in template["Parameters"].items()} | parameters
    attributes = {"ConsoleDistribution.DomainName": DISTRIBUTION_DOMAIN}

    def condition(name: str) -> bool:
        return bool(resolve(template["Conditions"][name]))

    def resolve(v: Any) -> Any:
        if isinstance(v, list):
            return [resolve(x) for x in v]
        if not isinstance(v, dict):
            return v
        if len(v) != 1 or not (next(iter(v)) == "Ref" or next(iter(v)).startswith("Fn::")):
            return {key: resolve(x) for key, x in v.items()}
        ((fn, arg),) = v.items()
        if fn == "Ref":
            return params.get(arg, v)  # AWS::NoValue stays as it is
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: params.get(m[1]) or attributes[m[1]], arg)
        if fn == "Fn::If":
            return resolve(arg[1] if condition(arg[0]) else arg[2])
        if fn == "Fn::Not":
            return not resolve(arg[0])
        if fn == "Fn::Equals":
            return resolve(arg[0]) == resolve(arg[1])
        if fn == "Fn::Select":
            return resolve(arg[1])[int(arg[0])]
        if fn == "Fn::Split":
            return resolve(arg[1]).split(arg[0])
        return v

    return resolve(value)


def _allowed_origins(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Every place the stack names the origin browsers may call from, resolved."""
    resources = template["Resources"]
    responses = resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    (rule,) = resources["FilesBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    places = {
        "CRM_CONSOLE_ORIGIN": template["Globals"]["Function"]["Environment"]["Variables"]["CRM_CONSOLE_ORIGIN"],
        "files bucket": rule["AllowedOrigins"],
        "output ConsoleUrl": template["Outputs"]["ConsoleUrl"]["Value"],
    }
    for kind, response in responses.items():
        places[kind] = response["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
    return {place: _resolve(template, value, parameters) for place, value in places.items()}


def test_the_console_bucket_is_private_and_read_by_the_consoles_distribution_only(template):
    resources = template["Resources"]
    # GIVEN the console's bucket and its policy
    bucket = resources["ConsoleBucket"]["Properties"]
    (policy,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": "ConsoleBucket"}
    ]
    # THEN nothing in it is public, it is encrypted, and ACLs are off
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    statements = policy["PolicyDocument"]["Statement"]
    # AND plain HTTP is refused to everyone
    assert {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [{"Fn::GetAtt": ["ConsoleBucket", "Arn"]}, {"Fn::Sub": "${ConsoleBucket.Arn}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    } in statements
    # AND the only reader is CloudFront, for this stack's distribution (its ARN), reading objects only
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == {"Fn::Sub": "${ConsoleBucket.Arn}/*"}
    assert allow["Condition"] == {
        "StringEquals": {
            "AWS:SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"
            }
        }
    }
    # AND the distribution reaches the bucket through origin access control (signed reads), not a website endpoint
    config = resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    oac = resources["ConsoleOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    # AND the stack tells the deployer where to upload
    assert template["Outputs"]["ConsoleBucket"]["Value"] == {"Ref": "ConsoleBucket"}
    assert template["Outputs"]["ConsoleDistributionId"]["Value"] == {"Ref": "ConsoleDistribution"}


CACHING_OPTIMIZED, CACHING_DISABLED = "658327ea-f89d-4fab-a63d-7e88639e58f6", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"


def test_the_console_is_served_over_https_only_and_its_pages_fall_back_to_index_html(template):
    # GIVEN the console's distribution
    config = template["Resources"]["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    # THEN every behaviour redirects plain HTTP to HTTPS, serves reads only, and adds the security headers
    for behaviour in behaviours:
        assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
        assert behaviour["ResponseHeadersPolicyId"] == SECURITY_HEADERS
    # AND the hashed assets are cached, index.html and config.json (rewritten in place by each upload) are not
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_OPTIMIZED
    assert {b["PathPattern"]: b["CachePolicyId"] for b in config["CacheBehaviors"]} == {
        "/index.html": CACHING_DISABLED,
        "/config.json": CACHING_DISABLED,
    }
    # AND "/" is the console, and a router page such as /leads/123 (no such file: S3 answers 403,
    # as the distribution may not list the bucket) gets index.html with 200
    assert config["DefaultRootObject"] == "index.html"
    fallback = {e["ErrorCode"]: (e["ResponseCode"], e["ResponsePagePath"]) for e in config["CustomErrorResponses"]}
    assert fallback == {403: (200, "/index.html"), 404: (200, "/index.html")}
    # AND without a custom origin it is CloudFront's own certificate and domain
    assert _resolve(template, config["ViewerCertificate"], {}) == {"CloudFrontDefaultCertificate": True}
    assert _resolve(template, config["Aliases"], {}) == {"Ref": "AWS::NoValue"}


def test_without_a_custom_origin_the_api_and_files_bucket_allow_the_consoles_cloudfront_url(template):
    # GIVEN a stack deployed without ConsoleOrigin (its default, empty)
    origins = _allowed_origins(template, {})
    console_url = f"https://{DISTRIBUTION_DOMAIN}"
    # THEN the stack outputs the distribution's https URL as ConsoleUrl
    assert origins.pop("output ConsoleUrl") == console_url
    # AND that URL is the one origin the API's functions (checked against CRM_CORS_ORIGIN), API
    # Gateway's own answers and the files bucket allow: never "*", never empty
    assert origins.pop("files bucket") == [console_url]
    wrong = {place: origin for place, origin in origins.items() if origin not in (console_url, f"'{console_url}'")}
    print(f"places allowing another origin: {len(wrong)}")
    assert wrong == {}
    assert origins.pop("CRM_CONSOLE_ORIGIN") == console_url


def test_a_custom_console_origin_is_served_by_the_distribution_with_its_certificate(template):
    # GIVEN a stack deployed with the console's own domain and its certificate
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"
    parameters = {"ConsoleOrigin": "https://crm.example.edu", "ConsoleCertificateArn": certificate}
    config = template["Resources"]["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    # THEN the distribution answers for that host, with that certificate, TLS 1.2 at least
    assert _resolve(template, config["Aliases"], parameters) == ["crm.example.edu"]
    assert _resolve(template, config["ViewerCertificate"], parameters) == {
        "AcmCertificateArn": certificate,
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    # AND the API, its gateway answers and the files bucket allow that origin, which is the ConsoleUrl
    origins = _allowed_origins(template, parameters)
    assert origins.pop("files bucket") == ["https://crm.example.edu"]
    assert {o.strip("'") for o in origins.values()} == {"https://crm.example.edu"}
    # AND a custom origin without a certificate is refused before anything is created
    (rule,) = template["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleOrigin"}, ""]}]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleCertificateArn"}, ""]}]}


@pytest.mark.parametrize("origin", ["*", "", "http://crm.example.edu", "https://crm.example.edu/app"])
def test_the_api_refuses_to_start_on_a_cloud_stage_without_its_consoles_origin(origin):
    from chalicelib.settings import Settings, SettingsError

    # GIVEN a prod or dev configuration whose CORS origin is missing, "*" or not an https origin
    for stage in ("prod", "dev"):
        settings = Settings.from_env({"CRM_STAGE": stage, "CRM_CORS_ORIGIN": origin})
        # WHEN the API asks for the origin it allows
        # THEN it refuses to start, naming the variable
        with pytest.raises(SettingsError, match="CRM_CORS_ORIGIN"):
            settings.api_cors_origin()
    # AND the local stages (make run, the tests) may allow any origin
    assert Settings.from_env({"CRM_STAGE": "local"}).api_cors_origin() == "*"
    assert Settings.from_env({"CRM_STAGE": "test", "CRM_CORS_ORIGIN": "*"}).api_cors_origin() == "*"


def test_the_api_refuses_to_start_when_its_origin_and_the_stacks_console_origin_differ():
    from chalicelib.settings import Settings, SettingsError

    env = {"CRM_STAGE": "prod", "CRM_CORS_ORIGIN": "https://crm.example.edu"}
    assert Settings.from_env(env).api_cors_origin() == "https://crm.example.edu"
    same = Settings.from_env({**env, "CRM_CONSOLE_ORIGIN": "https://crm.example.edu"})
    assert same.api_cors_origin() == "https://crm.example.edu"
    other = Settings.from_env({**env, "CRM_CONSOLE_ORIGIN": "https://other.example.edu"})
    with pytest.raises(SettingsError, match="ConsoleOrigin"):
        other.api_cors_origin()


def test_the_app_does_not_start_on_a_cloud_stage_that_allows_every_origin():
    # GIVEN the prod stage's environment, with CRM_CORS_ORIGIN set to "*"
    env = {**_tool_env(), "CRM_STAGE": "prod", "CRM_CORS_ORIGIN": "*"}
    # WHEN the app is loaded, as Lambda (and chalice package) load it
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    # THEN it stops with the reason, instead of serving an API every site may call
    assert result.returncode != 0
    assert "SettingsError" in result.stderr and "CRM_CORS_ORIGIN" in result.stderr


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
