"""A fleet of N desks: the 5-minute sweep with 1% of the desks changed, then a wave of hires into that fleet.

Setup (not measured): N desks seeded AVAILABLE in the emulator, half call-centre agents (amiens-cc), half office
staff (paris-hq), tagged as managed; a first sweep adopts them (and warms the container, as a function invoked
every 5 minutes is). Its DynamoDB PutItem calls go straight into moto's tables (bench.world.direct_puts): the
same items, the same conditions, without the request layers that would make a 50,000-desk setup take minutes.
Then one desk in a hundred is stopped, the clock moves to the schedule's next tick (5 minutes), and the second sweep
is measured. Last, a wave of hires is onboarded into the same account, to show that a hire costs the same whatever
the size of the fleet already there (growth)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench import onboarding
from bench.figures import Figure, calls_floor, figure
from bench.probe import Probe
from bench.world import AGENT_SITE, OFFICE_SITE, bench_world, direct_puts, large_instants, scheduled_event

FLEET_WATCH = "FleetWatchFunction"
DESCRIBE_PER_CALL = 25
STATUS_PER_CALL = 25
BATCH_GET_KEYS = 100
ENTRIES_PER_PUT_EVENTS = 10
CHANGED_EVERY = 100  # 1% of the desks change between two sweeps
SWEEP_PERIOD = dt.timedelta(minutes=5)  # the template's rate(5 minutes)
READS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:TransactGetItems")
WRITES = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
)


class SweepMismatch(RuntimeError):
    """The sweep did not see what was changed: its figures would describe something else."""


def sweep_figures(probe: Probe, desks: int, changed: int) -> dict[str, Figure]:
    total = probe.total(FLEET_WATCH)
    return {
        "describe_workspaces_calls": figure(
            total.count("workspaces:DescribeWorkspaces"),
            floor=calls_floor(desks, DESCRIBE_PER_CALL),
            target=onboarding.CALL_TARGET,
            unit="calls",
        ),
        "connection_status_calls": figure(
            total.count("workspaces:DescribeWorkspacesConnectionStatus"),
            floor=calls_floor(desks, STATUS_PER_CALL),
            target=onboarding.CALL_TARGET,
            unit="calls",
        ),
        "dynamodb_reads": figure(
            total.count(*READS),
            floor=calls_floor(desks, BATCH_GET_KEYS),
            target=onboarding.CALL_TARGET,
            unit="requests",
            note=f"floor: the desks' last observations, {BATCH_GET_KEYS} keys a BatchGetItem",
        ),
        "dynamodb_writes": figure(
            total.count(*WRITES),
            floor=changed,
            target=onboarding.CALL_TARGET,
            unit="requests",
            note="floor: one write per changed desk",
        ),
        "put_events_calls": figure(
            total.count("events:PutEvents"),
            floor=calls_floor(changed, ENTRIES_PER_PUT_EVENTS),
            target=onboarding.CALL_TARGET,
            unit="calls",
        ),
        "handler_cpu_ms_per_1000_desks": figure(
            total.cpu_s * 1000 * 1000 / desks,
            unit="ms/1000 desks",
            note="fleet_watch CPU, moto and the emulator excluded; informational",
        ),
    }


def run(desks: int, wave: int) -> dict[str, Any]:
    """Sweep figures for `desks`, and the onboarding figures of `wave` hires into that fleet."""
    probe = Probe()
    with large_instants(), bench_world(probe, onboarding.MONDAY) as cloud:
        half = desks // 2
        cloud.seed_desks([f"fleet{i:06d}" for i in range(half)], site=AGENT_SITE, profile="agent")
        cloud.seed_desks([f"office{i:06d}" for i in range(desks - half)], site=OFFICE_SITE, profile="office")
        with direct_puts() as written:
            first = cloud.invoke(FLEET_WATCH, scheduled_event("fleet_watch", cloud.now()))
        if not first.ok:
            raise SweepMismatch(f"the adopting sweep failed: {first.error}")
        adoption = onboarding.details({FLEET_WATCH: probe.total(FLEET_WATCH)})[FLEET_WATCH]
        adoption["items_put_directly"] = dict(written)

        # The next tick of the 5-minute schedule: an ordinary sweep (the first of each hour also counts the desks
        # by profile, one Query per lifecycle state; docs/performance.md gives that hourly cost on its own).
        cloud.advance(SWEEP_PERIOD)
        ids = sorted(desk["workspace_id"] for desk in cloud.workspaces())
        stopped = ids[::CHANGED_EVERY]
        for workspace_id in stopped:
            cloud.emulator.set_state(workspace_id, "STOPPED")
        probe.reset()
        second = cloud.invoke(FLEET_WATCH, scheduled_event("fleet_watch", cloud.now()))
        result = second.result if second.ok else {}
        if not second.ok or result.get("changed_count") != len(stopped) or result.get("desks") != desks:
            raise SweepMismatch(f"the measured sweep saw {result} for {len(stopped)} changes ({second.error})")
        sweep = sweep_figures(probe, desks, len(stopped))
        sweep_details = onboarding.details({FLEET_WATCH: probe.total(FLEET_WATCH)})[FLEET_WATCH]

        probe.reset()
        emails = len(cloud.emails())
        onboarding.onboard(cloud, wave, prefix="W")
        onboarding.check_ready(cloud, probe, wave, emails_before=emails)
        hires = onboarding.wave_figures(probe, wave, bare_ms=None)
        wave_details = onboarding.details({name: probe.total(name) for name in (onboarding.HR, onboarding.PROVISION)})
    return {
        "figures": {"sweep": sweep, "wave": hires},
        "details": {
            "desks": desks,
            "changed": len(stopped),
            "wave": wave,
            "adopting_sweep": adoption,
            "sweep": sweep_details,
            "wave_functions": wave_details,
        },
    }
