"""Onboarding a wave of hires, then the first pre-warmed shift of the call-centre agents among them.

The hires: N `Employee Hired` events (half call-centre agents on a Monday-Friday 08:00 Paris shift at amiens-cc,
half office staff at paris-hq) for a Tuesday start, so provisioning is due at once (the lead time has passed), put
on the HR bus from Monday 05:00 UTC in waves of 100 an hour apart: hr_events records each desk and queues it,
provision takes batches of 25, creates the desks, follows them to AVAILABLE and sends the welcome e-mails. Every
desk must end READY (a welcome e-mail each) and no invocation may fail, or the figures are refused.

Pre-warm: on Tuesday the agents' desks are STOPPED; at 06:41 UTC (the window opens 20 minutes before the 07:00
UTC shift) one prewarm tick starts them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bench.figures import Figure, calls_floor, figure
from bench.probe import Probe, Run, Totals
from bench.world import bare_invocation_cpu_ms, bench_world, hire, scheduled_event
from localcloud.world import LocalCloud

HR = "HrEventsFunction"
PROVISION = "ProvisionFunction"
PREWARM = "PrewarmFunction"
HR_BUS = "HrEventBus"
WAVE = 100  # hires put on the bus at once
CREATE_PER_CALL = 25
DESCRIBE_PER_CALL = 25
START_PER_CALL = 25
ENTRIES_PER_PUT_EVENTS = 10
# The per-hire way (issue 4 as first built): DescribeWorkspaces(DirectoryId, UserName) before every CreateWorkspaces.
# Now only a retry looks a user up (issue 14): shown beside the measured figure as the naive baseline.
NAIVE_LOOKUPS_PER_HIRE = 1
BATCH_GET_KEYS = 100
CALL_TARGET = 1.05  # a partial last batch is the only excuse
MONDAY = dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC)
START_DATE = dt.date(2026, 12, 1)
PREWARM_AT = dt.datetime(2026, 12, 1, 6, 41, tzinfo=dt.UTC)
WARM_UP_BEFORE = dt.timedelta(minutes=6)

# The DynamoDB floor of one hire on the happy path (docs/performance.md):
# hr_events, one event per invocation (nothing to batch): read the desk (rehire / duplicate / out-of-order),
# create it (conditional), its audit entry, and Powertools idempotency's two writes (in progress, completed).
HR_EVENTS_REQUESTS = 5
HR_EVENTS_WRITES = 4
# provision: three conditional writes of the desk record (the lease before CreateWorkspaces, PROVISIONING with the
# workspace id, READY); conditional writes cannot be batched.
PROVISION_DESK_WRITES = 3
# ...and per pass of a batch: one BatchGetItem for its desks, and one BatchWriteItem for its audit entries.
PROVISION_AUDIT_ENTRIES = 2  # create_requested, ready: each at least one write unit


class OnboardingIncomplete(RuntimeError):
    """The wave did not end READY: the figures would describe something else."""


def publish_wave(cloud: LocalCloud, hires: range, *, prefix: str = "") -> None:
    """These hires on the HR bus (PutEvents, 10 entries a call, as a roster import publishes them), then delivered.

    Put first, delivered after: the world polls the provisioning queue whenever it has nothing else to deliver,
    and moto's SQS scans every message of a queue at each poll and each send, so delivering hire by hire would make
    the local cloud (not the functions) quadratic in the wave."""
    events = cloud.client("events")
    entries = [
        {
            "Source": envelope["source"],
            "DetailType": envelope["detail-type"],
            "Detail": json.dumps(envelope["detail"]),
            "EventBusName": cloud.buses[HR_BUS],
        }
        for envelope in (hire(i, agent=i % 2 == 0, start_date=START_DATE, prefix=prefix) for i in hires)
    ]
    for start in range(0, len(entries), ENTRIES_PER_PUT_EVENTS):
        response = events.put_events(Entries=entries[start : start + ENTRIES_PER_PUT_EVENTS])
        if response.get("FailedEntryCount"):
            raise OnboardingIncomplete(f"PutEvents refused hires: {response['Entries']}")
    cloud.settle()


def onboard(cloud: LocalCloud, hires: int, *, prefix: str = "") -> None:
    """`hires` in waves of at most WAVE hires an hour apart, each followed to READY before the next: a day of
    hires as HR sends them (and moto's queues stay short enough for the local cloud to stay linear)."""
    for start in range(0, hires, WAVE):
        publish_wave(cloud, range(start, min(hires, start + WAVE)), prefix=prefix)
        cloud.advance(dt.timedelta(hours=1))


def check_ready(cloud: LocalCloud, probe: Probe, hires: int, emails_before: int = 0) -> None:
    failed = [i for i in cloud.invocations if not i.ok]
    sent = len(cloud.emails()) - emails_before
    if failed or sent != hires:
        errors = sorted({str(i.error) for i in failed})[:3]
        raise OnboardingIncomplete(f"{sent} of {hires} hires got a welcome e-mail; failed invocations: {errors}")


def _wrote_audit(run: Run) -> bool:
    return any("/HIST#" in key for key in run.writes)


def dynamodb_floor(hires: int, provision_runs: list[Run]) -> int:
    """Requests the happy path cannot do without (see the constants above)."""
    passes = sum(1 + _wrote_audit(run) for run in provision_runs)
    return hires * (HR_EVENTS_REQUESTS + PROVISION_DESK_WRITES) + passes


def write_units_floor(hires: int) -> int:
    return hires * (HR_EVENTS_WRITES + PROVISION_DESK_WRITES + PROVISION_AUDIT_ENTRIES)


def wave_figures(probe: Probe, hires: int, *, bare_ms: float | None) -> dict[str, Figure]:
    """The onboarding figures of the runs the probe recorded for a wave of `hires`."""
    runs = probe.select(HR, PROVISION)
    total = probe.total(HR, PROVISION)
    # The readiness checks ask about the new desks by id, 25 a call: that is the floor. A user is looked up by
    # DirectoryId + UserName (one user a call) only when a create was already attempted for them (a retry, a
    # crash after CreateWorkspaces), which a clean wave never needs; looking every hire up first is the naive way.
    checks_floor = sum(calls_floor(r.items["workspaces:DescribeWorkspaces"], DESCRIBE_PER_CALL) for r in runs)
    naive_describe = hires * NAIVE_LOOKUPS_PER_HIRE + checks_floor
    put_events_floor = sum(calls_floor(r.items["events:PutEvents"], ENTRIES_PER_PUT_EVENTS) for r in runs)
    figures = {
        "create_workspaces_calls": figure(
            total.count("workspaces:CreateWorkspaces"),
            floor=calls_floor(hires, CREATE_PER_CALL),
            target=CALL_TARGET,
            unit="calls",
        ),
        "describe_workspaces_calls": figure(
            total.count("workspaces:DescribeWorkspaces"),
            floor=checks_floor,
            baseline=naive_describe,
            target=CALL_TARGET,
            unit="calls",
            note=(
                f"floor: the desks followed to AVAILABLE, {DESCRIBE_PER_CALL} ids a call; user lookups only for "
                f"retries (measured: {total.by_user}); baseline: the naive way, one lookup per hire before "
                f"CreateWorkspaces, {naive_describe} calls"
            ),
        ),
        "put_events_calls": figure(
            total.count("events:PutEvents"),
            floor=put_events_floor,
            target=CALL_TARGET,
            unit="calls",
            note=f"floor: the events each invocation published, {ENTRIES_PER_PUT_EVENTS} a call",
        ),
        "dynamodb_requests_per_hire": figure(
            total.count("dynamodb:") / hires,
            floor=dynamodb_floor(hires, probe.select(PROVISION)) / hires,
            target=CALL_TARGET,
            unit="requests/hire",
        ),
        "dynamodb_write_units_per_hire": figure(
            total.write_units / hires,
            floor=write_units_floor(hires) / hires,
            target=CALL_TARGET,
            unit="WCU/hire",
            note="estimated from item sizes (moto's ConsumedCapacity is a constant)",
        ),
        "handler_cpu_ms_per_hire": figure(
            total.cpu_s * 1000 / hires,
            baseline=None if bare_ms is None else bare_ms * total.invocations / hires,
            unit="ms/hire",
            note="hr_events + provision CPU, moto and the emulator excluded; baseline: as many bare Powertools "
            "invocations; informational",
        ),
    }
    return figures


def details(totals: dict[str, Totals]) -> dict[str, Any]:
    """Per function: invocations, calls, DynamoDB items written by key prefix, write units, CPU."""
    return {
        name: {
            "invocations": t.invocations,
            "cpu_ms": round(t.cpu_s * 1000, 1),
            "calls": dict(sorted(t.calls.items())),
            "describe_by_user": t.by_user,
            "write_units": round(t.write_units, 1),
            "writes": dict(sorted(t.writes.items())),
        }
        for name, t in totals.items()
    }


def prewarm_figures(probe: Probe, desks: int, started: int) -> dict[str, Figure]:
    total = probe.total(PREWARM)
    reads = total.count("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan")
    queries = total.count("dynamodb:Query")
    return {
        "start_workspaces_calls": figure(
            total.count("workspaces:StartWorkspaces"),
            floor=calls_floor(desks, START_PER_CALL),
            target=CALL_TARGET,
            unit="calls",
            note=f"{started} of {desks} shift desks started",
        ),
        "describe_workspaces_calls": figure(
            total.count("workspaces:DescribeWorkspaces"),
            floor=calls_floor(desks, DESCRIBE_PER_CALL),
            target=CALL_TARGET,
            unit="calls",
        ),
        "dynamodb_reads": figure(
            reads,
            floor=calls_floor(desks, BATCH_GET_KEYS) + queries,
            target=CALL_TARGET,
            unit="requests",
            note=f"floor: the start records, {BATCH_GET_KEYS} keys a call, plus the {queries} pages of the shift index",
        ),
        "dynamodb_writes": figure(
            total.count("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"),
            floor=started,
            target=CALL_TARGET,
            unit="requests",
            note="floor: one conditional start record per desk started",
        ),
        "handler_cpu_ms_per_1000_desks": figure(
            total.cpu_s * 1000 * 1000 / desks,
            unit="ms/1000 desks",
            note="moto and the emulator excluded; informational",
        ),
    }


def run(hires: int) -> dict[str, Any]:
    """Onboard `hires`, then pre-warm the agents' desks; the `onboarding` and `prewarm` sections."""
    probe = Probe()
    bare_ms = bare_invocation_cpu_ms()
    with bench_world(probe, MONDAY) as cloud:
        onboard(cloud, hires)
        check_ready(cloud, probe, hires)
        onboarding = wave_figures(probe, hires, bare_ms=bare_ms)
        onboarding_details = details({name: probe.total(name) for name in (HR, PROVISION)})

        probe.reset()
        cloud.advance(PREWARM_AT - WARM_UP_BEFORE - cloud.now())
        agents = [desk["workspace_id"] for desk in cloud.workspaces() if desk["user"].startswith("agent")]
        for workspace_id in agents:
            cloud.emulator.set_state(workspace_id, "STOPPED")
        # A warm container, as every 5 minutes: one tick before the window opens (nothing due) builds the clients.
        cloud.invoke(PREWARM, scheduled_event("prewarm", cloud.now()))
        probe.reset()
        cloud.advance(PREWARM_AT - cloud.now())
        invocation = cloud.invoke(PREWARM, scheduled_event("prewarm", cloud.now()))
        if not invocation.ok:
            raise RuntimeError(f"prewarm failed: {invocation.error}")
        started = int(invocation.result.get("started_count", 0))
        prewarm = prewarm_figures(probe, len(agents), started)
        prewarm_details = details({PREWARM: probe.total(PREWARM)})
    return {
        "figures": {"onboarding": onboarding, "prewarm": prewarm},
        "details": {
            "onboarding": {"hires": hires, "bare_invocation_cpu_ms": round(bare_ms, 3), **onboarding_details},
            "prewarm": {"shift_desks": len(agents), "started": started, **prewarm_details},
        },
    }
