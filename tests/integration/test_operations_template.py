"""Operations resources of template.yaml, built into moto as the tests build every resource:
alarms on every dead-letter and failure queue, an OnFailure destination for every asynchronous
source, log groups with retention, the dashboard, and the grants and edge rules as written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.cfn import ROOT, Stack, load_template

TOPIC = "arn:aws:sns:ca-central-1:123456789012:portal-operations"


def _alarms() -> list[dict[str, Any]]:
    return list(boto3.client("cloudwatch", region_name="ca-central-1").describe_alarms()["MetricAlarms"])


def _queue_alarms(alarms: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Queue name -> its 'messages visible' alarm."""
    found = {}
    for alarm in alarms:
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible" and alarm.get("Namespace") == "AWS/SQS":
            queue = next(d["Value"] for d in alarm["Dimensions"] if d["Name"] == "QueueName")
            found[queue] = alarm
    return found


def _dead_letter_targets(stack: Stack) -> set[str]:
    """Logical ids of queues that hold failures: redrive targets and OnFailure destinations."""
    arns = {str(stack.physical[q]["Arn"]): q for q in stack.of_type("AWS::SQS::Queue")}
    targets = set()
    for queue in stack.of_type("AWS::SQS::Queue").values():
        policy = (queue.get("Properties") or {}).get("RedrivePolicy")
        if policy:
            targets.add(arns[str(stack.resolve(policy["deadLetterTargetArn"]))])
    for spec in stack.functions().values():
        if spec.on_failure_arn:
            targets.add(arns[spec.on_failure_arn])
        for source in spec.sources:
            on_failure = (source.properties.get("DestinationConfig") or {}).get("OnFailure")
            if on_failure:
                targets.add(arns[str(stack.resolve(on_failure["Destination"]))])
    for rule in stack.of_type("AWS::Events::Rule").values():
        for target in rule["Properties"].get("Targets") or []:
            if "DeadLetterConfig" in target:
                targets.add(arns[str(stack.resolve(target["DeadLetterConfig"]["Arn"]))])
    return targets


def test_every_queue_has_a_dead_letter_queue_and_every_failure_queue_an_alarm(aws: Stack) -> None:
    queues = aws.of_type("AWS::SQS::Queue")
    failure_queues = _dead_letter_targets(aws)
    assert failure_queues == {
        "ClaimsDeadLetterQueue",
        "ClaimStreamFailureQueue",
        "ReceiptCheckFailureQueue",
        "DrugImportFailureQueue",
        "EligibilityImportFailureQueue",
        "SweeperFailureQueue",
        "ClaimEmailEventsFailureQueue",
    }
    # Every queue that is not itself a failure queue has a redrive policy.
    for logical_id, queue in queues.items():
        if logical_id not in failure_queues:
            assert "RedrivePolicy" in (queue.get("Properties") or {}), logical_id
    # Every failure queue exists in moto and is alarmed from its first message.
    alarmed = _queue_alarms(_alarms())
    sqs = boto3.client("sqs", region_name="ca-central-1")
    for logical_id in failure_queues:
        name = aws.physical[logical_id]["QueueName"]
        assert sqs.get_queue_url(QueueName=name)
        alarm = alarmed[name]
        assert alarm["Threshold"] == 0, logical_id
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", logical_id
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_asynchronous_source_has_an_on_failure_destination(aws: Stack) -> None:
    for spec in aws.functions().values():
        kinds = {s.kind for s in spec.sources}
        if "S3" in kinds:  # S3 invokes asynchronously
            assert spec.on_failure_arn, spec.logical_id
            assert spec.async_retries <= 2
        for source in spec.sources:
            if source.kind == "DynamoDB":
                assert source.properties["DestinationConfig"]["OnFailure"]["Type"] == "SQS", spec.logical_id
                assert int(source.properties["MaximumRetryAttempts"]) >= 0


