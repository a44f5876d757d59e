"""Business metrics as EMF lines (portal_common.metrics) and the local stack's view of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.metrics_view import MetricsView
from portal_common import clock, metrics


def test_a_count_is_one_emf_line_on_stdout(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: moment)
    metrics.count("auth", "SignInCodesSent")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    document = json.loads(lines[0])
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "MemberPortal"
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": "SignInCodesSent", "Unit": "Count"}]
    assert document["service"] == "auth"
    assert document["SignInCodesSent"] == [1.0]
    assert document["_aws"]["Timestamp"] == int(moment.timestamp()) * 1000  # the portal clock


def test_dimensions_add_a_second_set_so_the_service_total_remains(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[dict[str, Any]] = []
    metrics.add_listener(seen.append)
    try:
        metrics.count("claim-processing", "ClaimsProcessed", status="PAID")
        metrics.emit("claim-processing", {"AmountPaid": Decimal("80.50")}, unit="NoUnit")
    finally:
        metrics.remove_listener(seen.append)
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "status"]]
    assert first["status"] == "PAID"
    assert [d.get("AmountPaid") for d in seen] == [None, [80.5]]
    assert seen[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "AmountPaid", "Unit": "None"}]
    view = MetricsView()
    for document in seen:
        view(document)
    view(seen[0])
    totals = view.as_json()["totals"]
    assert totals["MemberPortal/ClaimsProcessed{service=claim-processing}"] == 2.0
    assert totals["MemberPortal/ClaimsProcessed{service=claim-processing,status=PAID}"] == 2.0
    assert totals["MemberPortal/AmountPaid{service=claim-processing}"] == 80.5
    only = view.as_json("AmountPaid")
    assert list(only["totals"]) == ["MemberPortal/AmountPaid{service=claim-processing}"]
    assert len(only["items"]) == 1


def test_a_listener_removed_hears_nothing_more(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[dict[str, Any]] = []
    metrics.add_listener(seen.append)
    metrics.remove_listener(seen.append)
    metrics.count("claims", "ClaimsSubmitted")
    assert seen == []
