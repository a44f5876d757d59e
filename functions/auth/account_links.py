"""The link between a Cognito account and its roster participant (members table).

Items (owned by the identity functions):

- ``PK=MEMBER#<contract>#<participant>``, ``SK=PROFILE`` (the roster's item) gets
  ``pendingEmailHash``/``pendingUntil`` when someone registers (PreSignUp), then ``accountSub`` and
  ``email`` when the email is confirmed (PostConfirmation). Both writes are conditional, so two
  registrations racing for one participant cannot both succeed: one account per participant.
- ``PK=ACCOUNT#<emailHash>``, ``SK=LINK``: which participant an email registered for
  (``contractNumber``, ``participantNumber``, ``status`` PENDING/LINKED, ``accountSub``). Pending
  links expire (``expiresAt``, TTL) with the registration code.

Emails are only ever keys as a SHA-256 of the normalized address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from portal_common.aws_clients import client
from portal_common.config import get_settings
from portal_common.dynamo import get_item, is_conditional_failure, to_attr
from portal_common.identity import member_key

PENDING_SECONDS = 24 * 3600  # as long as Cognito's sign-up code


def normalize_email(email: str) -> str:
    """The form every email is compared and keyed in (trimmed, lower case)."""
    return email.strip().lower()


def email_hash(email: str) -> str:
    """Stable, non-reversible key of an email address."""
    return hashlib.sha256(("portal-email:" + normalize_email(email)).encode()).hexdigest()


@dataclass(frozen=True)
class AccountLink:
    """Which participant an email belongs to."""

    contract_number: str
    participant_number: str
    status: str
    account_sub: str | None
    expires_at: int | None

    def __repr__(self) -> str:
        return f"AccountLink(status={self.status!r})"


class ParticipantTaken(Exception):
    """The participant already has an account, or another registration is pending for it."""


def _link_key(hashed: str) -> dict[str, str]:
    return {"PK": f"ACCOUNT#{hashed}", "SK": "LINK"}


def _link_item(hashed: str, contract: str, participant: str, **fields: Any) -> dict[str, Any]:
    """The email's link item (wire format) with ``fields`` (``status``, ``expiresAt``, ``accountSub``)."""
    return {
        **{k: to_attr(v) for k, v in _link_key(hashed).items()},
        "entityType": to_attr("ACCOUNT_LINK"),
        "contractNumber": to_attr(contract),
        "participantNumber": to_attr(participant),
        **{k: to_attr(v) for k, v in fields.items()},
    }


def get_link(hashed: str) -> AccountLink | None:
    """The link of an email hash (``None`` when absent)."""
    item = get_item(get_settings().members_table, _link_key(hashed))
    if not item:
        return None
    return AccountLink(
        contract_number=str(item["contractNumber"]),
        participant_number=str(item["participantNumber"]),
        status=str(item.get("status", "PENDING")),
        account_sub=item.get("accountSub"),
        expires_at=item.get("expiresAt"),
    )


def reserve(contract: str, participant: str, hashed: str, now: int) -> None:
    """Reserve the participant for this email until it is confirmed (race-safe).

    Succeeds when the participant has no account and no other live pending registration (the same
    email registering again refreshes its reservation).
    """
    table = get_settings().members_table
    until = now + PENDING_SECONDS
    try:
        client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": to_attr(member_key(contract, participant)), "SK": to_attr("PROFILE")},
                        "UpdateExpression": "SET pendingEmailHash = :h, pendingUntil = :until",
                        "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(accountSub) AND "
                        "(attribute_not_exists(pendingEmailHash) OR pendingEmailHash = :h OR pendingUntil < :now)",
                        "ExpressionAttributeValues": {
                            ":h": to_attr(hashed),
                            ":until": to_attr(until),
                            ":now": to_attr(now),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": _link_item(hashed, contract, participant, status="PENDING", expiresAt=until),
                        # A linked email is never re-pointed at another participant.
                        "ConditionExpression": "attribute_not_exists(PK) OR #s <> :linked",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":linked": to_attr("LINKED")},
                    }
                },
            ]
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise ParticipantTaken() from error
        raise