def test_the_alarms_the_runbook_describes_exist(aws: Stack) -> None:
    alarms = _alarms()
    metrics = {(a.get("Namespace"), a.get("MetricName")) for a in alarms}
    assert ("AWS/Lambda", "Errors") in metrics
    assert ("AWS/Lambda", "Throttles") in metrics
    assert ("AWS/ApiGateway", "Latency") in metrics
    assert ("AWS/SES", "Reputation.BounceRate") in metrics
    assert ("AWS/SES", "Reputation.ComplaintRate") in metrics
    assert ("AWS/SQS", "ApproximateAgeOfOldestMessage") in metrics
    processor = aws.name("ClaimProcessorFunction")
    assert any(
        a.get("MetricName") == "Errors" and {"Name": "FunctionName", "Value": processor} in a["Dimensions"]
        for a in alarms
    )
    rate = next(a for a in alarms if a["AlarmName"].endswith("-api-5xx-rate"))
    expressions = [m.get("Expression") for m in rate["Metrics"] if m.get("Expression")]
    assert expressions
    assert "errors / requests" in expressions[0]
    # Every alarm is documented in the runbook, by its logical id.
    runbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for logical_id in aws.of_type("AWS::CloudWatch::Alarm"):
        assert f"`{logical_id}`" in runbook, logical_id
    # The template's alarms notify nobody until the topic is given (they still show their state).
    assert all(a.get("AlarmActions", []) == [] for a in alarms)


def test_alarms_notify_the_topic_parameter() -> None:
    from moto import mock_aws

    with mock_aws():
        stack = Stack(parameters={"AlarmTopicArn": TOPIC})
        stack.create()
        alarms = _alarms()
        assert len(alarms) == len(stack.of_type("AWS::CloudWatch::Alarm")) >= 13
        for alarm in alarms:
            assert alarm["AlarmActions"] == [TOPIC], alarm["AlarmName"]
            assert alarm["OKActions"] == [TOPIC], alarm["AlarmName"]


def test_every_log_group_is_declared_with_the_retention_parameter(aws: Stack) -> None:
    logs = boto3.client("logs", region_name="ca-central-1")
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    retention = int(aws.parameters["LogRetentionDays"])
    for logical_id, function in aws.of_type("AWS::Serverless::Function").items():
        name = aws.resolve(function["Properties"]["LoggingConfig"]["LogGroup"])
        assert groups[name]["retentionInDays"] == retention, logical_id
    assert len(groups) == len(aws.of_type("AWS::Serverless::Function")) + 2
    for logical_id in ("ApiAccessLogGroup", "WafLogGroup"):
        assert groups[aws.name(logical_id)]["retentionInDays"] == retention


PERSONAL = re.compile(r"\$context\.(identity\.|path\b|authorizer\.claims|requestOverride|domainPrefix)")


def test_access_logs_are_json_without_personal_data() -> None:
    api = load_template()["Resources"]["Api"]["Properties"]
    setting = api["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    record = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", setting["Format"]))
    assert {"requestId", "status", "resourcePath", "responseLatency"} <= set(record)
    assert not PERSONAL.findall(setting["Format"]), "no IP, user agent, caller, claims or raw path"
    stage = next(s for s in api["MethodSettings"] if s["ResourcePath"] == "/*")
    assert stage["DataTraceEnabled"] is False  # execution logs would otherwise hold request bodies


def test_dashboard_shows_every_metric_the_code_emits(aws: Stack) -> None:
    body = json.loads(
        boto3.client("cloudwatch", region_name="ca-central-1").get_dashboard(
            DashboardName=aws.name("OperationsDashboard")
        )["DashboardBody"]
    )
    namespace = aws.parameters["MetricsNamespace"]
    shown = {
        (m[1], m[3])
        for w in body["widgets"]
        for m in w["properties"]["metrics"]
        if m[0] == namespace and m[2] == "service"
    }
    emitted = set()
    sources = [*Path(ROOT, "functions").rglob("*.py"), *Path(ROOT, "layers/common/portal_common").rglob("*.py")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'metrics\.count\("([a-z-]+)", "([A-Za-z]+)"', text))
        for service, names in re.findall(r'metrics\.emit\(\s*"([a-z-]+)",\s*\{([^}]*)\}', text):
            emitted |= {(service, n) for n in re.findall(r'"([A-Za-z]+)":', names)}
    assert {(name, service) for service, name in emitted} == shown


