"""SES send confirmations of claim e-mails (issue 15): the configuration set and its Send events in
template.yaml, the recorder's one conditional write (least privilege), and the local stack
publishing the Send event of a claim e-mail to the recorder as AWS would."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.cfn import Stack, load_template
from portal_common.config import get_settings
from tests.localstack_testkit import LocalParts, local_parts

EVENT = json.loads((Path(__file__).parents[1] / "events" / "ses" / "email_sent.json").read_text(encoding="utf-8"))


def _resources() -> dict[str, Any]:
    return load_template()["Resources"]


def test_claim_emails_publish_their_send_events_to_the_recorder() -> None:
    resources = _resources()
    assert resources["ClaimEmailConfigurationSet"]["Type"] == "AWS::SES::ConfigurationSet"
    destination = resources["ClaimEmailSendEvents"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "ClaimEmailConfigurationSet"}
    events = destination["EventDestination"]
    assert events["Enabled"] is True
    assert events["MatchingEventTypes"] == ["send"]
    # SES publishes to the default bus only.
    assert events["EventBridgeDestination"]["EventBusArn"]["Fn::Sub"].endswith(":event-bus/default")
    rule = resources["ClaimEmailSentRule"]["Properties"]
    assert rule["EventBusName"] == "default"
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ses"]
    assert pattern["detail-type"] == ["Email Sent"]
    assert pattern["detail"]["mail"]["tags"]["ses:configuration-set"] == [{"Ref": "ClaimEmailConfigurationSet"}]
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ClaimEmailRecorderFunction", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ClaimEmailEventsFailureQueue", "Arn"]}}
    permission = resources["ClaimEmailSentRulePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ClaimEmailSentRule", "Arn"]}
    # The failure queue accepts this rule's dead letters only.
    [statement] = resources["ClaimEmailEventsFailureQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ClaimEmailSentRule", "Arn"]}}}
    # Every claim sender sends in that configuration set.
    for logical_id in ("ClaimProcessorFunction", "ClaimSweeperFunction", "ClaimEmailRecorderFunction"):
        variables = resources[logical_id]["Properties"]["Environment"]["Variables"]
        assert variables["CLAIM_EMAIL_CONFIGURATION_SET"] == {"Ref": "ClaimEmailConfigurationSet"}


def test_the_recorder_may_write_confirmations_and_nothing_else() -> None:
    from email_confirmations import EmailSent

    recorder = _resources()["ClaimEmailRecorderFunction"]["Properties"]
    [policy] = recorder["Policies"]
    [statement] = policy["Statement"]
    assert statement["Action"] == ["dynamodb:PutItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["ClaimsTable", "Arn"]}
    [pattern] = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    # The key the code writes is inside the grant; a claim's, a receipt's or a totals key is not.
    assert fnmatchcase(EmailSent.key("01M8QZRT63A74DNJ2H29GGPCBV", 2)["PK"], pattern)
    for other in ("MEMBER#G1001#100001", "RECEIPT#r01", "IDEMPOTENCY#x"):
        assert not fnmatchcase(other, pattern)
    assert "Events" not in recorder  # invoked by ClaimEmailSentRule only


def test_a_confirmation_is_written_once_with_a_ttl(aws: Stack) -> None:
    from claim_email_recorder import lambda_handler
    from email_confirmations import KEEP_SECONDS, confirmed

    from portal_common import clock

    event = copy.deepcopy(EVENT)
    event["detail"]["mail"]["tags"]["ses:configuration-set"] = [get_settings().claim_email_configuration_set]
    assert confirmed("01M8QZRT63A74DNJ2H29GGPCBV", 2) is None
    assert lambda_handler(event, None) == {"recorded": True}
    assert lambda_handler(event, None) == {"recorded": False}  # EventBridge delivered it twice
    sent = confirmed("01M8QZRT63A74DNJ2H29GGPCBV", 2)
    assert sent is not None
    assert sent.message_id == event["detail"]["mail"]["messageId"]
    assert confirmed("01M8QZRT63A74DNJ2H29GGPCBV", 3) is None  # another entry of the same claim
    item = boto3.client("dynamodb", region_name="ca-central-1").get_item(
        TableName=get_settings().claims_table,
        Key={"PK": {"S": "EMAILSENT#01M8QZRT63A74DNJ2H29GGPCBV"}, "SK": {"S": "SEQ#2"}},
    )["Item"]
    assert abs(int(item["expiresAt"]["N"]) - (clock.epoch() + KEEP_SECONDS)) < 60
    assert item["entityType"] == {"S": "EMAIL_SENT"}  # not CLAIM: the stream publisher's filter drops it
    assert "sweepShard" not in item


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalParts]:
    with local_parts(monkeypatch) as running:
        yield running


def test_the_local_stack_records_the_send_event_of_a_claim_email(parts: LocalParts) -> None:
    """A claim e-mail sent as the processor sends it (configuration set, entry tags) reaches the
    recorder through the local stack's SES event publishing; a mail sent without the configuration
    set (a sign-in code) publishes nothing."""
    from claim_notification import Email, send_email
    from email_confirmations import confirmed

    email = Email(to="david.chen@example.com", subject="Demande 01ABC : payée", text="Bonjour", html="<p>Bonjour</p>")
    send_email(email, claim_id="01M8QZRT63A74DNJ2H29GGPCBV", seq=4)
    boto3.client("ses", region_name=parts.stack.region).send_email(
        Source=parts.stack.parameters["SenderEmail"],
        Destination={"ToAddresses": ["marie.tremblay@example.ca"]},
        Message={"Subject": {"Data": "Code"}, "Body": {"Text": {"Data": "123456"}}},
    )
    parts.wait(lambda: confirmed("01M8QZRT63A74DNJ2H29GGPCBV", 4) is not None, timeout=20)
    assert parts.pollers.wait_until_idle(10)
    [poller] = [p for p in parts.pollers.pollers if p.name == "ses-events"]
    assert poller.delivered == 1  # the sign-in code's mail had no configuration set
    sent = confirmed("01M8QZRT63A74DNJ2H29GGPCBV", 4)
    assert sent is not None
    assert sent.sent_at.endswith("Z")
    assert [m.subject for m in parts.outbox.items("david.chen@example.com")] == [email.subject]
