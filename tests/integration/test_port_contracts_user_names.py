"""Port contract: the user name an alert may show (handlers/notify.DeskUserNames over DeskStore on moto, and
fakes_remediation.FakeUsers), the same cases for both (see test_port_contracts_desks.py for why these live in the
integration tier). The adapter lives in the notify handler, not in adapters/ (noted in docs/architecture.md).

What domain/oncall relies on: the name of the desk's user, found by WorkSpace id, else by employee id; None when
neither is known (the alert then names no one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from autopilot.adapters.desk_store import DeskStore
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.handlers.notify import DeskUserNames
from tests.support.contracts import port_fixture, state_table
from tests.unit.fakes_remediation import FakeUsers

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._desks = DeskStore(state_table(request))
        self.port = DeskUserNames(self._desks)

    def add(self, employee_id: str, workspace_id: str | None, username: str) -> None:
        self._desks.create(
            Desk(
                employee_id=employee_id,
                workspace_id=workspace_id,
                username=username,
                lifecycle=Lifecycle.READY if workspace_id else Lifecycle.SCHEDULED,
                site="amiens-cc",
                profile="agent",
                directory_id="d-0123456789",
                bundle_id="wsb-standard01",
                running_mode="AUTO_STOP",
                created_at=NOW,
                updated_at=NOW,
            )
        )


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeUsers({})

    def add(self, employee_id: str, workspace_id: str | None, username: str) -> None:
        self.port.names[employee_id] = username
        if workspace_id:
            self.port.names[workspace_id] = username


users = port_fixture("users", {"moto": _Real, "fake-alerts": _Fake})


def test_a_name_is_found_by_workspace_else_by_employee(users: Any) -> None:
    users.add("e-1", "ws-abcdefgh1", "helpline001")
    users.add("e-2", None, "helpline002")
    assert users.port.user_name(workspace_id="ws-abcdefgh1", employee_id=None) == "helpline001"
    assert users.port.user_name(workspace_id="ws-abcdefgh1", employee_id="e-2") == "helpline001"
    assert users.port.user_name(workspace_id="ws-unknown01", employee_id="e-2") == "helpline002"
    assert users.port.user_name(workspace_id=None, employee_id="e-1") == "helpline001"


def test_nobody_known_is_none(users: Any) -> None:
    assert users.port.user_name(workspace_id="ws-unknown01", employee_id="e-nobody") is None
    assert users.port.user_name(workspace_id=None, employee_id=None) is None
