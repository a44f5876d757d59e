"""``portal_common.aws_clients.ServiceLoader``: botocore's models and errors, without listing every
service folder at a cold start (docs/performance.md)."""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from portal_common.aws_clients import ServiceLoader

# Every service the functions and the local stack create clients for (template.yaml's IAM).
SERVICES = ("dynamodb", "ses", "cognito-idp", "events", "s3", "sqs", "cloudwatch", "scheduler", "lambda")


def _loaders() -> tuple[Loader, ServiceLoader]:
    # A loader of its own, as a fresh Lambda process has: the test process shares one between its
    # sessions (tests/moto_speedups.py), whose cached models other tests' clients may have used.
    plain = botocore.loaders.create_loader()
    return plain, ServiceLoader.like(plain)


def test_it_loads_botocore_s_own_models() -> None:
    plain, loader = _loaders()
    assert loader.search_paths == plain.search_paths
    for service in SERVICES:
        for type_name in ("service-2", "endpoint-rule-set-1"):
            assert loader.load_service_model(service, type_name) == plain.load_service_model(service, type_name)


@pytest.mark.parametrize("name", ["no-such-service", "", "../botocore", "dynamodb/2012-08-10", ".", "ses\\x"])
def test_an_unknown_service_is_botocore_s_error(name: str) -> None:
    _, loader = _loaders()
    with pytest.raises(UnknownServiceError) as raised:
        loader.load_service_model(name, "service-2")
    assert "dynamodb" in str(raised.value)  # the message lists every known service, as botocore's does


def test_the_listing_is_botocore_s() -> None:
    plain, loader = _loaders()
    assert list(loader.list_available_services("service-2")) == plain.list_available_services("service-2")


def test_a_client_looks_only_in_its_own_service_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore lists its ~400 service folders before loading a model; with this loader a client
    lists a handful of folders (the cold-start saving), and works the same."""
    listed: list[str] = []
    real = os.listdir

    def listdir(path: Any = ".") -> list[str]:
        listed.append(str(path))
        return real(path)

    core = botocore.session.get_session()
    core.register_component("data_loader", ServiceLoader.like(botocore.loaders.create_loader()))
    session = boto3.session.Session(botocore_session=core)
    monkeypatch.setattr(os, "listdir", listdir)
    client = session.client("dynamodb", region_name="ca-central-1")
    monkeypatch.undo()
    assert len(listed) < 10, listed
    assert client.meta.service_model.service_name == "dynamodb"
    assert client.meta.endpoint_url == "https://dynamodb.ca-central-1.amazonaws.com" or os.environ.get(
        "AWS_ENDPOINT_URL"
    )


def test_files_are_parsed_into_plain_dicts_with_botocore_s_content_and_order() -> None:
    plain, loader = _loaders()
    for path in ("endpoints", "partitions", "sdk-default-configuration"):
        ours, theirs = loader.load_data(path), plain.load_data(path)
        assert type(ours) is dict
        assert ours == theirs
        assert list(ours) == list(theirs)
    model = loader.load_service_model("dynamodb", "service-2")
    assert type(model["operations"]) is dict
    assert list(model["operations"]) == list(plain.load_service_model("dynamodb", "service-2")["operations"])
