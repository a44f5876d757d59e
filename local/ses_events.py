"""SES event publishing, which moto does not do: a ``Send`` event for every mail sent with a
configuration set, delivered to the template's EventBridge rules that target a function.

On AWS, SES publishes "Email Sent" (``detail.eventType = "Send"``) to the default EventBridge bus
for each mail it accepts in a configuration set that has an EventBridge destination matching
``send`` (``AWS::SES::ConfigurationSetEventDestination``); a rule on that bus invokes its target
asynchronously. moto accepts ``ConfigurationSetName`` and ``Tags`` on ``SendEmail`` and drops them.

- :func:`install` wraps moto's ``SendEmail`` (in this process: the local stack runs moto
  in-process or on loopback, and the tests use ``mock_aws``). After moto accepted a mail sent with a
  configuration set, it builds the event as SES documents it (:func:`send_event`: ``mail`` with
  ``messageId``, ``timestamp``, ``source``, ``destination``, ``commonHeaders`` and ``tags``, the
  custom tags plus ``ses:configuration-set``, ``ses:from-domain``, ``ses:caller-identity``,
  ``ses:source-ip``) and hands it to every listener. A refused send (moto raises) publishes nothing.
- :class:`SesEventPoller` is the local stack's listener: it queues the events of configuration sets
  the template publishes to EventBridge, and delivers each to the rules whose pattern matches
  (``local.event_filter``), invoking the target function as an asynchronous invocation would (a
  failed invocation is retried twice, then dropped with an error in the log, as the rule's
  dead-letter queue would take it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from local.cfn import Stack, target_function
from local.event_filter import matches
from local.event_pollers import Poller

log = logging.getLogger("local.ses_events")

Listener = Callable[[dict[str, Any]], None]
_listeners: tuple[Listener, ...] = ()  # replaced whole (never mutated), so reading needs no lock
_lock = threading.Lock()
_installed: list[Any] = []  # the original moto method, once installed
ASYNC_ATTEMPTS = 3  # an asynchronous invocation: the first try and Lambda's two retries


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def send_event(
    *,
    account: str,
    region: str,
    configuration_set: str,
    message_id: str,
    source: str,
    destination: list[str],
    subject: str,
    tags: dict[str, str],
    timestamp: str | None = None,
) -> dict[str, Any]:
    """The EventBridge event SES publishes for an accepted mail (``detail-type`` "Email Sent")."""
    at = timestamp or _now()
    domain = source.rsplit("@", 1)[-1]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Email Sent",
        "source": "aws.ses",
        "account": account,
        "time": at[:19] + "Z",
        "region": region,
        "resources": [f"arn:aws:ses:{region}:{account}:configuration-set/{configuration_set}"],
        "detail": {
            "eventType": "Send",
            "mail": {
                "timestamp": at,
                "source": source,
                "sourceArn": f"arn:aws:ses:{region}:{account}:identity/{source}",
                "sendingAccountId": account,
                "messageId": message_id,
                "destination": destination,
                "headersTruncated": False,
                "headers": [
                    {"name": "From", "value": source},
                    {"name": "To", "value": ", ".join(destination)},
                    {"name": "Subject", "value": subject},
                    {"name": "MIME-Version", "value": "1.0"},
                ],
                "commonHeaders": {"from": [source], "to": destination, "messageId": message_id, "subject": subject},
                "tags": {
                    "ses:configuration-set": [configuration_set],
                    "ses:source-ip": ["127.0.0.1"],
                    "ses:from-domain": [domain],
                    "ses:caller-identity": ["local"],
                    **{name: [value] for name, value in tags.items()},
                },
            },
            "send": {},
        },
    }


def _publish(event: dict[str, Any]) -> None:
    for listener in _listeners:
        listener(event)


def install() -> None:
    """Make moto's ``SendEmail`` publish ``Send`` events to the listeners (once per process)."""
    from moto.ses.responses import EmailResponse

    with _lock:
        if _installed:
            return
        original = EmailResponse.send_email
        _installed.append(original)

    def send_email(self: Any) -> Any:
        result = original(self)  # raises when moto refuses the mail: no event
        answer: dict[str, Any] = result.result  # type: ignore[assignment]
        configuration_set = self._get_param("ConfigurationSetName")
        if configuration_set:
            tags = {str(t["Name"]): str(t["Value"]) for t in (self._get_param("Tags") or [])}
            destinations = self._get_param("Destination") or {}
            kinds = ("ToAddresses", "CcAddresses", "BccAddresses")
            _publish(
                send_event(
                    account=self.current_account,
                    region=self.region,
                    configuration_set=str(configuration_set),
                    message_id=str(answer["MessageId"]),
                    source=str(self._get_param("Source")),
                    destination=[a for key in kinds for a in destinations.get(key) or []],
                    subject=str(self._get_param("Message.Subject.Data") or ""),
                    tags=tags,
                )
            )
        return result

    EmailResponse.send_email = send_email  # type: ignore[method-assign]


