"""Operator commands for the running service: the local stack, or a deployed stack on AWS.

    python -m tools.ops [--stack NAME [--region ca-central-1]] [--audit-log FILE] COMMAND ...

    account            --contract C --participant P       a member's account state
    republish-claim    --contract C --participant P --claim ID
                                                          publish ClaimSubmitted again (idempotent processor)
    republish-stuck    [--older-than MINUTES] [--max N]   publish ClaimSubmitted again for every claim still
                                                          SUBMITTED/IN_REVIEW that long after its last change
                                                          (found from the table's sweep index, not the stream)
    clear-registration --contract C --participant P --email ADDRESS
                                                          free a participant held by an unconfirmed
                                                          registration (the mistyped-email case)
    redrive            QUEUE [--max N]                    replay a dead-letter or failure queue
                       (ClaimsDeadLetterQueue, ClaimStreamFailureQueue, ReceiptCheckFailureQueue,
                       DrugImportFailureQueue, EligibilityImportFailureQueue)

Without ``--stack`` the commands act on the local stack (``make run``; its ``.local-stack/stack.json``).
With ``--stack`` they act on that CloudFormation stack with the caller's own AWS credentials
(profile, SSO or environment), finding every resource by its logical id in the stack.

Every command appends one JSON line to the audit log (``--audit-log``, default
``.ops-audit.log``): when, who (the caller's AWS identity), where, what, and the outcome. Nothing in it
or on the screen is personal data beyond what the operator typed: emails are masked, and the
account view shows counts and statuses, not names or dates of birth. docs/operations.md says when
to use each command.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AUDIT_LOG = ROOT / ".ops-audit.log"

# The template variables the shared code reads, by the logical id that names them.
_SETTINGS = {
    "MEMBERS_TABLE": "MembersTable",
    "CLAIMS_TABLE": "ClaimsTable",
    "PROVIDERS_TABLE": "ProvidersTable",
    "DRUGS_TABLE": "DrugsTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
    "DOCUMENTS_BUCKET": "DocumentsBucket",
    "EVENT_BUS_NAME": "ClaimsEventBus",
    "USER_POOL_ID": "UserPool",
}


class Refused(Exception):
    """The action is not done (its precondition does not hold); the message says why."""


@dataclass
class Target:
    """Where the commands act: resource names by logical id, and who the caller is."""

    where: str
    resources: dict[str, str]
    region: str

    def name(self, logical_id: str) -> str:
        """Physical name (or queue URL) of a resource."""
        if logical_id not in self.resources:
            raise Refused(f"{logical_id} is not a resource of {self.where}")
        return self.resources[logical_id]


def local_target(state_dir: Path | None = None) -> Target:
    """The running local stack (its environment is given to this process)."""
    from local.run import STATE_DIR, STATE_FILE_NAME, use_running_stack

    directory = state_dir or STATE_DIR
    if not use_running_stack(directory):
        raise SystemExit(2)
    state = json.loads((directory / STATE_FILE_NAME).read_text(encoding="utf-8"))
    resources = state.get("resources") or {}
    return Target(where="local stack", resources=resources, region=state["environment"]["AWS_REGION"])


def aws_target(stack_name: str, region: str) -> Target:
    """A deployed stack, read with the caller's credentials."""
    import os

    import boto3

    paginator = boto3.client("cloudformation", region_name=region).get_paginator("list_stack_resources")
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for page in paginator.paginate(StackName=stack_name)
        for r in page["StackResourceSummaries"]
        if r.get("PhysicalResourceId")
    }
    os.environ["AWS_REGION"] = region  # the stack's region, whatever the profile says
    os.environ["SENDER_EMAIL"] = os.environ.get("SENDER_EMAIL", "unused-by-operator-tools@example.invalid")
    for variable, logical_id in _SETTINGS.items():
        if logical_id in resources:
            os.environ[variable] = resources[logical_id]
    return Target(where=f"stack {stack_name} ({region})", resources=resources, region=region)


