"""Business metrics: one CloudWatch embedded metric format (EMF) line per event, no API call.

Powertools ``EphemeralMetrics`` builds the EMF document (namespace from the template's
``MetricsNamespace``, dimension ``service`` = the family, plus any given dimensions); :func:`emit`
prints it at once on stdout, which Lambda sends to CloudWatch Logs, where it becomes the metrics
of the operations dashboard (``OperationsDashboard`` in template.yaml). Nothing is buffered, so no
handler needs a decorator and a crash after the event still leaves the line.

Each metric is published per ``service`` and, when given, also per ``service`` and the extra
dimensions. Dimensions are closed sets (a claim status, never a member, a claim id or an amount): each
distinct value is a separate CloudWatch metric. The local stack registers a listener
(:func:`add_listener`) and shows every line at ``GET /_local/metrics``.

The metric names (the dashboard and docs/operations.md list them):

| service | metric | unit | when |
| --- | --- | --- | --- |
| claims | ClaimsSubmitted | Count | a new claim is saved (not an idempotent replay) |
| claims | ReceiptsRejected | Count | the receipt check rejects an upload |
| claim-processing | ClaimsProcessed (dimension ``status``) | Count | a claim reaches a processed status |
| claim-processing | AmountPaid | None (CAD) | the amount a processed claim pays |
| claim-processing | NotificationsFailed | Count | an outbox entry's event or e-mail failed (retried later) |
| claim-processing | EmailSendsConfirmed / EmailEventsIgnored | Count | the recorder stored / ignored a Send event |
| claim-processing | EmailRetrySkippedConfirmed | Count | a retry after an uncertain send found SES's confirmation |
| claim-processing | EmailResentUnconfirmed | Count | a retry after an uncertain send found none and sent |
| claim-sweeper | StuckClaimsFound / PendingNotificationsFound / PendingReceiptsFound | Count | per sweeper run |
| auth | SignInCodesSent / SignInCodesVerified / SignInCodesFailed | Count | the custom-auth triggers |
| auth | ThrottledRequests | Count | an auth request refused by the throttle |
| eligibility-import, drug-import | RowsImported / RowsRefused | Count | per imported file |
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from portal_common import clock
from portal_common.config import get_settings

Listener = Callable[[dict[str, Any]], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def add_listener(listener: Listener) -> None:
    """Also give every EMF document to ``listener`` (the local stack's ``/_local/metrics`` view)."""
    with _lock:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop giving documents to ``listener``."""
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def emit(
    service: str,
    values: Mapping[str, int | float | Decimal],
    *,
    unit: str = "Count",
    dimensions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Print one EMF line with ``values`` (metric name -> value) for ``service``; returns the document.

    ``unit``: a Powertools ``MetricUnit`` name (``"Count"``, ``"NoUnit"``). Powertools' metrics
    modules are imported here, at the first line a process emits, not with this module: the sign-in
    triggers import it and only some of their branches emit."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    metrics = EphemeralMetrics(namespace=get_settings().metrics_namespace, service=service)
    metrics.set_timestamp(clock.now())
    if dimensions:
        # A second dimension set: the metric exists per service (the dashboard's totals) and per
        # service and dimensions (ClaimsProcessed by status).
        metrics.add_dimensions(service=service, **dimensions)
    for name, value in values.items():
        metrics.add_metric(name=name, unit=unit, value=float(value))
    document: dict[str, Any] = dict(metrics.serialize_metric_set())
    print(json.dumps(document, separators=(",", ":")), flush=True)
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(document)
    return document


def count(service: str, name: str, value: int = 1, **dimensions: str) -> None:
    """One counter (``count("auth", "SignInCodesSent")``)."""
    emit(service, {name: value}, dimensions=dimensions)
