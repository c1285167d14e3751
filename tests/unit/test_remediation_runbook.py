"""The runbook and its guard-rails, with in-memory fakes: what is done to a failing desk, in which order, and
what is never done."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.incidents import remediation
from autopilot.domain.incidents.acting import Outcome
from autopilot.domain.incidents.incidents import DeskActions
from autopilot.domain.incidents.ports import ActionFailure
from autopilot.domain.incidents.remediation import AlarmTrigger, Recheck, SickDesk
from autopilot.domain.incidents.triage import AlarmSubject, alarm_window
from autopilot.domain.kernel.errors import TransientAwsError
from tests.unit.fakes_remediation import DIRECTORY, TARGET, FakeThrottled, World, policy

pytestmark = pytest.mark.usefixtures("socket_disabled")


def alarm(world: World, state: str = "ALARM", directory: str = DIRECTORY) -> Outcome:
    trigger = AlarmTrigger(
        alarm_name=f"workspaces-autopilot-dev-connection-failure-{directory}",
        state=state,  # type: ignore[arg-type]
        subject=AlarmSubject(directory_id=directory, workspace_id=None),
        window=alarm_window(state_at=world.now, now=world.now, period=300),
    )
    return remediation.handle(trigger, world.ports, world.ctx)


def run_timers(world: World) -> list[Outcome]:
    return [
        remediation.handle(Recheck(incident_id=t.incident_id or "", timer_name=t.name), world.ports, world.ctx)
        for t in world.timers.due(world.now)
    ]


def failing_desk(world: World, failures: int = 6, n: int = 1) -> str:
    desk = world.managed_desk(n)
    world.metrics.fail(desk, failures, world.now - dt.timedelta(minutes=2), attempts=failures + 1)
    return desk


def detail_types(world: World) -> list[str]:
    return [e.DETAIL_TYPE for e in world.events.events]


# --- detection -------------------------------------------------------------------------------------------
def test_a_desk_below_failures_to_act_opens_no_incident() -> None:
    world = World()
    failing_desk(world, failures=2)
    alarm(world)
    assert world.incidents.items == {}
    assert world.fleet.actions == []


def test_a_failing_desk_opens_an_incident_and_is_rebooted_with_a_recheck_timer() -> None:
    world = World()
    desk = failing_desk(world)
    alarm(world)
    incident = world.incidents.only()
    assert incident.workspace_id == desk
    assert incident.employee_id == "e-0001"
    assert incident.failures == 6
    assert incident.attempts == 7
    assert world.fleet.actions == [("reboot", desk)]
    assert detail_types(world) == ["Incident Opened", "Remediation Step"]
    (timer, target) = world.timers.pending[f"recheck-{incident.incident_id}-1"]
    assert target == TARGET
    assert timer.due == world.now + dt.timedelta(minutes=15)
    assert timer.incident_id == incident.incident_id
    assert timer.workspace_id == desk
    assert [e.kind for e in incident.timeline][:2] == ["opened", "step"]


def test_the_metrics_are_read_once_for_the_whole_directory() -> None:
    world = World()
    for n in range(1, 41):
        world.managed_desk(n)
    world.metrics.fail("ws-000000007", 5, world.now - dt.timedelta(minutes=1))
    alarm(world)
    assert world.metrics.calls == 1
    assert world.fleet.actions == [("reboot", "ws-000000007")]


# --- the runbook -----------------------------------------------------------------------------------------
def test_a_reboot_that_fixes_the_desk_resolves_the_incident_at_the_recheck() -> None:
    world = World()
    failing_desk(world)
    alarm(world)
    world.advance(15)
    world.fleet.settle()
    run_timers(world)
    incident = world.incidents.only()
    assert not incident.is_open
    assert incident.resolved_by == "recheck"
    assert world.fleet.actions == [("reboot", "ws-000000001")]
    assert detail_types(world)[-1] == "Incident Resolved"


def test_a_desk_still_failing_after_the_reboot_is_rebuilt_then_resolved() -> None:
    world = World()
    desk = failing_desk(world)
    alarm(world)
    world.advance(5)
    world.fleet.settle()
    world.metrics.fail(desk, 4, world.now)
    world.advance(10)
    run_timers(world)
    assert world.fleet.actions == [("reboot", desk), ("rebuild", desk)]
    world.advance(15)
    world.fleet.settle()
    run_timers(world)
    incident = world.incidents.only()
    assert incident.resolved_by == "recheck"
    assert [s.action for s in incident.steps] == ["reboot", "rebuild"]


def test_when_everything_fails_the_incident_escalates_once_and_the_automation_stops() -> None:
    world = World(policy=policy(restore=True))
    desk = failing_desk(world)
    alarm(world)
    for _ in range(4):
        world.advance(15)
        world.fleet.settle()
        world.metrics.fail(desk, 5, world.now - dt.timedelta(minutes=1))
        run_timers(world)
    assert world.fleet.actions == [("reboot", desk), ("rebuild", desk), ("restore", desk)]
    escalations = world.events.of("Incident Escalated")
    assert len(escalations) == 1
    assert "runbook exhausted" in escalations[0].reason
    assert world.incidents.only().is_open
    assert world.incidents.only().waiting == "human"
    assert world.timers.pending == {}


def test_rebuild_disabled_by_policy_escalates_after_the_reboot() -> None:
    world = World(policy=policy(rebuild=False))
    desk = failing_desk(world)
    alarm(world)
    world.advance(15)
    world.fleet.settle()
    world.metrics.fail(desk, 3, world.now - dt.timedelta(minutes=1))
    run_timers(world)
    assert world.fleet.actions == [("reboot", desk)]
    (escalation,) = world.events.of("Incident Escalated")
    assert "rebuild disabled by policy" in escalation.reason
    assert "restore not opted in" in escalation.reason


def test_restore_is_never_used_unless_opted_in() -> None:
    world = World()
    desk = failing_desk(world)
    alarm(world)
    for _ in range(3):
        world.advance(15)
        world.fleet.settle()
        world.metrics.fail(desk, 5, world.now - dt.timedelta(minutes=1))
        run_timers(world)
    assert ("restore", desk) not in world.fleet.actions
    assert len(world.events.of("Incident Escalated")) == 1


def test_a_refused_reboot_moves_on_to_the_rebuild_at_once() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.refuse[("reboot", desk)] = ActionFailure("InvalidResourceState.Workspace")
    alarm(world)
    assert world.fleet.actions == [("reboot", desk), ("rebuild", desk)]
    outcomes = [(s.action, s.outcome) for s in world.incidents.only().steps]
    assert outcomes == [("reboot", "failed"), ("rebuild", "requested")]
    steps = world.events.of("Remediation Step")
    assert [(e.step.action, e.step.outcome) for e in steps] == outcomes
    assert list(world.timers.pending) == [f"recheck-{world.incidents.only().incident_id}-2"]


def test_a_refused_reboot_is_reported_with_the_aws_code_never_its_message() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.refuse[("reboot", desk)] = ActionFailure("InvalidResourceState.Workspace")  # no room for a message
    alarm(world)
    [failed] = [e for e in world.events.of("Remediation Step") if e.step.outcome == "failed"]
    assert failed.step.reason == "InvalidResourceState.Workspace"
    assert all("jdoe" not in s.reason for s in world.incidents.only().steps)


def test_a_busy_desk_at_the_recheck_is_given_time() -> None:
    world = World()
    desk = failing_desk(world)
    alarm(world)
    world.advance(15)  # still REBOOTING: not settled
    (outcome,) = run_timers(world)
    assert outcome.counts == {"waiting": 1}
    assert world.fleet.actions == [("reboot", desk)]
    assert world.incidents.only().rechecks == 2


# --- guard-rails -----------------------------------------------------------------------------------------
def test_a_connected_user_means_no_action_and_an_alert() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.connected.add(desk)
    alarm(world)
    assert world.fleet.actions == []
    (step,) = world.events.of("Remediation Step")
    assert (step.step.action, step.step.outcome) == ("none", "skipped")
    assert "connected" in step.step.reason
    assert detail_types(world) == ["Incident Opened", "Remediation Step"]


def test_a_user_still_connected_while_failures_continue_escalates_without_a_reboot() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.connected.add(desk)
    alarm(world)
    world.advance(15)
    world.metrics.fail(desk, 3, world.now - dt.timedelta(minutes=1))
    run_timers(world)
    assert world.fleet.actions == []
    (escalation,) = world.events.of("Incident Escalated")
    assert "connected" in escalation.reason


def test_a_user_who_disconnected_by_the_recheck_gets_the_reboot() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.connected.add(desk)
    alarm(world)
    world.fleet.connected.clear()
    world.advance(15)
    world.metrics.fail(desk, 3, world.now - dt.timedelta(minutes=1))
    run_timers(world)
    assert world.fleet.actions == [("reboot", desk)]


def test_at_most_max_reboots_per_day_then_the_rebuild_comes_first() -> None:
    world = World()
    desk = failing_desk(world)
    world.incidents.history[desk] = DeskActions(
        workspace_id=desk, reboots=[world.now - dt.timedelta(hours=3), world.now - dt.timedelta(hours=20)], version=2
    )
    alarm(world)
    assert world.fleet.actions == [("rebuild", desk)]


def test_reboots_older_than_a_day_do_not_count_against_the_cap() -> None:
    world = World()
    desk = failing_desk(world)
    world.incidents.history[desk] = DeskActions(
        workspace_id=desk, reboots=[world.now - dt.timedelta(hours=25), world.now - dt.timedelta(hours=30)], version=2
    )
    alarm(world)
    assert world.fleet.actions == [("reboot", desk)]


def test_one_rebuild_per_cooldown_across_incidents() -> None:
    world = World()
    desk = failing_desk(world)
    world.incidents.history[desk] = DeskActions(
        workspace_id=desk, rebuilds=[world.now - dt.timedelta(hours=23)], version=1
    )
    alarm(world)
    world.advance(15)
    world.fleet.settle()
    world.metrics.fail(desk, 3, world.now - dt.timedelta(minutes=1))
    run_timers(world)
    assert world.fleet.actions == [("reboot", desk)]
    (escalation,) = world.events.of("Incident Escalated")
    assert "cooldown" in escalation.reason


def test_reboots_are_recorded_for_the_caps_of_later_incidents() -> None:
    world = World()
    desk = failing_desk(world)
    alarm(world)
    assert world.incidents.actions(desk).reboots == [world.now]


def test_admin_maintenance_desks_are_left_alone() -> None:
    world = World()
    desk = world.managed_desk(1, state="ADMIN_MAINTENANCE")
    world.metrics.fail(desk, 6, world.now - dt.timedelta(minutes=1))
    alarm(world)
    assert world.fleet.actions == []
    incident = world.incidents.only()
    assert incident.is_open
    assert incident.waiting == "desk"
    assert world.events.of("Incident Escalated") == []
    assert world.timers.pending == {}


def test_a_desk_without_the_managed_by_tag_is_escalated_and_never_touched() -> None:
    world = World()
    desk = failing_desk(world)
    world.tags.tags[desk] = {"ManagedBy": "someone-else"}
    alarm(world)
    assert world.fleet.actions == []
    (escalation,) = world.events.of("Incident Escalated")
    assert "ManagedBy" in escalation.reason


def test_dry_run_decides_and_announces_every_step_but_calls_nothing() -> None:
    world = World(policy=policy(dry_run=True))
    desk = failing_desk(world)
    alarm(world)
    for _ in range(2):
        world.advance(15)
        world.metrics.fail(desk, 3, world.now - dt.timedelta(minutes=1))
        run_timers(world)
    assert world.fleet.actions == []
    steps = [(e.step.action, e.step.outcome) for e in world.events.of("Remediation Step")]
    assert steps == [("reboot", "dry_run"), ("rebuild", "dry_run")]
    assert len(world.events.of("Incident Escalated")) == 1
    assert world.incidents.actions(desk).reboots == []  # a dry run does not use up the caps


# --- repeats, duplicates, crashes ------------------------------------------------------------------------
def test_a_repeated_alarm_opens_no_second_incident_and_acts_no_second_time() -> None:
    world = World()
    desk = failing_desk(world)
    alarm(world)
    world.advance(3)
    world.metrics.fail(desk, 4, world.now - dt.timedelta(minutes=1))
    outcome = alarm(world)
    assert outcome.counts.get("repeated") == 1
    assert len(world.incidents.items) == 1
    assert world.fleet.actions == [("reboot", desk)]
    assert detail_types(world) == ["Incident Opened", "Remediation Step"]
    assert world.incidents.only().timeline[-1].kind == "repeated"


def test_a_late_timer_of_an_older_step_is_ignored() -> None:
    world = World()
    failing_desk(world)
    alarm(world)
    incident = world.incidents.only()
    outcome = remediation.handle(
        Recheck(incident_id=incident.incident_id, timer_name=f"recheck-{incident.incident_id}-0"),
        world.ports,
        world.ctx,
    )
    assert outcome.counts == {"stale_timer": 1}


def test_events_that_failed_to_publish_are_published_by_the_next_trigger() -> None:
    world = World()
    desk = failing_desk(world)
    world.events.fail_next = 1
    with pytest.raises(TransientAwsError):
        alarm(world)
    incident = world.incidents.only()
    assert incident.outbox
    assert world.events.events == []
    alarm(world)  # the retry
    assert detail_types(world)[0] == "Incident Opened"
    assert world.fleet.actions == [("reboot", desk)]
    assert len(world.events.of("Incident Opened")) == 1


def test_a_crash_right_after_the_reboot_never_reboots_twice_and_still_sets_the_recheck() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.crash_after_next_action = True
    with pytest.raises(TimeoutError):
        alarm(world)
    assert world.timers.pending == {}
    alarm(world)  # Lambda's retry of the same alarm event
    assert world.fleet.actions == [("reboot", desk)]
    incident = world.incidents.only()
    assert list(world.timers.pending) == [f"recheck-{incident.incident_id}-1"]
    assert [(e.step.action, e.step.outcome) for e in world.events.of("Remediation Step")] == [("reboot", "requested")]


# --- systemic outage -------------------------------------------------------------------------------------
def test_thirty_of_a_hundred_desks_failing_is_one_directory_incident_and_no_reboot() -> None:
    world = World()
    for n in range(1, 101):
        world.managed_desk(n)
    for n in range(1, 31):
        world.metrics.fail(f"ws-{n:09d}", 4, world.now - dt.timedelta(minutes=1))
    outcome = alarm(world)
    assert outcome.counts["opened_systemic"] == 1
    assert world.fleet.actions == []
    (opened,) = world.events.of("Incident Opened")
    assert (opened.scope, opened.failing_desks, opened.desks_in_directory) == ("directory", 30, 100)
    assert len(world.incidents.only().failing_ids) == 30


def test_the_outage_pages_once_however_often_the_alarm_repeats() -> None:
    world = World()
    for n in range(1, 101):
        world.managed_desk(n)
    for n in range(1, 31):
        world.metrics.fail(f"ws-{n:09d}", 4, world.now - dt.timedelta(minutes=1))
    alarm(world)
    world.advance(5)
    alarm(world)
    assert len(world.events.of("Incident Opened")) == 1
    assert world.incidents.only().timeline[-1].kind == "alarm_repeated"


def test_during_an_outage_even_a_few_failing_desks_are_not_remediated() -> None:
    world = World()
    for n in range(1, 101):
        world.managed_desk(n)
    for n in range(1, 31):
        world.metrics.fail(f"ws-{n:09d}", 4, world.now - dt.timedelta(minutes=1))
    alarm(world)
    world.advance(20)
    world.metrics.fail("ws-000000050", 9, world.now - dt.timedelta(minutes=1))
    alarm(world)  # now 1 % failing: not systemic by itself, but the outage is not over
    assert world.fleet.actions == []


def test_a_sick_desk_during_an_outage_is_held() -> None:
    world = World()
    for n in range(1, 101):
        world.managed_desk(n)
    for n in range(1, 31):
        world.metrics.fail(f"ws-{n:09d}", 4, world.now - dt.timedelta(minutes=1))
    alarm(world)
    world.fleet.desks["ws-000000060"].state = "UNHEALTHY"
    remediation.handle(SickDesk("ws-000000060", DIRECTORY, "UNHEALTHY", "e-0060"), world.ports, world.ctx)
    assert world.fleet.actions == []
    assert world.incidents.only().timeline[-1].kind == "desk_sick"


def test_below_min_desks_a_high_percentage_is_not_systemic() -> None:
    world = World()
    for n in range(1, 5):
        world.managed_desk(n)
    for n in range(1, 5):
        world.metrics.fail(f"ws-{n:09d}", 4, world.now - dt.timedelta(minutes=1))
    alarm(world)
    assert len(world.fleet.actions) == 4
    assert all(i.scope == "desk" for i in world.incidents.items.values())


def test_the_alarm_back_to_ok_resolves_the_outage() -> None:
    world = World()
    for n in range(1, 101):
        world.managed_desk(n)
    for n in range(1, 31):
        world.metrics.fail(f"ws-{n:09d}", 4, world.now - dt.timedelta(minutes=1))
    alarm(world)
    world.advance(10)
    assert alarm(world, state="OK").counts == {"clearing": 1}
    assert world.incidents.only().is_open  # confirmed after recheck_minutes of quiet
    world.advance(15)
    run_timers(world)
    incident = world.incidents.only()
    assert incident.resolved_by == "alarm_ok"
    (resolved,) = world.events.of("Incident Resolved")
    assert resolved.scope == "directory"


def test_a_flapping_alarm_keeps_one_outage_and_one_page() -> None:
    world = World()
    for n in range(1, 101):
        world.managed_desk(n)
    for n in range(1, 31):
        world.metrics.fail(f"ws-{n:09d}", 4, world.now - dt.timedelta(minutes=1))
    alarm(world)
    world.advance(3)
    alarm(world, state="OK")
    world.advance(2)
    for n in range(1, 31):
        world.metrics.fail(f"ws-{n:09d}", 2, world.now - dt.timedelta(minutes=1))
    alarm(world)  # fires again before the outage cleared
    world.advance(15)
    run_timers(world)
    assert len(world.events.of("Incident Opened")) == 1
    assert world.events.of("Incident Resolved") == []
    assert world.incidents.only().is_open
    assert world.timers.cancelled == [f"recheck-{world.incidents.only().incident_id}-1"]
    assert world.fleet.actions == []


def test_the_alarm_back_to_ok_resolves_connection_incidents_not_waiting_for_their_recheck() -> None:
    world = World(policy=policy(rebuild=False))
    escalated = failing_desk(world, n=1)  # reboot, still failing, nothing left: escalated
    rebooted = world.managed_desk(2)
    sick = world.managed_desk(3, state="UNHEALTHY")
    alarm(world)
    world.advance(15)
    world.fleet.settle()
    world.metrics.fail(escalated, 4, world.now - dt.timedelta(minutes=1))
    run_timers(world)
    world.metrics.fail(rebooted, 4, world.now - dt.timedelta(minutes=1))
    alarm(world)  # reboots `rebooted`: its re-check is pending
    remediation.handle(SickDesk(sick, DIRECTORY, "UNHEALTHY"), world.ports, world.ctx)
    world.advance(5)

    outcome = alarm(world, state="OK")

    by_desk = {i.workspace_id: i for i in world.incidents.items.values()}
    assert outcome.counts == {"clearing": 1, "left_to_recheck": 1}
    assert by_desk[rebooted].timeline[-1].kind == "alarm_ok"
    world.advance(15)
    world.fleet.settle()
    run_timers(world)  # the escalated one: quiet since OK; the rebooted one: no new failure since the reboot
    by_desk = {i.workspace_id: i for i in world.incidents.items.values()}
    assert by_desk[escalated].resolved_by == "alarm_ok"
    assert by_desk[rebooted].resolved_by == "recheck"
    assert by_desk[sick].resolved_by == "recheck"  # healthy after its reboot; the alarm had no say


# --- sick desks ------------------------------------------------------------------------------------------
def test_a_desk_gone_unhealthy_opens_an_incident_and_is_rebooted() -> None:
    world = World()
    desk = world.managed_desk(1, state="UNHEALTHY")
    remediation.handle(SickDesk(desk, DIRECTORY, "UNHEALTHY", "e-0001"), world.ports, world.ctx)
    incident = world.incidents.only()
    assert incident.cause == "unhealthy"
    assert world.fleet.actions == [("reboot", desk)]


def test_a_desk_healthy_again_by_the_time_we_look_opens_nothing() -> None:
    world = World()
    desk = world.managed_desk(1)
    outcome = remediation.handle(SickDesk(desk, DIRECTORY, "ERROR"), world.ports, world.ctx)
    assert outcome.counts == {"recovered": 1}
    assert world.incidents.items == {}


def test_an_unhealthy_desk_that_stays_unhealthy_after_the_reboot_is_rebuilt() -> None:
    world = World()
    desk = world.managed_desk(1, state="UNHEALTHY")
    remediation.handle(SickDesk(desk, DIRECTORY, "UNHEALTHY"), world.ports, world.ctx)
    world.advance(15)
    world.fleet.settle("UNHEALTHY")
    run_timers(world)
    assert world.fleet.actions == [("reboot", desk), ("rebuild", desk)]


def test_a_desk_in_error_skips_the_reboot_it_cannot_take_and_is_rebuilt() -> None:
    world = World()
    desk = world.managed_desk(1, state="ERROR")
    remediation.handle(SickDesk(desk, DIRECTORY, "ERROR"), world.ports, world.ctx)
    assert world.fleet.actions == [("rebuild", desk)]
    assert world.incidents.only().cause == "error"


def test_a_stopped_desk_is_never_rebuilt_and_escalates_if_it_keeps_failing_stopped() -> None:
    world = World()
    desk = world.managed_desk(1, state="STOPPED")
    world.metrics.fail(desk, 6, world.now - dt.timedelta(minutes=1))
    alarm(world)
    (hold,) = world.events.of("Remediation Step")
    assert "STOPPED" in hold.step.reason
    world.advance(15)
    world.metrics.fail(desk, 3, world.now - dt.timedelta(minutes=1))
    run_timers(world)
    assert world.fleet.actions == []
    (escalation,) = world.events.of("Incident Escalated")
    assert "stays STOPPED" in escalation.reason


# --- one alarm, many failing desks: batched calls, one publish ------------------------------------------
def failing_desks(world: World, failing: int, desks: int = 200) -> list[str]:
    """`failing` of `desks` managed desks with 6 connection failures (under the systemic threshold of 20 %)."""
    ids = [world.managed_desk(n) for n in range(1, desks + 1)]
    for desk in ids[:failing]:
        world.metrics.fail(desk, 6, world.now - dt.timedelta(minutes=2))
    return ids[:failing]


def test_thirty_failing_desks_are_rebooted_in_two_calls_and_announced_in_one_publish() -> None:
    world = World()
    desks = failing_desks(world, 30)

    outcome = alarm(world)

    assert outcome.counts["reboot"] == 30
    assert world.fleet.calls == [("reboot", desks)]
    assert world.fleet.api_calls("reboot") == 2  # RebootWorkspaces takes 25 desks a call
    assert world.events.publishes == 1
    assert detail_types(world) == ["Incident Opened", "Remediation Step"] * 30
    assert {e.workspace_id for e in world.events.events} == set(desks)
    incidents = list(world.incidents.items.values())
    assert len(incidents) == 30
    assert all([(s.action, s.outcome) for s in i.steps] == [("reboot", "requested")] for i in incidents)
    assert all(i.outbox == [] for i in incidents)
    assert sorted(world.timers.pending) == sorted(f"recheck-{i.incident_id}-1" for i in incidents)
    assert all(world.incidents.actions(desk).reboots == [world.now] for desk in desks)


def test_desks_at_different_steps_get_one_call_per_action() -> None:
    world = World()
    rebooted_twice, first, second = failing_desks(world, 3)
    world.incidents.history[rebooted_twice] = DeskActions(
        workspace_id=rebooted_twice, reboots=[world.now - dt.timedelta(hours=2)] * 2, version=1
    )

    alarm(world)

    assert world.fleet.calls == [("reboot", [first, second]), ("rebuild", [rebooted_twice])]
    assert world.events.publishes == 1


def test_a_desk_refused_in_the_batch_moves_on_to_its_rebuild_while_the_others_wait_for_their_recheck() -> None:
    world = World()
    first, refused, third = failing_desks(world, 3)
    world.fleet.refuse[("reboot", refused)] = ActionFailure("InvalidResourceState.Workspace")

    outcome = alarm(world)

    assert world.fleet.calls == [("reboot", [first, refused, third]), ("rebuild", [refused])]
    assert (outcome.counts["reboot"], outcome.counts["reboot_refused"], outcome.counts["rebuild"]) == (2, 1, 1)
    by_desk = {i.workspace_id: i for i in world.incidents.items.values()}
    assert [(s.action, s.outcome) for s in by_desk[refused].steps] == [("reboot", "failed"), ("rebuild", "requested")]
    assert [(s.action, s.outcome) for s in by_desk[first].steps] == [("reboot", "requested")]
    steps_of_refused = [
        (e.step.action, e.step.outcome) for e in world.events.of("Remediation Step") if e.workspace_id == refused
    ]
    assert steps_of_refused == [("reboot", "failed"), ("rebuild", "requested")]
    assert len(world.events.of("Incident Opened")) == 3
    assert world.events.publishes == 1
    timers = {desk: f"recheck-{by_desk[desk].incident_id}" for desk in (first, refused, third)}
    assert sorted(world.timers.pending) == sorted([f"{timers[first]}-1", f"{timers[refused]}-2", f"{timers[third]}-1"])


def test_a_connected_users_desk_is_left_out_of_the_batch() -> None:
    world = World()
    first, connected, third = failing_desks(world, 3)
    world.fleet.connected.add(connected)

    alarm(world)

    assert world.fleet.calls == [("reboot", [first, third])]
    (hold,) = [e for e in world.events.of("Remediation Step") if e.workspace_id == connected]
    assert (hold.step.action, hold.step.outcome) == ("none", "skipped")
    assert "connected" in hold.step.reason
    assert world.events.publishes == 1


def test_a_repeated_alarm_for_many_desks_calls_and_publishes_nothing() -> None:
    world = World()
    failing_desks(world, 30)
    alarm(world)
    world.advance(3)

    outcome = alarm(world)

    assert outcome.counts["repeated"] == 30
    assert len(world.fleet.calls) == 1
    assert world.events.publishes == 1


def test_a_crash_after_the_batched_reboot_reboots_no_desk_twice_and_loses_no_event() -> None:
    world = World()
    desks = failing_desks(world, 30)
    world.fleet.crash_after_next_action = True
    with pytest.raises(TimeoutError):
        alarm(world)
    assert all(i.outbox for i in world.incidents.items.values())  # the intents are stored, with their events

    alarm(world)  # Lambda's retry of the same alarm event

    assert world.fleet.calls == [("reboot", desks)]
    assert world.events.publishes == 1
    assert detail_types(world) == ["Incident Opened", "Remediation Step"] * 30
    assert len(world.timers.pending) == 30


def test_a_failed_publish_announces_every_desk_at_the_next_trigger_without_acting_again() -> None:
    world = World()
    desks = failing_desks(world, 12)
    world.events.fail_next = 1
    with pytest.raises(TransientAwsError):
        alarm(world)
    assert world.events.events == []
    assert all(i.outbox for i in world.incidents.items.values())

    alarm(world)

    assert world.fleet.calls == [("reboot", desks)]
    assert len(world.events.of("Incident Opened")) == 12
    assert len(world.events.of("Remediation Step")) == 12
    assert world.events.publishes == 2  # the failed one, then one for all
    assert all(i.outbox == [] for i in world.incidents.items.values())


def test_an_incident_another_writer_changed_during_the_batch_is_still_flushed() -> None:
    world = World()
    first, contended, third = failing_desks(world, 3)

    def concurrent_note() -> None:
        incident = next(i for i in world.incidents.items.values() if i.workspace_id == contended)
        world.incidents.save(incident.noted(world.now, "note", "someone else wrote"))

    world.fleet.meanwhile = concurrent_note

    alarm(world)

    assert world.fleet.calls == [("reboot", [first, contended, third])]
    by_desk = {i.workspace_id: i for i in world.incidents.items.values()}
    assert all(i.outbox == [] for i in by_desk.values())
    assert any(e.kind == "note" for e in by_desk[contended].timeline)  # the other writer's change is kept
    assert sorted(world.timers.pending) == sorted(f"recheck-{i.incident_id}-1" for i in by_desk.values())
    # Read again and flushed on its own (a second publish): its events may go out twice, never zero times.
    assert world.events.publishes == 2
    assert {e.workspace_id for e in world.events.of("Incident Opened")} == {first, contended, third}
    assert {e.workspace_id for e in world.events.of("Remediation Step")} == {first, contended, third}


def test_a_refusal_lost_to_another_writer_leaves_the_desk_to_its_recheck() -> None:
    world = World()
    first, refused = failing_desks(world, 2)
    world.fleet.refuse[("reboot", refused)] = ActionFailure("InvalidResourceState.Workspace")

    def concurrent_note() -> None:
        incident = next(i for i in world.incidents.items.values() if i.workspace_id == refused)
        world.incidents.save(incident.noted(world.now, "note", "someone else wrote"))

    world.fleet.meanwhile = concurrent_note

    alarm(world)

    assert world.fleet.calls == [("reboot", [first, refused])]  # no rebuild on a refusal it could not record
    incident = next(i for i in world.incidents.items.values() if i.workspace_id == refused)
    assert [(s.action, s.outcome) for s in incident.steps] == [("reboot", "requested")]
    assert incident.outbox == []
    assert f"recheck-{incident.incident_id}-1" in world.timers.pending  # the re-check finds it failing: rebuild


# --- a WorkSpaces call that fails as a whole (throttled past the SDK's retries) --------------------------
def test_a_reboot_call_that_fails_as_a_whole_is_undone_and_made_by_the_retry() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.throttle["reboot"] = 1

    with pytest.raises(FakeThrottled):
        alarm(world)

    incident = world.incidents.only()
    assert incident.steps == []  # not "requested": nothing was rebooted
    assert (incident.waiting, incident.rechecks, incident.next_check_at) == ("nothing", 0, None)
    assert world.incidents.actions(desk).reboots == []  # the cap is not used
    assert world.fleet.actions == []
    assert world.timers.pending == {}
    assert detail_types(world) == ["Incident Opened"]  # nothing of the undone step

    alarm(world)  # Lambda's retry of the same alarm event

    assert world.fleet.actions == [("reboot", desk)]
    incident = world.incidents.only()
    assert [(s.action, s.outcome) for s in incident.steps] == [("reboot", "requested")]
    assert world.incidents.actions(desk).reboots == [world.now]
    assert list(world.timers.pending) == [f"recheck-{incident.incident_id}-1"]
    assert detail_types(world) == ["Incident Opened", "Remediation Step"]


def test_a_rebuild_call_that_fails_at_the_recheck_is_undone_and_made_when_the_timer_is_retried() -> None:
    world = World()
    desk = failing_desk(world)
    alarm(world)
    world.advance(5)
    world.fleet.settle()
    world.metrics.fail(desk, 4, world.now)
    world.advance(10)
    (timer,) = world.timers.due(world.now)
    found = world.incidents.only()
    world.fleet.throttle["rebuild"] = 1
    recheck = Recheck(incident_id=found.incident_id, timer_name=timer.name)

    with pytest.raises(FakeThrottled):
        remediation.handle(recheck, world.ports, world.ctx)

    incident = world.incidents.only()
    assert incident.model_copy(update={"version": found.version}) == found  # as the timer found it
    assert incident.current_timer == timer.name
    assert incident.waiting == "recheck"
    assert world.incidents.actions(desk).rebuilds == []
    assert world.fleet.actions == [("reboot", desk)]
    assert [e.step.action for e in world.events.of("Remediation Step")] == ["reboot"]

    outcome = remediation.handle(recheck, world.ports, world.ctx)  # Lambda's retry of the timer's invocation

    assert outcome.counts.get("rebuild") == 1
    assert world.fleet.actions == [("reboot", desk), ("rebuild", desk)]
    assert [(s.action, s.outcome) for s in world.incidents.only().steps] == [
        ("reboot", "requested"),
        ("rebuild", "requested"),
    ]
    assert world.incidents.actions(desk).rebuilds == [world.now]


def test_a_failed_call_undoes_only_its_own_desks_and_the_others_are_flushed_before_the_error() -> None:
    world = World()
    rebooted_twice, first, second = failing_desks(world, 3)
    world.incidents.history[rebooted_twice] = DeskActions(
        workspace_id=rebooted_twice, reboots=[world.now - dt.timedelta(hours=2)] * 2, version=1
    )
    world.fleet.throttle["reboot"] = 1

    with pytest.raises(FakeThrottled):
        alarm(world)

    assert world.fleet.calls == [("rebuild", [rebooted_twice])]
    by_desk = {i.workspace_id: i for i in world.incidents.items.values()}
    assert [s.action for s in by_desk[rebooted_twice].steps] == ["rebuild"]
    assert by_desk[first].steps == []
    assert by_desk[second].steps == []
    assert all(i.outbox == [] for i in by_desk.values())
    assert list(world.timers.pending) == [f"recheck-{by_desk[rebooted_twice].incident_id}-1"]
    assert world.incidents.actions(first).reboots == []

    alarm(world)  # the retry reboots the two, and rebuilds nothing again

    assert world.fleet.calls == [("rebuild", [rebooted_twice]), ("reboot", [first, second])]
    assert len(world.events.of("Remediation Step")) == 3


def test_an_undo_lost_to_another_writer_leaves_the_incident_as_stored_and_still_fails() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.throttle["reboot"] = 1

    def concurrent_note() -> None:
        incident = world.incidents.only()
        world.incidents.save(incident.noted(world.now, "note", "someone else wrote"))

    world.fleet.meanwhile = concurrent_note

    with pytest.raises(FakeThrottled):
        alarm(world)

    incident = world.incidents.only()
    assert [(s.action, s.outcome) for s in incident.steps] == [("reboot", "requested")]
    assert any(e.kind == "note" for e in incident.timeline)
    assert world.incidents.actions(desk).reboots == [world.now]


# --- a WorkSpaces call AWS refuses as a whole, for good (AwsRefused: AccessDenied, validation) -----------------
def test_a_reboot_refused_by_iam_is_reported_once_with_what_to_fix_and_the_runbook_moves_on() -> None:
    world = World()
    desk = failing_desk(world)
    world.fleet.deny["reboot"] = "AccessDeniedException"
    world.fleet.deny["rebuild"] = "AccessDeniedException"

    outcome = alarm(world)  # no error: the invocation is not retried into the dead letter

    incident = world.incidents.only()
    assert [(s.action, s.outcome) for s in incident.steps] == [("reboot", "failed"), ("rebuild", "failed")]
    failed = [e for e in world.events.of("Remediation Step") if e.step.outcome == "failed"]
    assert failed[0].step.reason.startswith("AccessDeniedException: the function's role lacks workspaces:Reboot")
    assert len(world.events.of("Incident Escalated")) == 1  # nothing left to try: one page
    assert outcome.counts.get("reboot_refused") == outcome.counts.get("rebuild_refused") == 1
    assert world.incidents.actions(desk).reboots == [world.now]  # it counted: the retry would not reboot again
    assert world.timers.pending == {}


def test_a_throttled_reboot_is_still_undone_and_raised_for_the_retry() -> None:
    world = World()
    failing_desk(world)
    world.fleet.throttle["reboot"] = 1

    with pytest.raises(FakeThrottled):
        alarm(world)

    assert world.events.of("Incident Escalated") == []
