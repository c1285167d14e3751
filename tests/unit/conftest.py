"""Unit tests are pure: any attempt to open a network socket fails the test (pytest-socket)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """Requesting pytest-socket's `socket_disabled` fixture blocks every socket for each unit test."""
