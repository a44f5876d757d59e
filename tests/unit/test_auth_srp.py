"""Our SRP client against pycognito's reference implementation, and against a server-side check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import srp_client
from hypothesis import given, settings
from hypothesis import strategies as st
from pycognito import aws_srp

POOL = "ca-central-1_AbCdEfGhI"


def server_params(password: str, user_id: str) -> tuple[dict[str, str], int, int]:
    salt = aws_srp.pad_hex(int.from_bytes(secrets.token_bytes(16), "big"))
    inner = hashlib.sha256(f"AbCdEfGhI{user_id}:{password}".encode()).hexdigest()
    verifier = pow(2, int(aws_srp.hex_hash(aws_srp.pad_hex(salt) + inner), 16), srp_client.N)
    b = secrets.randbits(1024) % srp_client.N
    big_b = (srp_client.K * verifier + pow(2, b, srp_client.N)) % srp_client.N
    params = {
        "SALT": salt,
        "SRP_B": format(big_b, "x"),
        "SECRET_BLOCK": base64.standard_b64encode(secrets.token_bytes(48)).decode(),
        "USER_ID_FOR_SRP": user_id,
        "USERNAME": user_id,
    }
    return params, b, verifier


@settings(max_examples=10, deadline=None)
@given(password=st.text(min_size=1, max_size=30))
def test_same_signature_as_pycognito(password: str) -> None:
    user_id = "7c1b9a4e-5f2d-4e8a-9b3c-2d1e0f9a8b7c"
    ours = srp_client.SrpClient(POOL, password)
    reference = aws_srp.AWSSRP(
        username="x@example.com", password=password, pool_id=POOL, client_id="c", client=object()
    )
    reference.small_a_value = ours.small_a
    reference.large_a_value = ours.big_a
    assert ours.srp_a == aws_srp.long_to_hex(reference.large_a_value)
    params, _, _ = server_params(password, user_id)
    moment = datetime(2026, 3, 3, 9, 5, 7, tzinfo=UTC)
    reference.get_cognito_formatted_timestamp = lambda _: "Tue Mar 3 09:05:07 UTC 2026"  # type: ignore[method-assign]
    expected = reference.process_challenge(params, {"USERNAME": "x@example.com"})
    assert ours.password_claim(params, moment) == expected


def test_server_side_verification_accepts_only_the_right_password() -> None:
    user_id = "u-1"
    params, b, verifier = server_params("Right-Password-1", user_id)

    def server_accepts(claim: dict[str, str], big_a: int) -> bool:
        big_b = int(params["SRP_B"], 16)
        u = int(aws_srp.hex_hash(aws_srp.pad_hex(big_a) + aws_srp.pad_hex(big_b)), 16)
        s = pow(big_a * pow(verifier, u, srp_client.N), b, srp_client.N)
        key = aws_srp.compute_hkdf(
            bytearray.fromhex(aws_srp.pad_hex(s)), bytearray.fromhex(aws_srp.pad_hex(format(u, "x")))
        )
        message = (
            b"AbCdEfGhI"
            + user_id.encode()
            + base64.standard_b64decode(params["SECRET_BLOCK"])
            + claim["TIMESTAMP"].encode()
        )
        expected = base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, claim["PASSWORD_CLAIM_SIGNATURE"])

    right = srp_client.SrpClient(POOL, "Right-Password-1")
    wrong = srp_client.SrpClient(POOL, "Wrong-Password-1")
    assert server_accepts(right.password_claim(params), right.big_a)
    assert not server_accepts(wrong.password_claim(params), wrong.big_a)


def test_timestamp_format() -> None:
    assert srp_client.cognito_timestamp(datetime(2026, 11, 27, 7, 5, 3, tzinfo=UTC)) == "Fri Nov 27 07:05:03 UTC 2026"
