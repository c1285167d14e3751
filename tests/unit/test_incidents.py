"""The incident model: ids fit timer names, the timeline records each step, the outbox round-trips events,
the action history feeds the caps."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.contracts.outputs import IncidentOpened, StepRecord
from autopilot.domain.incidents.incidents import (
    DeskActions,
    OutboxEntry,
    new_incident_id,
    open_desk_incident,
    open_directory_incident,
    recheck_timer_name,
)

pytestmark = pytest.mark.usefixtures("socket_disabled")

NOW = dt.datetime(2026, 12, 1, 9, 0, 5, tzinfo=dt.UTC)


def test_incident_ids_are_readable_and_fit_a_timer_name() -> None:
    assert new_incident_id("ws-abcdefgh1", NOW) == "inc-ws-abcdefgh1-20261201090005"
    long = new_incident_id("ws-" + "a" * 60, NOW)
    assert long.startswith("inc-ws-")
    assert len(recheck_timer_name(long, 99)) <= 64
    assert len(recheck_timer_name(new_incident_id("d-" + "f" * 60, NOW), 999)) <= 64


def test_a_directory_incident_keeps_the_first_fifty_failing_desks() -> None:
    incident = open_directory_incident(
        directory_id="d-0123456789",
        at=NOW,
        failing_ids=[f"ws-{n:09d}" for n in range(80)],
        desks_in_directory=200,
        failures=300,
    )
    assert incident.subject == "d-0123456789"
    assert incident.failing_desks == 80
    assert len(incident.failing_ids) == 50


def test_steps_go_to_the_timeline_and_the_last_can_be_amended() -> None:
    incident = open_desk_incident(
        workspace_id="ws-abcdefgh1", directory_id="d-0123456789", employee_id="e-1", cause="unhealthy", at=NOW
    )
    step = StepRecord(action="reboot", outcome="requested", at=NOW)
    stepped = incident.with_step(step)
    amended = stepped.with_last_step(step.model_copy(update={"outcome": "failed", "reason": "refused"}))
    assert [s.outcome for s in amended.steps] == ["failed"]
    assert [e.kind for e in amended.timeline] == ["opened", "step", "step"]
    assert amended.tried == set()
    assert stepped.tried == {"reboot"}


def test_each_recheck_gets_a_new_timer_name() -> None:
    incident = open_desk_incident(
        workspace_id="ws-abcdefgh1", directory_id="d-0123456789", employee_id=None, cause="unhealthy", at=NOW
    )
    first = incident.awaiting_recheck(NOW, NOW + dt.timedelta(minutes=15))
    second = first.awaiting_recheck(NOW, NOW + dt.timedelta(minutes=30))
    assert first.current_timer == f"recheck-{incident.incident_id}-1"
    assert second.current_timer == f"recheck-{incident.incident_id}-2"
    assert [e.timer_name for e in second.outbox] == [first.current_timer, second.current_timer]


def test_resolving_cancels_the_pending_recheck() -> None:
    incident = open_desk_incident(
        workspace_id="ws-abcdefgh1", directory_id="d-0123456789", employee_id=None, cause="unhealthy", at=NOW
    ).awaiting_recheck(NOW, NOW + dt.timedelta(minutes=15))
    resolved = incident.published().resolved("login", NOW + dt.timedelta(minutes=3))
    assert not resolved.is_open
    assert resolved.resolved_by == "login"
    assert [(e.kind, e.timer_name) for e in resolved.outbox] == [("cancel_timer", incident.current_timer)]


def test_an_outbox_event_comes_back_as_the_same_event() -> None:
    event = IncidentOpened(
        incident_id="inc-ws-abcdefgh1-20261201090005",
        scope="desk",
        cause="connection_failure",
        directory_id="d-0123456789",
        workspace_id="ws-abcdefgh1",
        opened_at=NOW,
    )
    entry = OutboxEntry.model_validate_json(OutboxEntry.event(event).model_dump_json())
    assert entry.domain_event() == event


def test_the_action_history_counts_inside_a_window_and_forgets_after_two_weeks() -> None:
    actions = DeskActions(workspace_id="ws-abcdefgh1")
    for days in (20, 3, 0.5):
        actions = actions.recorded("reboot", NOW - dt.timedelta(days=days))
    actions = actions.recorded("reboot", NOW)
    assert actions.count_since("reboot", NOW - dt.timedelta(days=1)) == 2
    assert len(actions.reboots) == 3  # the 20-day-old one is forgotten
    assert actions.recorded("none", NOW) is actions
