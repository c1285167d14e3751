"""Adoption of an existing fleet: who is adopted, under which employee and profile, and what is only reported."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.kernel.desks import Desk, Lifecycle
from tests.unit.fakes_fleet import NOW, FakeDesk, FakeFleet, World, desk_record, policy

pytestmark = pytest.mark.usefixtures("socket_disabled")

MANAGED = {"ManagedBy": "workspaces-autopilot"}


def _world(*desks: FakeDesk, hires: tuple[Desk, ...] = ()) -> World:
    world = World(fleet=FakeFleet(desks))
    world.desks.records.update({hire.employee_id: hire for hire in hires})
    return world


def _hire(employee_id: str, username: str) -> Desk:
    """A hire (roster row or Employee Hired) not provisioned yet: SCHEDULED, no WorkSpace."""
    return desk_record(employee_id, None, lifecycle=Lifecycle.SCHEDULED, username=username, origin="hired")


def test_a_fleet_of_300_managed_desks_is_adopted_in_one_sweep() -> None:
    desks = [FakeDesk(f"ws-{n:08d}", username=f"agent{n:04d}", tags=dict(MANAGED)) for n in range(300)]
    world = _world(*desks)
    report = world.sweep()
    assert len(report.adopted) == 300
    assert len(world.desks.records) == 300
    record = world.desks.records["ws-00000007"]  # no employee id anywhere: the synthetic one
    assert (record.origin, record.lifecycle, record.workspace_id) == ("adopted", Lifecycle.READY, "ws-00000007")
    # The next sweep knows them all: no desk-record reads, nothing adopted twice.
    again = world.sweep(NOW + dt.timedelta(minutes=5))
    assert again.adopted == []
    assert world.desks.calls == {}


def test_tags_name_the_employee_and_the_profile() -> None:
    desk = FakeDesk(
        "ws-tagged001", username="jdoe", tags={**MANAGED, "AutopilotEmployeeId": "E1001", "AutopilotProfile": "datasci"}
    )
    world = _world(desk)
    world.sweep()
    record = world.desks.records["E1001"]
    assert (record.profile, record.workspace_id, record.username) == ("datasci", "ws-tagged001", "jdoe")
    assert world.observations.items["ws-tagged001"].employee_id == "E1001"


def test_a_managed_desk_whose_user_a_hire_awaits_is_linked_to_the_hire_not_adopted_twice() -> None:
    # Roster first: the hire's record exists (SCHEDULED, no WorkSpace) when the sweep sees the user's desk.
    hire = _hire("E2001", "Agent042")
    world = _world(FakeDesk("ws-roster001", username="agent042", tags=dict(MANAGED)), hires=(hire,))
    report = world.sweep()
    assert (report.adopted, report.linked) == ([], ["ws-roster001"])
    assert world.desks.records == {"E2001": hire}  # provisioning completes the hire's record
    assert world.observations.items["ws-roster001"].employee_id == "E2001"


def test_adoption_keeps_the_desk_as_it_is() -> None:
    desk = FakeDesk("ws-keepit001", running_mode="AUTO_STOP", autostop_minutes=180, compute="POWER", tags=dict(MANAGED))
    world = _world(desk)
    world.sweep()
    record = world.desks.records["ws-keepit001"]
    assert (record.running_mode, record.autostop_hours, record.compute) == ("AUTO_STOP", 3, "POWER")
    assert world.fleet.calls["ModifyWorkspaceProperties"] == 0


def test_a_desk_neither_tagged_nor_awaited_by_a_hire_is_reported_not_adopted() -> None:
    world = _world(FakeDesk("ws-stranger1", username="contractor"))
    report = world.sweep()
    assert report.unmanaged == ["ws-stranger1"]
    assert world.desks.records == {}
    # Looked at again only a day later.
    assert world.sweep(NOW + dt.timedelta(hours=1)).unmanaged == []
    assert world.sweep(NOW + dt.timedelta(days=1, minutes=5)).unmanaged == ["ws-stranger1"]


def test_a_desk_whose_employee_has_a_record_from_a_crash_gets_no_second_record() -> None:
    # Provisioning crashed after CreateWorkspaces: the record is still SCHEDULED, without a workspace id.
    scheduled = desk_record("E3001", None, lifecycle=Lifecycle.SCHEDULED)
    world = _world(FakeDesk("ws-crashed01", tags={**MANAGED, "AutopilotEmployeeId": "E3001"}))
    world.desks.records["E3001"] = scheduled
    report = world.sweep()
    assert report.linked == ["ws-crashed01"]
    assert report.adopted == []
    assert world.desks.records == {"E3001": scheduled}
    assert world.observations.items["ws-crashed01"].employee_id == "E3001"


def test_a_second_desk_of_an_employee_is_reported_as_a_duplicate() -> None:
    world = _world(FakeDesk("ws-second001", tags={**MANAGED, "AutopilotEmployeeId": "E4001"}))
    world.desks.records["E4001"] = desk_record("E4001", "ws-first0001")
    report = world.sweep()
    assert report.duplicates == ["ws-second001"]
    assert world.desks.records["E4001"].workspace_id == "ws-first0001"


def test_a_desk_the_automation_recorded_is_linked_by_workspace_id() -> None:
    world = _world(FakeDesk("ws-ours00001"))
    world.desks.records["E5001"] = desk_record("E5001", "ws-ours00001")
    report = world.sweep()
    assert report.adopted == []
    assert report.unmanaged == []
    assert world.observations.items["ws-ours00001"].adoption == "managed"


def test_a_pending_desk_is_not_adopted_yet() -> None:
    world = _world(FakeDesk("ws-pending01", state="PENDING", tags=dict(MANAGED)))
    report = world.sweep()
    assert report.adopted == []
    assert report.deferred == 1
    world.fleet.desks["ws-pending01"].state = "AVAILABLE"
    assert world.sweep(NOW + dt.timedelta(minutes=5)).adopted == ["ws-pending01"]


def test_two_hires_awaiting_one_user_name_are_not_guessed() -> None:
    hires = (_hire("E6001", "jsmith"), _hire("E6002", "JSmith"))
    world = _world(FakeDesk("ws-ambiguous", username="jsmith"), hires=hires)
    report = world.sweep()
    assert report.unmanaged == ["ws-ambiguous"]


def test_an_untagged_desk_a_hire_awaits_is_linked_for_provisioning_to_take_over() -> None:
    world = _world(FakeDesk("ws-byhand001", username="ana"), hires=(_hire("E6003", "ana"),))
    report = world.sweep()
    assert (report.linked, report.unmanaged) == (["ws-byhand001"], [])


def test_dry_run_records_adoptions_they_change_no_desk() -> None:
    world = _world(FakeDesk("ws-dryrun001", tags=dict(MANAGED)))
    report = world.sweep(rules=policy(dry_run=True))
    assert report.adopted == ["ws-dryrun001"]
    assert report.dry_run
    assert world.desks.records["ws-dryrun001"].origin == "adopted"
    assert world.fleet.calls["ModifyWorkspaceProperties"] == 0