def link(hashed: str, email: str, sub: str, now: int, language: str | None = None) -> AccountLink:
    """Confirm the reservation: the participant now belongs to account ``sub`` (idempotent).

    ``language`` (``fr``/``en``, the registration's choice) becomes the member's ``preferredLanguage``.
    """
    found = get_link(hashed)
    if found is None:
        raise ParticipantTaken()
    if found.status == "LINKED" and found.account_sub == sub:
        return found
    table = get_settings().members_table
    try:
        client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {
                            "PK": to_attr(member_key(found.contract_number, found.participant_number)),
                            "SK": to_attr("PROFILE"),
                        },
                        "UpdateExpression": "SET accountSub = :sub, email = :email, linkedAt = :now, "
                        "preferredLanguage = :lang REMOVE pendingEmailHash, pendingUntil",
                        "ConditionExpression": "attribute_exists(PK) AND "
                        "(attribute_not_exists(accountSub) OR accountSub = :sub) AND pendingEmailHash = :h",
                        "ExpressionAttributeValues": {
                            ":sub": to_attr(sub),
                            ":email": to_attr(normalize_email(email)),
                            ":now": to_attr(now),
                            ":h": to_attr(hashed),
                            ":lang": to_attr("en" if (language or "").startswith("en") else "fr"),
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {k: to_attr(v) for k, v in _link_key(hashed).items()},
                        "UpdateExpression": "SET #s = :linked, accountSub = :sub REMOVE expiresAt",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":linked": to_attr("LINKED"), ":sub": to_attr(sub)},
                    }
                },
            ]
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise ParticipantTaken() from error
        raise
    return AccountLink(found.contract_number, found.participant_number, "LINKED", sub, None)


def _profile_key(contract: str, participant: str) -> dict[str, Any]:
    return {"PK": to_attr(member_key(contract, participant)), "SK": to_attr("PROFILE")}


def release(contract: str, participant: str, sub: str, email: str | None) -> bool:
    """Free a participant whose account ``sub`` no longer exists in Cognito (``DeleteUser``).

    Removes the account fields from the PROFILE and the email's link, both only while they still
    name ``sub`` (a concurrent registration is never undone). Whether it released anything.
    """
    table = get_settings().members_table
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table,
                "Key": _profile_key(contract, participant),
                "UpdateExpression": "REMOVE accountSub, email, linkedAt, preferredLanguage",
                "ConditionExpression": "accountSub = :sub",
                "ExpressionAttributeValues": {":sub": to_attr(sub)},
            }
        }
    ]
    if email:
        items.append(
            {
                "Delete": {
                    "TableName": table,
                    "Key": {k: to_attr(v) for k, v in _link_key(email_hash(email)).items()},
                    "ConditionExpression": "attribute_not_exists(PK) OR accountSub = :sub",
                    "ExpressionAttributeValues": {":sub": to_attr(sub)},
                }
            }
        )
    try:
        client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise
    return True


class EmailTaken(Exception):
    """The new address is linked (or being registered) to another account."""


def move_email(contract: str, participant: str, sub: str, old_email: str, new_email: str, now: int) -> None:
    """Point the account's link at its new sign-in email (one transaction): the new address's link
    (refused while another account holds it, or a live registration reserves it), the old link
    removed, the PROFILE's ``email`` updated, all only while they name ``sub``."""
    table = get_settings().members_table
    try:
        client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": _link_item(
                            email_hash(new_email), contract, participant, status="LINKED", accountSub=sub
                        ),
                        "ConditionExpression": "attribute_not_exists(PK) OR accountSub = :sub OR "
                        "(#s <> :linked AND expiresAt < :now)",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":sub": to_attr(sub),
                            ":linked": to_attr("LINKED"),
                            ":now": to_attr(now),
                        },
                    }
                },
                {
                    "Delete": {
                        "TableName": table,
                        "Key": {k: to_attr(v) for k, v in _link_key(email_hash(old_email)).items()},
                        "ConditionExpression": "attribute_not_exists(PK) OR accountSub = :sub",
                        "ExpressionAttributeValues": {":sub": to_attr(sub)},
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": _profile_key(contract, participant),
                        "UpdateExpression": "SET email = :email",
                        "ConditionExpression": "accountSub = :sub",
                        "ExpressionAttributeValues": {
                            ":sub": to_attr(sub),
                            ":email": to_attr(normalize_email(new_email)),
                        },
                    }
                },
            ]
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise EmailTaken() from error
        raise


def set_language(contract: str, participant: str, sub: str, language: str) -> None:
    """The member's ``preferredLanguage`` (only while the PROFILE names account ``sub``)."""
    try:
        client("dynamodb").update_item(
            TableName=get_settings().members_table,
            Key=_profile_key(contract, participant),
            UpdateExpression="SET preferredLanguage = :lang",
            ConditionExpression="accountSub = :sub",
            ExpressionAttributeValues={":lang": to_attr(language), ":sub": to_attr(sub)},
        )
    except ClientError as error:
        if is_conditional_failure(error):
            raise ParticipantTaken() from error
        raise


def profile_fields(item: dict[str, Any]) -> dict[str, Any]:
    """Account-related fields of a PROFILE item (for tests and operators)."""
    return {k: item.get(k) for k in ("accountSub", "email", "pendingEmailHash", "pendingUntil")}
