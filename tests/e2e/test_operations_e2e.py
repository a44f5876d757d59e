"""The operator commands (``python -m tools.ops``) against a running local stack, as an operator
runs them: a subprocess that finds the stack from its state file, with its audit log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Nora-Portail-2026"
HEADER = (
    "contract_number,participant_number,relationship,first_name,last_name,date_of_birth,plan_id,"
    "coverage_start,coverage_end,student,disabled,language\n"
)


def _state(stack: LocalStackProcess) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((stack.workdir / "state" / "stack.json").read_text(encoding="utf-8"))
    return state


def _client(stack: LocalStackProcess, service: str) -> Any:
    env = _state(stack)["environment"]
    return boto3.client(
        service,
        region_name=env["AWS_REGION"],
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


def ops(stack: LocalStackProcess, audit: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Run one operator command; (exit status, printed JSON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.ops",
            "--state-dir",
            str(stack.workdir / "state"),
            "--audit-log",
            str(audit),
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def _upload_roster(stack: LocalStackProcess, key: str, lines: list[str]) -> None:
    bucket = _state(stack)["environment"]["DOCUMENTS_BUCKET"]
    _client(stack, "s3").put_object(Bucket=bucket, Key=key, Body=(HEADER + "\n".join(lines) + "\n").encode())
    stack.wait_until_idle()


def _rows_imported(stack: LocalStackProcess) -> float:
    totals = stack.get("/_local/metrics", params={"name": "RowsImported"}).json()["totals"]
    return float(sum(v for k, v in totals.items() if k.endswith("{service=eligibility-import}")))


def _wait_rows_imported(stack: LocalStackProcess, expected: float) -> float:
    """The eligibility rows imported so far, once they reach ``expected`` (or after 20 s)."""
    deadline = time.monotonic() + 20
    while _rows_imported(stack) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return _rows_imported(stack)


def _register(stack: LocalStackProcess, email: str, participant: str) -> Any:
    identity = {"contractNumber": "G3003", "participantNumber": participant, "dateOfBirth": "1990-02-03"}
    body = {**identity, "email": email, "password": PASSWORD, "preferredLanguage": "fr"}
    return stack.post("/v1/auth/register", json=body)


def test_clear_registration_for_a_mistyped_email(stack: LocalStackProcess, tmp_path: Path) -> None:
    audit = tmp_path / "audit.log"
    stack.wait_for_seeds()
    before = _rows_imported(stack)
    _upload_roster(
        stack, "eligibility/ops-e2e.csv", ["G3003,300001,SELF,Nora,Belanger,1990-02-03,PLAN-PLUS,2024-01-01,,N,N,fr"]
    )
    assert _wait_rows_imported(stack, before + 1) == before + 1  # the import's EMF line, summed
    status, state = ops(stack, audit, "account", "--contract", "G3003", "--participant", "300001")
    assert status == 0
    assert state["account"] == "NONE"
    assert state["coveredPersons"] == 1
    assert "Nora" not in json.dumps(state)
    assert "1990" not in json.dumps(state)

    mistyped, right = "nora.belanger@exmaple.com", "nora.belanger@example.com"
    assert _register(stack, mistyped, "300001").status_code == 202
    # The participant is now held by the mistyped address: the right one is refused.
    held = _register(stack, right, "300001")
    assert held.status_code == 409
    assert held.json()["code"] == "ALREADY_REGISTERED"
    assert ops(stack, audit, "account", "--contract", "G3003", "--participant", "300001")[1]["account"] == (
        "PENDING_REGISTRATION"
    )

    # Another address than the pending one: refused, nothing changes.
    status, result = ops(
        stack, audit, "clear-registration", "--contract", "G3003", "--participant", "300001", "--email", right
    )
    assert status == 1
    assert "no pending registration" in result["refused"]
    status, result = ops(
        stack, audit, "clear-registration", "--contract", "G3003", "--participant", "300001", "--email", mistyped
    )
    assert status == 0, result
    assert result == {"cleared": True, "cognitoUserDeleted": True}

    # The member registers again at once, with the right address, and confirms it.
    assert _register(stack, right, "300001").status_code == 202
    mails = stack.wait_for_email(right, 1)
    code = re.search(r"\b(\d{6})\b", mails[0]["text"])
    assert code is not None
    confirmed = stack.post("/v1/auth/register/confirm", json={"email": right, "code": code.group(1)})
    assert confirmed.status_code == 200, confirmed.text
    status, state = ops(stack, audit, "account", "--contract", "G3003", "--participant", "300001")
    assert state["account"] == "LINKED"
    assert state["email"] == "n***@e***.com"
    assert state["cognito"] == {"status": "CONFIRMED", "enabled": True}
    # A confirmed account is never cleared.
    status, result = ops(
        stack, audit, "clear-registration", "--contract", "G3003", "--participant", "300001", "--email", right
    )
    assert status == 1
    assert "confirmed account" in result["refused"]

    lines = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert [line["action"] for line in lines] == [
        "account",
        "account",
        "clear-registration",
        "clear-registration",
        "account",
        "clear-registration",
    ]
    assert [line["outcome"].split(":")[0] for line in lines] == ["done", "done", "refused", "done", "done", "refused"]
    assert all(line["operator"] and line["target"] == "local stack" and line["at"] for line in lines)
    assert mistyped not in audit.read_text(encoding="utf-8")
    assert right not in audit.read_text(encoding="utf-8")


def test_redrive_replays_a_failed_roster_import(stack: LocalStackProcess, tmp_path: Path) -> None:
    audit = tmp_path / "audit.log"
    stack.wait_for_seeds()
    key = "eligibility/ops-redrive.csv"
    first = _rows_imported(stack)
    _upload_roster(
        stack,
        key,
        [
            "G3003,300002,SELF,Eli,Roy,1990-02-03,PLAN-PLUS,2024-01-01,,N,N,en",
            "G3003,300002,SPOUSE,Ana,Roy,1991-04-05,PLAN-PLUS,2024-01-01,,N,N,en",
        ],
    )
    bucket = _state(stack)["environment"]["DOCUMENTS_BUCKET"]
    queue = _state(stack)["resources"]["EligibilityImportFailureQueue"]
    sqs = _client(stack, "sqs")

    def failure(object_key: str) -> str:
        # What Lambda puts on the OnFailure queue after the retries of an asynchronous invocation.
        record = {"eventSource": "aws:s3", "s3": {"bucket": {"name": bucket}, "object": {"key": object_key}}}
        return json.dumps(
            {
                "version": "1.0",
                "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                "requestPayload": {"Records": [record]},
                "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            }
        )

    before = _wait_rows_imported(stack, first + 2)
    sqs.send_message(QueueUrl=queue, MessageBody=failure(key))
    sqs.send_message(QueueUrl=queue, MessageBody=failure("eligibility/deleted-since.csv"))
    status, result = ops(stack, audit, "redrive", "EligibilityImportFailureQueue")
    assert status == 0
    assert result["replayed"] == 1
    assert result["kept"] == 1
    assert any("no longer exists" in d for d in result["details"])
    # S3 notified the import again: the file's two rows are imported once more.
    assert _wait_rows_imported(stack, before + 2) == before + 2
    assert ops(stack, audit, "account", "--contract", "G3003", "--participant", "300002")[1]["coveredPersons"] == 2
    # The kept message is still there (invisible for the minute the tool held it).
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 1
    )
    entry = json.loads(audit.read_text(encoding="utf-8").splitlines()[0])
    assert entry["action"] == "redrive"
    assert entry["result"]["replayed"] == 1
