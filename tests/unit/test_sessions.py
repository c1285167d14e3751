"""A successful login: the last login moves forward only, and the desk's open incident is resolved."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.incidents import remediation, sessions
from autopilot.domain.incidents.remediation import SickDesk
from autopilot.domain.incidents.sessions import Login, SessionPorts
from tests.unit.fakes_remediation import DIRECTORY, NOW, World

pytestmark = pytest.mark.usefixtures("socket_disabled")


def login(world: World, workspace_id: str, at: dt.datetime) -> sessions.LoginOutcome:
    ports = SessionPorts(desks=world.desks, incidents=world.incidents, events=world.events)
    return sessions.record_login(Login(workspace_id, DIRECTORY, at), ports, world.now)


def test_a_login_records_the_last_login_of_the_desk() -> None:
    world = World()
    desk = world.managed_desk(1)
    outcome = login(world, desk, NOW)
    assert outcome.last_login_recorded
    assert world.desks.get("e-0001").last_login == NOW  # type: ignore[union-attr]


def test_an_older_login_arriving_late_does_not_move_the_last_login_back() -> None:
    world = World()
    desk = world.managed_desk(1)
    login(world, desk, NOW)
    assert not login(world, desk, NOW - dt.timedelta(hours=2)).last_login_recorded
    assert world.desks.get("e-0001").last_login == NOW  # type: ignore[union-attr]


def test_a_desk_without_a_record_is_ignored() -> None:
    world = World()
    outcome = login(world, "ws-999999999", NOW)
    assert outcome == sessions.LoginOutcome(last_login_recorded=False, resolved_incident=None)
    assert world.desks.saves == 0


def test_a_concurrent_change_of_the_desk_is_reread_not_lost() -> None:
    world = World()
    desk = world.managed_desk(1)
    world.desks.lose_next_save = 1
    assert login(world, desk, NOW).last_login_recorded
    assert world.desks.get("e-0001").last_login == NOW  # type: ignore[union-attr]


def test_a_login_resolves_the_desk_incident_in_the_same_thread() -> None:
    world = World()
    desk = world.managed_desk(1, state="UNHEALTHY")
    remediation.handle(SickDesk(desk, DIRECTORY, "UNHEALTHY"), world.ports, world.ctx)
    incident = world.incidents.only()
    world.advance(5)
    outcome = login(world, desk, world.now)
    assert outcome.resolved_incident == incident.incident_id
    resolved = world.incidents.only()
    assert resolved.resolved_by == "login"
    (event,) = world.events.of("Incident Resolved")
    assert event.incident_id == incident.incident_id
    assert event.steps[0].action == "reboot"
    # Sessions may not touch the scheduler: the cancel waits in the outbox; the late timer is a no-op.
    assert [e.kind for e in resolved.outbox] == ["cancel_timer"]
    world.advance(15)
    timer = world.timers.due(world.now)[0]
    outcome_of_timer = remediation.handle(
        remediation.Recheck(incident_id=incident.incident_id, timer_name=timer.name), world.ports, world.ctx
    )
    assert outcome_of_timer.counts == {"stale_timer": 1}
    assert world.incidents.only().outbox == []


def test_a_login_from_before_the_incident_resolves_nothing() -> None:
    world = World()
    desk = world.managed_desk(1, state="UNHEALTHY")
    remediation.handle(SickDesk(desk, DIRECTORY, "UNHEALTHY"), world.ports, world.ctx)
    outcome = login(world, desk, NOW - dt.timedelta(minutes=10))
    assert outcome.resolved_incident is None
    assert world.incidents.only().is_open


def test_a_resolution_published_but_not_written_is_completed_by_the_retry() -> None:
    world = World()
    desk = world.managed_desk(1, state="UNHEALTHY")
    remediation.handle(SickDesk(desk, DIRECTORY, "UNHEALTHY"), world.ports, world.ctx)
    original = world.incidents.resolve
    calls = {"n": 0}

    def flaky(incident):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("crashed before the write")
        return original(incident)

    world.incidents.resolve = flaky  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        login(world, desk, NOW + dt.timedelta(minutes=1))
    assert world.incidents.only().is_open
    login(world, desk, NOW + dt.timedelta(minutes=1))
    assert not world.incidents.only().is_open
    assert len(world.events.of("Incident Resolved")) == 2  # published twice; the notifier keeps one per thread
