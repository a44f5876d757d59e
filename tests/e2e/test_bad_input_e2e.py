"""Bad bytes over HTTP: every JSON POST/PATCH route of the template, public ``/v1/auth/*`` included,
answers ``400 VALIDATION_FAILED`` or ``415 UNSUPPORTED_MEDIA_TYPE`` (localized), never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from local.cfn import Stack
from tests.e2e.conftest import LocalStackProcess

MEMBER = "sophie.gagnon@example.com"
JSON = "application/json"

MULTIPART = b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\na\r\n--x--'
# (case, content type, body bytes, expected status, expected field code or None)
CASES: list[tuple[str, str, bytes, int, str | None]] = [
    ("not utf-8", JSON, b'{"email": "zo\xe9@example.com"}', 400, "NOT_UTF8"),
    ("not utf-8 latin-1 declared", "application/json; charset=ISO-8859-1", b'{"email": "\xe9"}', 415, None),
    ("text/plain", "text/plain", b'{"email": "a@example.com"}', 415, None),
    ("text/plain utf-8", "text/plain;charset=UTF-8", b'{"email": "a@example.com"}', 415, None),
    ("xml", "application/xml", b"<email>a@example.com</email>", 415, None),
    ("multipart without boundary", "multipart/form-data", b"--x\r\n\r\na\r\n--x--\r\n", 415, None),
    ("multipart", "multipart/form-data; boundary=x", MULTIPART, 415, None),
    ("invalid json", JSON, b'{"email": ', 400, "MALFORMED_JSON"),
    ("4301 digits", "APPLICATION/JSON; Charset=UTF-8", b'{"email": ' + b"1" * 4301 + b"}", 400, "NUMBER_TOO_LONG"),
    ("nested 1000", JSON, b'{"email": ' + b"[" * 1000 + b"]" * 1000 + b"}", 400, "TOO_DEEP"),
]


def json_body_routes() -> list[tuple[str, str, bool]]:
    """Every route of the template that takes a JSON body (POST and PATCH)."""
    return [(r.method, r.path, r.authorized) for r in Stack().routes() if r.method in ("POST", "PATCH", "PUT")]


@pytest.fixture(scope="module")
def auth(stack: LocalStackProcess) -> dict[str, str]:
    return stack.bearer(MEMBER)


def test_every_json_route_is_covered() -> None:
    paths = {path for _, path, _ in json_body_routes()}
    assert {"/auth/register", "/auth/login", "/auth/logout", "/claims", "/receipts", "/providers"} <= paths


@pytest.mark.parametrize(("method", "path", "authorized"), json_body_routes(), ids=lambda v: str(v))
def test_bad_bodies_never_5xx(
    stack: LocalStackProcess, auth: dict[str, str], method: str, path: str, authorized: bool
) -> None:
    failures: list[str] = []
    for case, content_type, raw, status, field_code in CASES:
        for language in ("fr-CA", "en-CA"):
            headers: dict[str, Any] = {
                "Content-Type": content_type,
                "Accept-Language": language,
                "Idempotency-Key": "bad-input-e2e-key",
            }
            if authorized:
                headers.update(auth)
            response = stack.request(method, f"/v1{path}", data=raw, headers=headers)
            body = response.json()
            got = (response.status_code, body.get("code"), (body.get("errors") or [{}])[0].get("code"))
            want_code = "UNSUPPORTED_MEDIA_TYPE" if status == 415 else "VALIDATION_FAILED"
            if got != (status, want_code, field_code) or response.headers["Content-Language"] != language:
                failures.append(f"{case} ({language}): {got} {response.text[:200]}")
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.headers.get("X-Request-Id")
            if language == "en-CA" and status == 415:
                assert body["title"] == "Unsupported media type"
            if language == "fr-CA" and status == 415:
                assert body["title"] == "Type de contenu non pris en charge"
    assert not failures, f"{method} {path}:\n" + "\n".join(failures)


def test_protected_routes_check_the_token_first(stack: LocalStackProcess) -> None:
    for method, path, authorized in json_body_routes():
        if authorized:
            response = stack.request(method, f"/v1{path}", data=b"\xff", headers={"Content-Type": "text/plain"})
            assert response.status_code == 401, (path, response.text)
