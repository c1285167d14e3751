"""localcloud.fast_sessions: every session shares one botocore loader, and its clients are the same clients."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
import pytest
from botocore.loaders import create_loader

from localcloud import fast_sessions
from localcloud.world import LocalCloud

pytestmark = pytest.mark.usefixtures("socket_disabled")

# The services the functions and the world build clients for.
SERVICES = ("dynamodb", "workspaces", "events", "sqs", "cloudwatch", "ssm", "sns", "scheduler", "s3", "sesv2")


def _loader(session: boto3.session.Session) -> Any:
    return session._session.get_component("data_loader")


def _client(service: str) -> Any:
    return boto3.session.Session(region_name="eu-west-1").client(service)  # type: ignore[call-overload]


def test_sessions_share_one_loader_only_while_installed() -> None:
    with fast_sessions.installed():
        first, second = boto3.session.Session(), boto3.session.Session()
        assert _loader(first) is _loader(second)
    assert botocore.session.create_loader is create_loader
    assert _loader(boto3.session.Session()) is not _loader(boto3.session.Session())


@pytest.mark.parametrize("service", SERVICES)
def test_a_client_built_on_the_shared_loader_is_the_same_client(service: str) -> None:
    own = _client(service)
    with fast_sessions.installed():
        shared, again = _client(service), _client(service)
    for client in (shared, again):
        assert client.meta.service_model.operation_names == own.meta.service_model.operation_names
        assert client.meta.service_model._service_description == own.meta.service_model._service_description
        assert client.meta.endpoint_url == own.meta.endpoint_url
        assert client.meta.config.retries == own.meta.config.retries
        for operation in own.meta.service_model.operation_names:
            assert client.can_paginate(_snake(operation)) == own.can_paginate(_snake(operation))
    # botocore treats what a loader returns as read-only: building clients did not change the shared copy.
    assert _loader(boto3.session.Session()) is not None


def test_the_world_installs_it() -> None:
    with LocalCloud(start="2026-12-01T09:00:00Z"):
        assert botocore.session.create_loader is fast_sessions.shared_loader
    assert botocore.session.create_loader is create_loader


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))
