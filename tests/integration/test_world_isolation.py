"""Two worlds built in a row in one process share nothing they can change (issue 17: every test owns its world).
The SAM-expanded template is computed once per process (localcloud.world_types.expanded_template) and each world
gets its own copy; backends, the emulator, the record and the functions' cached clients start empty each time."""

from __future__ import annotations

import datetime as dt

import aws_xray_sdk.core  # noqa: F401  # its recorder opens a UDP socket at import: do it before sockets are blocked

from localcloud.world import LocalCloud, expanded_template

START = "2026-12-01T05:00:00Z"


def test_a_world_that_changes_its_template_leaves_the_next_world_the_template_as_written() -> None:
    with LocalCloud(start=START) as first:
        first.resolver.template["Parameters"]["Stage"]["Default"] = "changed"
        first.resolver.template["Resources"].clear()
    as_written = expanded_template()
    assert as_written["Resources"]
    assert as_written["Parameters"]["Stage"]["Default"] != "changed"
    with LocalCloud(start=START) as second:
        assert second.resolver.template == as_written
        assert second.functions  # built from the template's resources


def test_a_second_world_starts_empty_after_a_busy_first() -> None:
    with LocalCloud(start=START) as first:
        first.seed_desks(["agent1", "agent2"], site="amiens-cc", profile="agent")
        first.advance(dt.timedelta(minutes=6))
        assert len(first.workspaces()) == 2
        assert first.invocations
        first_emulator = first.emulator
    with LocalCloud(start=START) as second:
        assert second.emulator is not first_emulator
        assert second.workspaces() == []
        assert second.invocations == []
        assert second.dead_letters() == []
        second.advance(dt.timedelta(minutes=6))
        # The sweep of the second world sees no desk of the first (moto's backends and the functions' clients
        # were reset when the first closed).
        sweeps = [i.result for i in second.invocations if i.function == "FleetWatchFunction" and i.ok]
        assert sweeps
        assert all(sweep["adopted_count"] == 0 for sweep in sweeps)
        assert second.workspaces() == []
