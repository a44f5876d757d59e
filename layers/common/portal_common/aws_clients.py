"""AWS clients created once per process and reused across warm invocations.

Clients are created lazily so a function only pays for the ones it uses, and all of them come from
one botocore session: a session loads botocore's endpoint data and registers its handlers (about 0.1 s
at a cold start), so a second session for a second client (CreateAuthChallenge: DynamoDB then SES)
would pay that again (``make bench``, README "Performance"). They are botocore's own clients (what
a boto3 client is): the functions use no boto3 resource, no S3 transfer method and no boto3 session
feature, and importing the boto3 package costs about 15 ms of every cold start (its session and
resource machinery, s3transfer and its thread and process pools; docs/performance.md). Endpoints
come from the SDK's ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables (botocore reads
them), which is how the local stack points the unchanged code at moto. The session's botocore data
loader is :class:`ServiceLoader`, which checks a service's name without listing all of botocore's
service folders (about 40 ms of CPU of the first client at a cold start).

With tracing on (template parameter ``Tracing``: ``POWERTOOLS_TRACE_DISABLED=false``), the first
client starts a Powertools ``Tracer``, which patches botocore: every AWS call becomes an X-Ray
subsegment of the invocation's trace. With tracing off nothing of the X-Ray SDK is imported (it
adds 0.3 to 1 s to a cold start; docs/operations.md).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader

from portal_common.config import get_settings

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_session: list[botocore.session.Session] = []
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
# Per service, sized so that one call's worst case (attempts x (connect + read) + the standard
# mode's backoff, at most 1 s then 2 s) fits its functions' timeouts with room (docs/operations.md,
# "Timeouts"):
# - DynamoDB (milliseconds in practice): 2 x (1 + 2) + 1 = 7 s, under the API's 10 s;
# - EventBridge PutEvents (10 entries at most): 2 x (1 + 3) + 1 = 9 s;
# - SES: ONE attempt, 1 + 5 = 6 s. An SDK retry after a lost answer would send the e-mail twice at
#   once; a failed send is retried by the claim outbox instead, after a delay.
_SERVICE_CONFIGS: dict[str, Config] = {
    "dynamodb": Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=2),
    "events": Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=3),
    "ses": Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=5),
}
_LOCAL_STACK_TIMEOUTS = Config(connect_timeout=10, read_timeout=60)


def client_config(service: str) -> Config:
    """The botocore configuration of ``service``'s client (timeouts relaxed on the local stack only)."""
    config = _SERVICE_CONFIGS.get(service, _CONFIG)
    return config.merge(_LOCAL_STACK_TIMEOUTS) if get_settings().local_stack else config


_tracer: list[Any] = []


class DictJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader, parsing into ``dict`` (ordered, as every ``dict`` is) instead of
    ``OrderedDict``: json's C parser then builds the objects itself, which makes botocore's 1.2 MB
    endpoints file (read by every process's first client) about 2.5 times faster to load (37 to 13
    ms of CPU here). botocore only reads these objects (no ``OrderedDict``-only method is used)."""

    def _load_file(self, full_path: str, open_method: Any) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as handle:
            return json.loads(handle.read().decode("utf-8"))


class ServiceLoader(Loader):
    """botocore's data loader, except that checking a service's name looks in that service's folder
    and that files are parsed into plain dicts (:class:`DictJSONFileLoader`).

    Before loading a model, botocore checks that the service exists by listing every service
    folder of its data (about 400 folders and 2,800 ``stat`` calls), once per kind of file: the
    service model, then the endpoint ruleset. With the ``OrderedDict`` parsing, that was about 60 ms
    of CPU of each cold start's first client, out of about 100 (docs/performance.md). The files,
    their folders and the errors are botocore's own; an unknown name still gets botocore's
    ``UnknownServiceError`` listing every name.
    """

    FILE_LOADER_CLASS = DictJSONFileLoader

    @classmethod
    def like(cls, loader: Loader) -> ServiceLoader:
        """A loader searching where ``loader`` searches (``AWS_DATA_PATH`` included)."""
        return cls(extra_search_paths=list(loader.search_paths), include_default_search_paths=False)

    def list_available_services(self, type_name: str) -> Any:
        return _ServiceNames(self, type_name)


class _ServiceNames:
    """The services that have ``type_name`` files: ``in`` looks at one folder, iterating lists all."""

    def __init__(self, loader: ServiceLoader, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except DataNotFoundError:
            return False

    def __iter__(self) -> Any:
        return iter(Loader.list_available_services(self._loader, self._type_name))


def _new_session() -> botocore.session.Session:
    """A botocore session that loads its data with :class:`ServiceLoader`."""
    session = botocore.session.get_session()
    session.register_component("data_loader", ServiceLoader.like(session.get_component("data_loader")))
    return session


def _start_tracing() -> None:
    """Start the Powertools Tracer once, when the settings turn tracing on."""
    if _tracer or not get_settings().tracing_enabled:
        return
    from aws_lambda_powertools import Tracer

    _tracer.append(Tracer())


def client(service: str) -> Any:
    """Return the process-wide client for ``service`` (thread-safe)."""
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        _start_tracing()
        if service not in _clients:
            if not _session:
                _session.append(_new_session())
            _clients[service] = _session[0].create_client(
                service, region_name=get_settings().region, config=client_config(service)
            )
        return _clients[service]


def reset_clients() -> None:
    """Forget cached clients and their session (tests switch endpoints and credentials between cases)."""
    with _lock:
        _clients.clear()
        _session.clear()
