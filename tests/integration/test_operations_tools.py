"""The operator commands' actions on moto with the template's queues, bus and tables (the local
stack end-to-end tests run the same commands as a subprocess)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.cfn import Stack
from tests.claim_processing_support import DAVID, MARIE, claim_item, person_id, store_claim
from tools import ops


def _target(stack: Stack) -> ops.Target:
    return ops.Target("test", {k: str(v["Ref"]) for k, v in stack.physical.items()}, stack.region)


def _drain(stack: Stack, logical_id: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=stack.region)
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=stack.name(logical_id), MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=stack.name(logical_id), ReceiptHandle=message["ReceiptHandle"])


def _claim(certificate: tuple[str, str] = MARIE) -> dict[str, Any]:
    yesterday = date.today() - timedelta(days=1)
    return store_claim(claim_item(certificate, "PHYSIOTHERAPY", person_id(certificate), [(yesterday, "80.00")]))


def test_republish_claim_queues_claim_submitted_again(seeded: Stack) -> None:
    item = _claim()
    result = ops.republish_claim(_target(seeded), *MARIE, item["claimId"])
    assert result == {"claimId": item["claimId"], "status": "SUBMITTED", "published": "ClaimSubmitted"}
    events = _drain(seeded, "ClaimsQueue")
    assert [e["detail-type"] for e in events] == ["ClaimSubmitted"]
    assert events[0]["detail"]["claimId"] == item["claimId"]


def test_republish_claim_only_finds_the_claim_under_its_own_member(seeded: Stack) -> None:
    item = _claim()
    with pytest.raises(ops.Refused):
        ops.republish_claim(_target(seeded), *DAVID, item["claimId"])
    with pytest.raises(ops.Refused):
        ops.republish_claim(_target(seeded), *MARIE, "c_unknown")
    assert _drain(seeded, "ClaimsQueue") == []


def test_redrive_moves_the_dead_letter_queue_back_unchanged(aws: Stack) -> None:
    sqs = boto3.client("sqs", region_name=aws.region)
    bodies = [json.dumps({"detail": {"claimId": f"c_{n}"}}) for n in range(13)]
    for body in bodies:
        sqs.send_message(QueueUrl=aws.name("ClaimsDeadLetterQueue"), MessageBody=body)
    first = ops.redrive(_target(aws), "ClaimsDeadLetterQueue", limit=3)
    assert first["replayed"] == 3
    rest = ops.redrive(_target(aws), "ClaimsDeadLetterQueue")
    assert rest["replayed"] == 10
    assert rest["kept"] == 0
    moved = _drain(aws, "ClaimsQueue")
    assert sorted(json.dumps(b) for b in moved) == sorted(bodies)
    assert _drain(aws, "ClaimsDeadLetterQueue") == []


def test_redrive_refuses_a_queue_that_is_not_a_failure_queue(aws: Stack) -> None:
    with pytest.raises(ops.Refused):
        ops.redrive(_target(aws), "ClaimsQueue")


def test_redrive_of_a_stream_failure_publishes_the_batch_claims(seeded: Stack) -> None:
    item = _claim()
    config = Config(account_id_endpoint_mode="disabled")
    streams = boto3.client("dynamodbstreams", region_name=seeded.region, config=config)
    stream_arn = seeded.physical["ClaimsTable"]["StreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    mine = [r for r in records if r["dynamodb"]["Keys"]["SK"]["S"] == item["SK"]]
    sequence = mine[0]["dynamodb"]["SequenceNumber"]
    info = {
        "shardId": shard,
        "startSequenceNumber": sequence,
        "endSequenceNumber": sequence,
        "batchSize": 1,
        "streamArn": stream_arn,
    }
    sqs = boto3.client("sqs", region_name=seeded.region)
    sqs.send_message(
        QueueUrl=seeded.name("ClaimStreamFailureQueue"), MessageBody=json.dumps({"DDBStreamBatchInfo": info})
    )
    sqs.send_message(QueueUrl=seeded.name("ClaimStreamFailureQueue"), MessageBody=json.dumps({"other": 1}))
    result = ops.redrive(_target(seeded), "ClaimStreamFailureQueue")
    assert result["replayed"] == 1
    assert result["kept"] == 1
    events = _drain(seeded, "ClaimsQueue")
    assert [e["detail"]["claimId"] for e in events] == [item["claimId"]]


def test_every_action_is_audited_even_when_refused(aws: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "local_target", lambda state_dir=None: _target(aws))
    monkeypatch.setattr(ops, "_use_code_paths", lambda: None)
    audit = tmp_path / "audit.log"
    args = ops.parse_args(["--audit-log", str(audit), "redrive", "ClaimsDeadLetterQueue"])
    assert ops.run(args)[0] == 0
    args = ops.parse_args(
        [
            "--audit-log",
            str(audit),
            "clear-registration",
            "--contract",
            "G9",
            "--participant",
            "1",
            "--email",
            "a.b@example.com",
        ]
    )
    status, result = ops.run(args)
    assert status == 1
    assert "no certificate" in result["refused"]
    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert [(line["action"], line["outcome"].split(":")[0]) for line in lines] == [
        ("redrive", "done"),
        ("clear-registration", "refused"),
    ]
    assert lines[1]["arguments"]["email"] == "a***@e***.com"
    assert "a.b@example.com" not in audit.read_text(encoding="utf-8")


def test_republish_stuck_finds_claims_from_the_table_not_the_stream(seeded: Stack) -> None:
    from portal_common.claim_records import ClaimRecord

    stuck = ClaimRecord.from_item(_claim())
    old = stuck.model_copy(update={"submitted_at": "2026-01-05T10:00:00.000Z", "status_history": []})
    store_claim(old.to_item())  # as the submission writes it: in the sweep index while SUBMITTED
    fresh = ClaimRecord.from_item(_claim(DAVID))
    store_claim(fresh.model_copy(update={"submitted_at": "2099-01-01T00:00:00.000Z", "status_history": []}).to_item())
    settled = ClaimRecord.from_item(_claim(DAVID)).model_copy(update={"status": "PAID"})
    store_claim(settled.to_item())  # processed: not in the index at all
    assert "sweepShard" not in settled.to_item()
    result = ops.republish_stuck(_target(seeded), 15, 100)
    assert result["claims"] == [{"claimId": old.claim_id, "status": "SUBMITTED"}]
    events = _drain(seeded, "ClaimsQueue")
    assert [(e["detail-type"], e["detail"]["claimId"]) for e in events] == [("ClaimSubmitted", old.claim_id)]
    with pytest.raises(ops.Refused):
        ops.republish_stuck(_target(seeded), -1, 100)