@pytest.mark.parametrize("crud", ["DynamoDBCrudPolicy", "DynamoDBReadPolicy", "DynamoDBWritePolicy"])
def test_no_function_holds_a_table_wide_policy_template(crud: str) -> None:
    for logical_id, resource in load_template()["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in resource["Properties"].get("Policies") or []:
                assert crud not in policy, logical_id


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if resource["Type"] != "AWS::Serverless::Function":
        return found
    for policy in resource["Properties"].get("Policies") or []:
        found.extend(policy.get("Statement") or [])
    return found


def test_grants_are_narrow() -> None:
    resources = load_template()["Resources"]
    for logical_id, resource in resources.items():
        for statement in _statements(resource):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a.endswith("*") for a in actions), logical_id
            assert "dynamodb:Scan" not in actions, logical_id
            assert statement.get("Resource") != "*", logical_id
            assert "userpool/*" not in json.dumps(statement.get("Resource")), logical_id
    # The identity functions: exactly what their code calls on the members table.
    expected = {
        "AuthApiFunction": {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"},
        "PreSignUpFunction": {"GetItem", "Query", "UpdateItem", "PutItem"},
        "PostConfirmationFunction": {"GetItem", "UpdateItem"},
    }
    for logical_id, actions in expected.items():
        granted = {
            a.split(":", 1)[1]
            for s in _statements(resources[logical_id])
            for a in s["Action"]
            if a.startswith("dynamodb:")
        }
        assert granted == actions, logical_id
    # PostConfirmation may update attributes (the roster link) and sign out (after a reset) on this
    # stack's pool only.
    grant = resources["PostConfirmationUserPoolPolicy"]["Properties"]
    assert grant["Roles"] == [{"Ref": "PostConfirmationFunctionRole"}]
    assert grant["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["cognito-idp:AdminUpdateUserAttributes", "cognito-idp:AdminUserGlobalSignOut"],
            "Resource": {"Fn::GetAtt": ["UserPool", "Arn"]},
        }
    ]


def test_edge_protection_is_tighter_on_auth_routes(aws: Stack) -> None:
    resources = load_template()["Resources"]
    acl = resources["ApiWebAcl"]["Properties"]
    rules = {r["Name"]: r for r in acl["Rules"]}
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "OverrideAction" in r}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= managed
    auth = rules["auth-rate-limit"]["Statement"]["RateBasedStatement"]
    assert auth["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"] == "/v1/auth/"
    assert auth["Limit"] < rules["api-rate-limit"]["Statement"]["RateBasedStatement"]["Limit"]
    association = resources["ApiWebAclAssociation"]["Properties"]
    assert "/restapis/${Api}/stages/${Api.Stage}" in association["ResourceArn"]["Fn::Sub"]
    # Every auth route has its own stage throttle, below the stage-wide one.
    settings = resources["Api"]["Properties"]["MethodSettings"]
    stage = next(s for s in settings if s["ResourcePath"] == "/*")
    by_path = {(s["ResourcePath"], s["HttpMethod"]): s for s in settings}
    auth_routes = [r for r in aws.routes() if r.path.startswith("/auth/")]
    assert auth_routes
    for route in auth_routes:
        setting = by_path[("/" + route.path.replace("/", "~1"), route.method)]
        assert setting["ThrottlingRateLimit"] < stage["ThrottlingRateLimit"], route.path
        assert setting["ThrottlingBurstLimit"] < stage["ThrottlingBurstLimit"], route.path


def test_tracing_follows_its_parameter() -> None:
    from portal_common.config import load_settings

    off = Stack()
    on = Stack(parameters={"Tracing": "Enabled"})
    for spec in off.functions().values():
        assert load_settings(spec.environment).tracing_enabled is False
    for spec in on.functions().values():
        assert load_settings(spec.environment).tracing_enabled is True
    assert off.resolve(off.template["Resources"]["Api"]["Properties"]["TracingEnabled"]) is False
    assert on.resolve(on.template["Resources"]["Api"]["Properties"]["TracingEnabled"]) is True


def _policy_statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in resource["Properties"].get("Policies") or [] for s in p.get("Statement") or []]