def _use_code_paths() -> None:
    """The layer and the function folders on ``sys.path`` (as the local stack does)."""
    from local.cfn import Stack
    from local.lambda_runtime import add_function_paths

    add_function_paths(Stack().functions().values())


# ------------------------------------------------------------------------------------ audit
def caller_identity() -> str:
    """The caller's AWS identity (ARN), or the local user when STS cannot say."""
    import boto3

    try:
        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except Exception:
        return f"local-user:{getpass.getuser()}"


def write_audit(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line (the file is created if needed; earlier lines are never rewritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")


# ------------------------------------------------------------------------------------ account
def account_state(target: Target, contract: str, participant: str) -> dict[str, Any]:
    """The member's certificate, coverage and account, without names or dates of birth."""
    from portal_common import clock
    from portal_common.dynamo import get_item
    from portal_common.identity import member_key
    from portal_common.log import mask_email
    from portal_common.members import get_member

    member = get_member(contract, participant)
    if member is None:
        raise Refused(f"no certificate {contract}/{participant} in the roster")
    profile = get_item(target.name("MembersTable"), {"PK": member_key(contract, participant), "SK": "PROFILE"}) or {}
    pending_until = profile.get("pendingUntil")
    pending = bool(profile.get("pendingEmailHash")) and int(pending_until or 0) > clock.epoch()
    state: dict[str, Any] = {
        "contractNumber": contract,
        "participantNumber": participant,
        "planId": member.plan_id,
        "coverageStart": member.coverage_start.isoformat(),
        "coverageEnd": member.coverage_end.isoformat() if member.coverage_end else None,
        "coveredPersons": len([p for p in member.persons if p.in_roster]),
        "language": member.language,
        "account": "LINKED" if member.account_sub else ("PENDING_REGISTRATION" if pending else "NONE"),
    }
    if member.account_sub:
        state["email"] = mask_email(member.email or "")
        state["linkedAt"] = profile.get("linkedAt")
        state["cognito"] = _cognito_user(target, member.email or "")
    if pending:
        state["pendingUntil"] = int(pending_until or 0)
    return state


def _cognito_user(target: Target, email: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    from portal_common.aws_clients import client

    try:
        user = client("cognito-idp").admin_get_user(UserPoolId=target.name("UserPool"), Username=email)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "UserNotFoundException":
            return {"status": "NOT_FOUND"}
        raise
    return {"status": user.get("UserStatus"), "enabled": bool(user.get("Enabled", True))}


# ------------------------------------------------------------------------------------ registration
def clear_registration(target: Target, contract: str, participant: str, email: str) -> dict[str, Any]:
    """Free a participant reserved by an unconfirmed registration made with ``email``.

    Refused when the participant already has an account, or when its pending registration is not
    this email's. Otherwise the unconfirmed Cognito user is deleted (a confirmed one is never
    touched), then the reservation and the pending link are removed in one conditional
    transaction, so a registration confirmed meanwhile is kept.
    """
    import account_links
    from botocore.exceptions import ClientError

    from portal_common.aws_clients import client
    from portal_common.dynamo import get_item, is_conditional_failure, to_attr
    from portal_common.identity import member_key

    table = target.name("MembersTable")
    key = {"PK": member_key(contract, participant), "SK": "PROFILE"}
    profile = get_item(table, key, consistent=True)
    if not profile:
        raise Refused(f"no certificate {contract}/{participant} in the roster")
    if profile.get("accountSub"):
        raise Refused("the participant has a confirmed account: nothing to clear (the member can reset the password)")
    hashed = account_links.email_hash(email)
    if profile.get("pendingEmailHash") != hashed:
        raise Refused("no pending registration with this email for this participant")
    cognito = client("cognito-idp")
    pool = target.name("UserPool")
    deleted_user = False
    try:
        user = cognito.admin_get_user(UserPoolId=pool, Username=account_links.normalize_email(email))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "UserNotFoundException":
            raise
        user = None
    if user is not None:
        if user.get("UserStatus") != "UNCONFIRMED":
            raise Refused(f"the Cognito user is {user.get('UserStatus')}, not UNCONFIRMED: not deleted")
        cognito.admin_delete_user(UserPoolId=pool, Username=user["Username"])
        deleted_user = True
    try:
        client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {k: to_attr(v) for k, v in key.items()},
                        "UpdateExpression": "REMOVE pendingEmailHash, pendingUntil",
                        "ConditionExpression": "attribute_not_exists(accountSub) AND pendingEmailHash = :h",
                        "ExpressionAttributeValues": {":h": to_attr(hashed)},
                    }
                },
                {
                    "Delete": {
                        "TableName": table,
                        "Key": {"PK": to_attr(f"ACCOUNT#{hashed}"), "SK": to_attr("LINK")},
                        "ConditionExpression": "attribute_not_exists(PK) OR #s = :pending",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":pending": to_attr("PENDING")},
                    }
                },
            ]
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise Refused("the registration changed meanwhile (confirmed?): nothing cleared in the table") from None
        raise
    return {"cleared": True, "cognitoUserDeleted": deleted_user}


