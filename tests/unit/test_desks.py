from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.kernel.desks import Desk, IllegalTransition, Lifecycle

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def _desk(lifecycle: Lifecycle) -> Desk:
    return Desk(
        employee_id="e-1001",
        lifecycle=lifecycle,
        site="paris-hq",
        profile="office",
        directory_id="d-0123456789",
        bundle_id="wsb-standard01",
        username="jdoe",
        running_mode="AUTO_STOP",
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_provisioned_desk_becomes_ready() -> None:
    ready = _desk(Lifecycle.PROVISIONING).moved_to(Lifecycle.READY, at=NOW, workspace_id="ws-abcdefgh1")
    assert (ready.lifecycle, ready.workspace_id, ready.updated_at) == (Lifecycle.READY, "ws-abcdefgh1", NOW)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Lifecycle.TERMINATED, Lifecycle.READY),
        (Lifecycle.READY, Lifecycle.SCHEDULED),
        (Lifecycle.STOPPED, Lifecycle.PROVISIONING),
        (Lifecycle.CANCELLED, Lifecycle.READY),
    ],
)
def test_the_lifecycle_never_goes_backwards(start: Lifecycle, target: Lifecycle) -> None:
    with pytest.raises(IllegalTransition):
        _desk(start).moved_to(target, at=NOW)


def test_a_rehire_before_termination_keeps_the_desk() -> None:
    assert _desk(Lifecycle.STOPPED).moved_to(Lifecycle.READY, at=NOW).lifecycle is Lifecycle.READY