def test_the_sweeper_runs_on_a_schedule_with_least_privilege_and_alarms(aws: Stack) -> None:
    resources = load_template()["Resources"]
    schedule = resources["ClaimSweeperSchedule"]
    assert schedule["Type"] == "AWS::Scheduler::Schedule"
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(5 minutes)"
    assert props["Target"]["Arn"] == {"Fn::GetAtt": ["ClaimSweeperFunction", "Arn"]}
    assert props["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["SweeperFailureQueue", "Arn"]}}
    # The scheduler's role may invoke the sweeper and write its dead letters: nothing else.
    role = resources["ClaimSweeperScheduleRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    [policy] = role["Policies"]
    assert [(s["Action"], s["Resource"]) for s in policy["PolicyDocument"]["Statement"]] == [
        (["lambda:InvokeFunction"], {"Fn::GetAtt": ["ClaimSweeperFunction", "Arn"]}),
        (["sqs:SendMessage"], {"Fn::GetAtt": ["SweeperFailureQueue", "Arn"]}),
    ]
    # The sweeper queries its sparse index only (never the table, never a Scan).
    sweeper = resources["ClaimSweeperFunction"]
    grants = {
        (a, json.dumps(s["Resource"], sort_keys=True))
        for s in _policy_statements(sweeper)
        for a in s["Action"]
        if a.startswith("dynamodb:")
    }
    assert ("dynamodb:Query", json.dumps({"Fn::Sub": "${ClaimsTable.Arn}/index/Sweep"})) in grants
    assert all(a != "dynamodb:Query" or "index/Sweep" in r for a, r in grants if "ClaimsTable" in r)
    assert sweeper["Properties"]["ReservedConcurrentExecutions"] == 1
    # The index exists, sparse on sweepShard/sweepAt.
    table = boto3.client("dynamodb", region_name="ca-central-1").describe_table(TableName=aws.name("ClaimsTable"))
    index = next(i for i in table["Table"]["GlobalSecondaryIndexes"] if i["IndexName"] == "Sweep")
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["sweepShard", "sweepAt"]
    # What it finds is alarmed, and its failures too.
    alarms = {a["AlarmName"]: a for a in _alarms()}
    found = alarms[aws.name("SweeperFoundWorkAlarm").replace("SweeperFoundWorkAlarm", "sweeper-found-work")]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in found["Metrics"] if "MetricStat" in m}
    assert names == {"StuckClaimsFound", "PendingNotificationsFound", "PendingReceiptsFound"}
    sweeper_name = aws.name("ClaimSweeperFunction")
    assert any({"Name": "FunctionName", "Value": sweeper_name} in a.get("Dimensions", []) for a in alarms.values())


def test_every_sender_has_the_same_ses_grant() -> None:
    resources = load_template()["Resources"]
    senders = {
        logical_id: [s for s in _policy_statements(r) if "ses:SendEmail" in s["Action"]]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    grants = {k: v for k, v in senders.items() if v}
    assert set(grants) >= {"ClaimProcessorFunction", "ClaimSweeperFunction", "CreateAuthChallengeFunction"}
    reference = grants["CreateAuthChallengeFunction"]
    for logical_id, statements in grants.items():
        identities = [s for s in statements if "configuration-set/" not in json.dumps(s["Resource"])]
        assert identities == reference, logical_id  # address and domain identity, FromAddress-bound
    # The claim senders also send in the claim e-mails' configuration set (SES authorizes it too).
    for logical_id in ("ClaimProcessorFunction", "ClaimSweeperFunction"):
        [configuration_set] = [s for s in grants[logical_id] if "configuration-set/" in json.dumps(s["Resource"])]
        assert "${ClaimEmailConfigurationSet}" in configuration_set["Resource"]["Fn::Sub"]
        assert configuration_set["Condition"] == reference[0]["Condition"]


def test_the_stream_publisher_timeout_fits_its_batch() -> None:
    publisher = load_template()["Resources"]["ClaimStreamPublisherFunction"]["Properties"]
    batch = publisher["Events"]["ClaimsStream"]["Properties"]["BatchSize"]
    calls = -(-batch // 10)  # PutEvents takes 10 entries
    one_call_worst = 2 * (1 + 3) + 1  # portal_common.aws_clients: 2 attempts x (connect + read) + backoff
    assert calls * one_call_worst < publisher["Timeout"]
