"""SES send confirmations on the local stack: a claim e-mail, sent by the outbox in the claim
e-mails' configuration set, comes back as SES's Send event (``local/ses_events.py``) and
``ClaimEmailRecorderFunction`` stores its confirmation, the item a retry after an uncertain send
looks for (docs/operations.md, "Uncertain sends")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from portal_common.dynamo import from_item, to_item
from portal_common.sweep import after
from tests.e2e.test_sweeper_e2e import (
    MARIE,
    _claim,
    _dynamodb,
    _environment,
    _mails_about,
    _wait_for,
    _write_unpublished,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess


def test_a_claim_email_is_confirmed_by_its_ses_send_event(stack: LocalStackProcess) -> None:
    stack.wait_for_seeds(timeout=300)
    me = stack.get("/v1/me", headers=stack.bearer(MARIE))
    assert me.status_code == 200, me.text
    patient = next(p for p in me.json()["persons"] if p["relationship"] == "SELF")["personId"]
    earlier = (datetime.now(UTC) - timedelta(minutes=20)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # A PAID claim whose e-mail is still owed (its outbox entry): the sweeper delivers it.
    claim = _claim(patient, earlier)
    in_review = claim.transitioned("IN_REVIEW", after(earlier, 2)).model_copy(update={"outbox": []})
    paid = in_review.transitioned("PAID", after(earlier, 5)).model_copy(update={"total_paid": Decimal("12.00")})
    [entry] = paid.outbox
    _write_unpublished(stack, paid)
    _wait_for(lambda: len(_mails_about(stack, claim.claim_id)) == 1)

    table = _environment(stack)["CLAIMS_TABLE"]
    key = to_item({"PK": f"EMAILSENT#{claim.claim_id}", "SK": f"SEQ#{entry.seq}"})

    def confirmation() -> dict[str, object]:
        response = _dynamodb(stack).get_item(TableName=table, Key=key, ConsistentRead=True)
        return from_item(response.get("Item")) or {}

    _wait_for(lambda: bool(confirmation()), timeout=30)
    stored = confirmation()
    assert stored["entityType"] == "EMAIL_SENT"
    assert stored["claimId"] == claim.claim_id
    assert str(stored["sentAt"]).endswith("Z")
    assert "expiresAt" in stored
    totals = stack.get("/_local/metrics", params={"name": "EmailSendsConfirmed"}).json()["totals"]
    assert sum(totals.values()) >= 1
    assert len(_mails_about(stack, claim.claim_id)) == 1
