"""The claim e-mail recorder's reading of SES Send events (shape of the AWS documentation's
"Email Sent" event), what it ignores, and which send failures count as uncertain."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

EVENT = json.loads((Path(__file__).parents[1] / "events" / "ses" / "email_sent.json").read_text(encoding="utf-8"))


def _event(**changes: Any) -> dict[str, Any]:
    """The documented event, with ``changes`` applied at dotted paths (``None`` deletes)."""
    event = copy.deepcopy(EVENT)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = event
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return event


def test_a_send_event_of_the_claim_configuration_set_is_a_confirmation() -> None:
    from claim_email_recorder import confirmation

    sent = confirmation(EVENT)
    assert (sent.claim_id, sent.seq) == ("01M8QZRT63A74DNJ2H29GGPCBV", 2)
    assert sent.message_id == EVENT["detail"]["mail"]["messageId"]
    assert sent.sent_at == "2026-02-12T14:03:07.412Z"
    item = sent.to_item()
    assert (item["PK"], item["SK"]) == ("EMAILSENT#01M8QZRT63A74DNJ2H29GGPCBV", "SEQ#2")
    assert item["entityType"] == "EMAIL_SENT"
    assert "destination" not in json.dumps(item)  # no address is stored
    assert "david.chen" not in json.dumps(item)


FOREIGN = {
    "another source": {"source": "aws.cognito-idp"},
    "a delivery event": {"detail__eventType": "Delivery"},
    "a bounce": {"detail__eventType": "Bounce"},
    "another configuration set": {"detail__mail__tags__ses:configuration-set": ["marketing"]},
    "no configuration set tag": {"detail__mail__tags__ses:configuration-set": None},
    "no claimId tag": {"detail__mail__tags__claimId": None},
    "two claimId values": {"detail__mail__tags__claimId": ["A", "B"]},
    "a claimId with a key separator": {"detail__mail__tags__claimId": ["X#CLAIM#1"]},
    "a claimId too long": {"detail__mail__tags__claimId": ["A" * 65]},
    "a seq that is not a number": {"detail__mail__tags__outboxSeq": ["two"]},
    "a negative seq": {"detail__mail__tags__outboxSeq": ["-1"]},
    "a seq out of range": {"detail__mail__tags__outboxSeq": ["99999999"]},
    "tags not a map": {"detail__mail__tags": ["claimId"]},
    "no mail": {"detail__mail": None},
    "no message id": {"detail__mail__messageId": None},
    "no detail": {"detail": None},
    "detail not a map": {"detail": "Send"},
}


@pytest.mark.parametrize("changes", FOREIGN.values(), ids=FOREIGN.keys())
def test_a_foreign_or_malformed_event_is_ignored_without_an_error(changes: dict[str, Any]) -> None:
    from claim_email_recorder import Ignored, confirmation, lambda_handler

    event = _event(**changes)
    with pytest.raises(Ignored):
        confirmation(event)
    # The handler logs and answers: no exception (EventBridge would retry it), no AWS call.
    assert lambda_handler(event, None) == {"recorded": False}


@pytest.mark.parametrize("event", [None, [], "Email Sent", 42, {}])
def test_an_event_that_is_not_even_an_object_is_ignored(event: Any) -> None:
    from claim_email_recorder import lambda_handler

    assert lambda_handler(event, None) == {"recorded": False}


def test_send_tags_name_the_outbox_entry_within_ses_tag_rules() -> None:
    from email_confirmations import send_tags

    assert send_tags("01M8QZRT63A74DNJ2H29GGPCBV", 3) == [
        {"Name": "claimId", "Value": "01M8QZRT63A74DNJ2H29GGPCBV"},
        {"Name": "outboxSeq", "Value": "3"},
    ]
    for claim_id, seq in (("a b", 1), ("é", 1), ("", 1), ("ok", -1)):
        with pytest.raises(ValueError):
            send_tags(claim_id, seq)


def _client_error(status: int, code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail"
    )


UNCERTAIN = {
    "read timeout": ReadTimeoutError(endpoint_url="https://email"),
    "connection reset after sending": ConnectionClosedError(endpoint_url="https://email"),
    "SES internal failure": _client_error(500, "InternalFailure"),
    "SES unavailable": _client_error(503, "ServiceUnavailable"),
}
CERTAIN = {
    "throttled": _client_error(400, "Throttling"),
    "message rejected": _client_error(400, "MessageRejected"),
    "identity not allowed": _client_error(403, "AccessDenied"),
    "connect timeout": ConnectTimeoutError(endpoint_url="https://email"),
    "no connection": EndpointConnectionError(endpoint_url="https://email"),
    "a bug before the call": ValueError("x"),
}


@pytest.mark.parametrize("error", UNCERTAIN.values(), ids=UNCERTAIN.keys())
def test_a_send_whose_answer_was_lost_is_uncertain(error: Exception) -> None:
    from claim_notification import uncertain

    assert uncertain(error)


@pytest.mark.parametrize("error", CERTAIN.values(), ids=CERTAIN.keys())
def test_a_refused_or_unsent_request_is_certain(error: Exception) -> None:
    from claim_notification import uncertain

    assert not uncertain(error)


def test_the_first_retry_after_an_uncertain_send_waits_for_the_confirmation() -> None:
    from claim_outbox import CONFIRMATION_WAIT_SECONDS, RETRY_DELAYS, retry_at

    from portal_common import clock
    from portal_common.claim_records import OutboxEntry
    from portal_common.sweep import after

    entry = OutboxEntry(seq=2, previous="IN_REVIEW", status="PAID", at="2026-02-12T14:00:00.000Z", email=True)
    wait_over = after(clock.now_iso(), CONFIRMATION_WAIT_SECONDS)
    assert retry_at(entry) < wait_over  # a certain failure: the usual first delay (1 min)
    assert retry_at(entry, uncertain=True) >= wait_over
    # Later attempts keep their longer delays.
    late = entry.model_copy(update={"attempts": len(RETRY_DELAYS)})
    assert retry_at(late, uncertain=True) >= after(clock.now_iso(), RETRY_DELAYS[-1])
