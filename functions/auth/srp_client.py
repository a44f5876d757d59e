"""The client side of Cognito's SRP (``SRP_A`` -> ``PASSWORD_VERIFIER``), so the password never leaves
the backend: Cognito gets a proof, not the password.

Cognito's variant of SRP-6a: the 3072-bit group of RFC 5054 with g = 2, SHA-256, ``x`` derived from
the pool name, the user id and the password, a 16-byte HKDF key ("Caldera Derived Key") and an
HMAC-SHA256 signature over pool name, user id, Cognito's secret block and a timestamp. Written
here (about as long as a dependency's import list) rather than shipping pycognito and its
requests/cryptography dependencies in the Lambda layer; a unit test checks it against pycognito.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from portal_common import clock

N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def pad_hex(value: int | str) -> str:
    """Hex as Cognito hashes it: even length, and a leading 00 when the high bit is set."""
    text = value if isinstance(value, str) else format(value, "x")
    if len(text) % 2 == 1:
        return "0" + text
    if text[0] in "89abcdefABCDEF":
        return "00" + text
    return text


def hash_hex(hex_string: str) -> str:
    """SHA-256 of the bytes a hex string encodes (64 hex digits)."""
    return hashlib.sha256(bytes.fromhex(hex_string)).hexdigest()


K = int(hash_hex("00" + N_HEX + "0" + format(G, "x")), 16)


def hkdf(ikm: bytes, salt: bytes) -> bytes:
    """One HKDF-SHA256 block of 16 bytes with Cognito's info string."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]


def cognito_timestamp(moment: datetime) -> str:
    """``Tue Mar 3 09:05:07 UTC 2026`` (day not zero-padded), in UTC."""
    moment = moment.astimezone(UTC)
    return (
        f"{_WEEKDAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} UTC {moment.year}"
    )


class SrpClient:
    """One password proof for one sign-in (a fresh secret ``a`` each time)."""

    def __init__(self, user_pool_id: str, password: str, small_a: int | None = None) -> None:
        self.pool_name = user_pool_id.split("_", 1)[1]
        self._password = password
        self.small_a = small_a if small_a is not None else secrets.randbits(1024) % N
        self.big_a = pow(G, self.small_a, N)
        if self.small_a == 0 or self.big_a % N == 0:
            raise ValueError("bad SRP secret")

    def __repr__(self) -> str:
        return "SrpClient(***)"

    @property
    def srp_a(self) -> str:
        """``SRP_A`` for ``InitiateAuth``."""
        return format(self.big_a, "x")

    def password_claim(self, parameters: dict[str, str], moment: datetime | None = None) -> dict[str, str]:
        """The ``PASSWORD_VERIFIER`` challenge responses for Cognito's challenge parameters."""
        user_id = parameters["USER_ID_FOR_SRP"]
        big_b = int(parameters["SRP_B"], 16)
        if big_b % N == 0:
            raise ValueError("bad SRP_B")
        u = int(hash_hex(pad_hex(self.big_a) + pad_hex(big_b)), 16)
        if u == 0:
            raise ValueError("bad SRP scrambler")
        inner = hashlib.sha256(f"{self.pool_name}{user_id}:{self._password}".encode()).hexdigest()
        x = int(hash_hex(pad_hex(parameters["SALT"]) + inner), 16)
        s = pow(big_b - K * pow(G, x, N), self.small_a + u * x, N)
        key = hkdf(bytes.fromhex(pad_hex(s)), bytes.fromhex(pad_hex(format(u, "x"))))
        timestamp = cognito_timestamp(moment or clock.now())
        block = base64.standard_b64decode(parameters["SECRET_BLOCK"])
        message = self.pool_name.encode() + user_id.encode() + block + timestamp.encode()
        signature = base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return {
            "TIMESTAMP": timestamp,
            "USERNAME": parameters.get("USERNAME", user_id),
            "PASSWORD_CLAIM_SECRET_BLOCK": parameters["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": signature,
        }
