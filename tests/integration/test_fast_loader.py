"""localcloud.fast_loader: botocore's list of available services, listed once while installed, is botocore's."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.loaders import Loader, create_loader

from localcloud import fast_json, fast_loader

TYPES = ("service-2", "paginators-1", "waiters-2", "resources-1", "endpoint-rule-set-1")


def _session_loader() -> Loader:
    """A new boto3 session's loader: botocore's data and boto3's (the resources)."""
    return boto3.session.Session()._session.get_component("data_loader")


@pytest.mark.parametrize("type_name", TYPES)
def test_the_list_is_botocore_s_and_each_caller_owns_its_copy(type_name: str) -> None:
    own = _session_loader().list_available_services(type_name)
    with fast_loader.installed():
        first = _session_loader().list_available_services(type_name)
        first.append("not-a-service")
        second = _session_loader().list_available_services(type_name)
    assert second == own
    assert "dynamodb" in own


def test_the_directories_are_listed_once_while_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    listings: list[str] = []
    original = fast_loader._original_list_available_services

    def counted(self: Loader, type_name: str) -> list[str]:
        listings.append(type_name)
        return original(self, type_name)

    monkeypatch.setattr(fast_loader, "_original_list_available_services", counted)
    with fast_loader.installed():
        for _ in range(3):
            boto3.session.Session(region_name="eu-west-1").resource("dynamodb")
    assert listings.count("resources-1") == 1
    with fast_loader.installed():  # a new block lists again
        boto3.session.Session(region_name="eu-west-1").resource("dynamodb")
    assert listings.count("resources-1") == 2


def test_a_loader_with_other_directories_gets_its_own_listing(tmp_path: Path) -> None:
    with fast_loader.installed():
        botocore_s = create_loader().list_available_services("service-2")
        (tmp_path / "myservice" / "2026-12-01").mkdir(parents=True)
        (tmp_path / "myservice" / "2026-12-01" / "service-2.json").write_text("{}")
        extended = create_loader(str(tmp_path)).list_available_services("service-2")
    assert "myservice" in extended
    assert "myservice" not in botocore_s


def test_the_switch_keeps_botocore_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_json.ENV_SWITCH, "0")
    with fast_loader.installed() as on:
        assert not on
        assert Loader.list_available_services is fast_loader._original_list_available_services