# ------------------------------------------------------------------------------------ claims
def republish_claim(target: Target, contract: str, participant: str, claim_id: str) -> dict[str, Any]:
    """Put ``ClaimSubmitted`` for a stored claim on the bus again (the processor is idempotent)."""
    from portal_common.claim_events import ClaimSubmittedV1
    from portal_common.claim_records import ClaimRecord
    from portal_common.dynamo import get_item
    from portal_common.identity import member_key

    key = ClaimRecord.key(member_key(contract, participant), claim_id)
    item = get_item(target.name("ClaimsTable"), key, consistent=True)
    if not item or not ClaimRecord.is_claim_item(item):
        raise Refused(f"no claim {claim_id} for {contract}/{participant}")
    claim = ClaimRecord.from_item(item)
    _put_events([ClaimSubmittedV1.of(claim).entry(target.name("ClaimsEventBus"))])
    return {"claimId": claim_id, "status": claim.status, "published": "ClaimSubmitted"}


def republish_stuck(target: Target, older_than_minutes: int, limit: int) -> dict[str, Any]:
    """``ClaimSubmitted`` again for every claim still ``SUBMITTED``/``IN_REVIEW`` ``older_than_minutes``
    after its last change: found from the table's sweep index (whatever happened to the stream's
    records), published 10 per ``PutEvents``. The processor is idempotent per claim."""
    from datetime import timedelta

    from portal_common import clock
    from portal_common.claim_events import ClaimSubmittedV1
    from portal_common.claim_records import ACTIVE_STATUSES, ClaimRecord
    from portal_common.dynamo import get_item, query_all
    from portal_common.sweep import INDEX, shards

    if older_than_minutes < 0 or limit < 1:
        raise Refused("--older-than must be >= 0 and --max >= 1")
    table = target.name("ClaimsTable")
    now = clock.now_iso()
    cutoff = (clock.now() - timedelta(minutes=older_than_minutes)).isoformat(timespec="milliseconds")
    cutoff = cutoff.replace("+00:00", "Z")
    stuck: list[ClaimRecord] = []
    for shard in shards():
        found = query_all(
            table,
            index=INDEX,
            key_condition="sweepShard = :shard",
            values={":shard": shard},
        )
        for entry in found:
            if len(stuck) >= limit:
                break
            if not ClaimRecord.is_claim_item(entry):
                continue
            item = get_item(table, ClaimRecord.key(str(entry["PK"]), str(entry["claimId"])), consistent=True)
            claim = ClaimRecord.from_item(item) if item else None
            if claim is None or claim.status not in ACTIVE_STATUSES:
                continue
            last = claim.status_history[-1].at if claim.status_history else claim.submitted_at
            if last <= cutoff:
                stuck.append(claim)
    bus = target.name("ClaimsEventBus")
    for start in range(0, len(stuck), 10):
        _put_events([ClaimSubmittedV1.of(c).entry(bus) for c in stuck[start : start + 10]])
    return {
        "at": now,
        "published": len(stuck),
        "claims": [{"claimId": c.claim_id, "status": c.status} for c in stuck],
    }