def add_listener(listener: Listener) -> None:
    """Hear every ``Send`` event from now on (:func:`install` is called)."""
    global _listeners
    install()
    _listeners = (*_listeners, listener)


def remove_listener(listener: Listener) -> None:
    """Hear no more (a stopped stack, the end of a test)."""
    global _listeners
    _listeners = tuple(known for known in _listeners if known is not listener)


def published_configuration_sets(stack: Stack) -> set[str]:
    """Names of the template's configuration sets with an enabled EventBridge destination for ``send``."""
    names: set[str] = set()
    for resource in stack.of_type("AWS::SES::ConfigurationSetEventDestination").values():
        props = stack.resolve(resource["Properties"])
        destination = props.get("EventDestination") or {}
        types = {str(t).lower() for t in destination.get("MatchingEventTypes") or []}
        if destination.get("Enabled", True) and "send" in types and destination.get("EventBridgeDestination"):
            names.add(str(props["ConfigurationSetName"]))
    return names


def _rule_targets(stack: Stack, runtime: Any) -> list[tuple[str, dict[str, Any], str]]:
    """(rule, pattern, function) for every rule on the default bus that targets a template function."""
    found = []
    for logical_id, resource in stack.of_type("AWS::Events::Rule").items():
        raw = resource.get("Properties") or {}
        if raw.get("EventBusName") not in (None, "default") or raw.get("State", "ENABLED") != "ENABLED":
            continue
        props = stack.resolve({k: v for k, v in raw.items() if k != "Targets"})
        for target in raw.get("Targets") or []:
            function = target_function(target)
            if function is not None and runtime.available(function):
                found.append((logical_id, props["EventPattern"], function))
    return found


class SesEventPoller(Poller):
    """Delivers queued SES events to the default bus's rules that target template functions."""

    name = "ses-events"

    def __init__(self, stack: Stack, runtime: Any) -> None:
        self.runtime = runtime
        self.configuration_sets = published_configuration_sets(stack)
        self.rules = _rule_targets(stack, runtime)
        self._queue: deque[dict[str, Any]] = deque()
        self._queue_lock = threading.Lock()
        self.delivered = 0

    def __call__(self, event: dict[str, Any]) -> None:
        """As a listener: queue the events SES would publish to EventBridge."""
        tags = event["detail"]["mail"]["tags"]
        if tags["ses:configuration-set"][0] in self.configuration_sets:
            self.found()
            with self._queue_lock:
                self._queue.append(event)

    def poll_once(self) -> bool:
        with self._queue_lock:
            event = self._queue.popleft() if self._queue else None
        if event is None:
            return False
        self.found()
        for rule, pattern, function in self.rules:
            if matches(pattern, event):
                self._invoke(rule, function, event)
        return True

    def _invoke(self, rule: str, function: str, event: dict[str, Any]) -> None:
        for attempt in range(ASYNC_ATTEMPTS):
            try:
                self.runtime.invoke(function, json.loads(json.dumps(event)))
                self.delivered += 1
                return
            except Exception:
                log.error("%s <- %s failed (attempt %d):\n%s", function, rule, attempt + 1, traceback.format_exc())
        log.error("%s <- %s: event dropped after %d attempts", function, rule, ASYNC_ATTEMPTS)


def ses_event_pollers(stack: Stack, runtime: Any) -> list[Poller]:
    """The local stack's SES event publisher (nothing when the template publishes no Send events)."""
    if not published_configuration_sets(stack):
        return []
    poller = SesEventPoller(stack, runtime)
    add_listener(poller)
    return [poller]
