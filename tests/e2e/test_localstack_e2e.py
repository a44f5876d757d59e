"""The local stack over HTTP: what `make run` gives a newcomer."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStackProcess


def test_health_answers_through_the_gateway(stack: LocalStackProcess) -> None:
    response = stack.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["X-Request-Id"]


def test_openapi_document_and_swagger_ui_are_served(stack: LocalStackProcess) -> None:
    document = stack.get("/v1/openapi.json")
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.")
    assert "/health" in document.json()["paths"]
    page = stack.get("/v1/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "swagger" in page.text.lower()
    # Offline: the page carries its assets instead of loading them from a CDN.
    assert not re.search(r"<script[^>]+src=\"https?://", page.text)


def test_outbox_is_served(stack: LocalStackProcess) -> None:
    response = stack.get("/_local/outbox", params={"to": "nobody@example.ca"})
    assert response.status_code == 200
    assert response.json() == {"items": []}


def test_protected_route_refuses_a_missing_or_forged_token(stack: LocalStackProcess) -> None:
    missing = stack.get("/v1/me")
    assert missing.status_code == 401
    assert missing.json()["code"] == "UNAUTHORIZED"
    assert missing.headers["Content-Type"] == "application/problem+json"
    forged = stack.get("/v1/me", headers={"Authorization": "Bearer a.b.c"})
    assert forged.status_code == 401


def test_unknown_route_is_a_404_problem_and_preflight_works(stack: LocalStackProcess) -> None:
    unknown = stack.get("/v1/does-not-exist")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "ROUTE_NOT_FOUND"
    preflight = stack.request(
        "OPTIONS",
        "/v1/claims",
        headers={"Origin": "https://portail.example.ca", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_status_reports_seeds_and_pollers(stack: LocalStackProcess) -> None:
    stack.wait_for_seeds()
    stack.wait_until_idle()
    status = stack.status()
    assert any(seed["name"] == "roster" and seed["state"] == "done" for seed in status["seeds"])
    assert status["pollersIdle"] is True


def test_body_over_10_mb_is_refused(stack: LocalStackProcess) -> None:
    try:
        response = stack.post("/v1/health", data=b"x" * (10 * 1024 * 1024 + 1))
    except requests.ConnectionError:
        return  # the gateway may close the connection before the client finished sending
    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_everything_cleanly(tmp_path: Path, signal_number: int) -> None:
    from tests.e2e.conftest import LocalStackProcess

    process = LocalStackProcess(tmp_path)
    try:
        process.wait_ready()
        state_file = tmp_path / "state" / "stack.json"
        state = json.loads(state_file.read_text())
        assert state["urls"]["api"] == process.url
        assert state["environment"]["AWS_ENDPOINT_URL"] == state["urls"]["moto"]
        assert state["environment"]["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"] == state["urls"]["cognito"]
        assert state["environment"]["MEMBERS_TABLE"]
        assert process.get("/v1/health").status_code == 200
        process.process.send_signal(signal_number)
        assert process.process.wait(20) == 0
        assert not state_file.exists()
        shutdown = process.log_text().split("Stopping...", 1)[1]
        assert "Stopped." in shutdown
        assert "Traceback" not in shutdown
        with pytest.raises(requests.ConnectionError):
            requests.get(process.url + "/v1/health", timeout=2)
    finally:
        process.stop()