def _put_events(entries: list[dict[str, Any]]) -> None:
    from portal_common.aws_clients import client

    response = client("events").put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        raise Refused(f"the bus refused the event: {[e.get('ErrorCode') for e in response['Entries']]}")


# ------------------------------------------------------------------------------------ redrive
REDRIVABLE = (
    "ClaimsDeadLetterQueue",
    "ClaimStreamFailureQueue",
    "ReceiptCheckFailureQueue",
    "DrugImportFailureQueue",
    "EligibilityImportFailureQueue",
)


def redrive(target: Target, queue: str, limit: int = 1000) -> dict[str, Any]:
    """Replay up to ``limit`` messages of ``queue``; a message is deleted only once replayed.

    - ClaimsDeadLetterQueue: each message goes back to ClaimsQueue, unchanged.
    - ClaimStreamFailureQueue: the stream records of each failed batch (still in the stream for
      24 hours) are read again and each claim INSERT is published as ClaimSubmitted.
    - <Function>FailureQueue (S3 uploads Lambda gave up on): each object of the recorded event is
      copied onto itself, so S3 notifies the function again with a fresh event.
    """
    if queue not in REDRIVABLE:
        raise Refused(f"{queue} is not one of {', '.join(REDRIVABLE)}")
    from portal_common.aws_clients import client

    sqs = client("sqs")
    url = target.name(queue)
    replay: Callable[[str], str] = {
        "ClaimsDeadLetterQueue": lambda body: _to_queue(target.name("ClaimsQueue"), body),
        "ClaimStreamFailureQueue": lambda body: _stream_batch(target, body),
    }.get(queue, _s3_event)
    counts = {"replayed": 0, "kept": 0}
    reasons: list[str] = []
    seen: set[str] = set()
    while counts["replayed"] + counts["kept"] < limit:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(10, limit - counts["replayed"] - counts["kept"]), VisibilityTimeout=60
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            try:
                outcome = replay(message["Body"])
            except Refused as error:
                counts["kept"] += 1
                reasons.append(str(error))
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            counts["replayed"] += 1
            reasons.append(outcome)
    return {"queue": queue, **counts, "details": reasons[:50]}


def _to_queue(url: str, body: str) -> str:
    from portal_common.aws_clients import client

    client("sqs").send_message(QueueUrl=url, MessageBody=body)
    return "sent back to ClaimsQueue"


def _stream_batch(target: Target, body: str) -> str:
    from portal_common.claim_events import ClaimSubmittedV1
    from portal_common.claim_records import ClaimRecord
    from portal_common.dynamo import from_item

    info = (json.loads(body) or {}).get("DDBStreamBatchInfo") or {}
    if not info.get("streamArn") or not info.get("startSequenceNumber"):
        raise Refused("not a stream batch record: kept")
    import boto3
    from botocore.config import Config

    # The regional endpoint (AWS serves it too): the account-based one is not served by moto.
    streams = boto3.client(
        "dynamodbstreams", region_name=target.region, config=Config(account_id_endpoint_mode="disabled")
    )
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=max(1, int(info.get("batchSize", 1))))["Records"]
    except Exception as error:
        raise Refused(f"stream batch no longer readable ({type(error).__name__}): kept") from None
    end = int(info.get("endSequenceNumber") or info["startSequenceNumber"])
    entries = []
    for record in records:
        if int(record["dynamodb"]["SequenceNumber"]) > end or record.get("eventName") != "INSERT":
            continue
        image = from_item(record["dynamodb"].get("NewImage") or {}) or {}
        if ClaimRecord.is_claim_item(image):
            entries.append(ClaimSubmittedV1.of(ClaimRecord.from_item(image)).entry(target.name("ClaimsEventBus")))
    if entries:
        _put_events(entries)
    return f"{len(entries)} claim(s) published again"


def _s3_event(body: str) -> str:
    from urllib.parse import unquote_plus

    from botocore.exceptions import ClientError

    from portal_common import clock
    from portal_common.aws_clients import client

    payload = (json.loads(body) or {}).get("requestPayload") or {}
    s3 = client("s3")
    touched = 0
    for record in payload.get("Records") or []:
        bucket = record.get("s3", {}).get("bucket", {}).get("name")
        key = unquote_plus(record.get("s3", {}).get("object", {}).get("key", ""))
        if not bucket or not key:
            continue
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            raise Refused(f"object {key} no longer exists: kept") from None
        s3.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType=head.get("ContentType", "binary/octet-stream"),
            Metadata={**head.get("Metadata", {}), "redriven-at": clock.now_iso()},
        )
        touched += 1
    if not touched:
        raise Refused("no S3 object in the recorded event: kept")
    return f"{touched} object(s) notified again"


# ------------------------------------------------------------------------------------ CLI
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m tools.ops", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", help="a deployed CloudFormation stack (default: the local stack)")
    parser.add_argument("--region", default="ca-central-1")
    parser.add_argument("--state-dir", type=Path, help="the local stack's state directory (.local-stack)")
    parser.add_argument("--audit-log", type=Path, default=DEFAULT_AUDIT_LOG)
    commands = parser.add_subparsers(dest="command", required=True)
    member_commands = {
        "account": "a member's account state",
        "republish-claim": "publish ClaimSubmitted for a claim again",
        "clear-registration": "free a participant held by an unconfirmed registration",
    }
    for name, text in member_commands.items():
        command = commands.add_parser(name, help=text)
        command.add_argument("--contract", required=True)
        command.add_argument("--participant", required=True)
        if name == "republish-claim":
            command.add_argument("--claim", required=True, help="the claim id")
        if name == "clear-registration":
            command.add_argument("--email", required=True, help="the address the member registered with")
    command = commands.add_parser("republish-stuck", help="publish every stuck claim again (from the table)")
    command.add_argument("--older-than", type=int, default=15, help="minutes since the claim's last change")
    command.add_argument("--max", type=int, default=1000, help="at most this many claims")
    command = commands.add_parser("redrive", help="replay a dead-letter or failure queue")
    command.add_argument("queue", choices=REDRIVABLE)
    command.add_argument("--max", type=int, default=1000, help="at most this many messages")
    return parser.parse_args(argv)


def _audited_arguments(args: argparse.Namespace) -> dict[str, Any]:
    from portal_common.log import mask_email

    found = {
        k: getattr(args, k)
        for k in ("contract", "participant", "claim", "queue", "max", "older_than")
        if hasattr(args, k)
    }
    if getattr(args, "email", None):
        found["email"] = mask_email(args.email)
    return found


def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    """Do the command; (exit status, result). Every outcome is audited."""
    target = aws_target(args.stack, args.region) if args.stack else local_target(args.state_dir)
    _use_code_paths()
    from portal_common import clock
    from portal_common.config import reload_settings

    reload_settings()
    actions: dict[str, Callable[[], dict[str, Any]]] = {
        "account": lambda: account_state(target, args.contract, args.participant),
        "republish-claim": lambda: republish_claim(target, args.contract, args.participant, args.claim),
        "clear-registration": lambda: clear_registration(target, args.contract, args.participant, args.email),
        "redrive": lambda: redrive(target, args.queue, args.max),
        "republish-stuck": lambda: republish_stuck(target, args.older_than, args.max),
    }
    entry: dict[str, Any] = {
        "at": clock.now_iso(),
        "operator": caller_identity(),
        "target": target.where,
        "action": args.command,
        "arguments": _audited_arguments(args),
    }
    status, result = 0, {}
    try:
        result = actions[args.command]()
        entry["outcome"] = "done"
    except Refused as error:
        status, result = 1, {"refused": str(error)}
        entry["outcome"] = f"refused: {error}"
    except Exception as error:
        entry["outcome"] = f"failed: {type(error).__name__}"
        write_audit(args.audit_log, entry)
        raise
    if args.command != "account":
        entry["result"] = result
    write_audit(args.audit_log, entry)
    return status, result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    status, result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
