"""Connection-failure triage of one directory: which of its N desks are failing, from CloudWatch.

N desks in the amiens-cc directory, 1% of them with 6 connection failures (WorkSpaces' own metrics, per desk and
per directory), then the directory's ConnectionFailure alarm goes to ALARM and remediate runs. Beside it, in the
same world, the naive way: one GetMetricData call per desk, as AWS's Cost Optimizer for WorkSpaces asks CloudWatch
about each WorkSpace in turn. Both must find the same failing desks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bench import onboarding
from bench.figures import Figure, calls_floor, figure
from bench.probe import Probe
from bench.world import AGENT_SITE, alarm_event, bench_world
from localcloud.world import LocalCloud

REMEDIATE = "RemediateFunction"
SERIES_PER_CALL = 500
DESCRIBE_PER_CALL = 25
REBOOT_PER_CALL = 25
ENTRIES_PER_PUT_EVENTS = 10
FAILURES = 6
FAILING_EVERY = 100  # 1% of the directory's desks fail: well under the systemic threshold
ALARM_PREFIX = "workspaces-autopilot-dev-connection-failure-"
NAMESPACE = "AWS/WorkSpaces"


class TriageMismatch(RuntimeError):
    """The two ways disagree on which desks are failing (or with what was injected)."""


def one_call_per_desk(cloud: LocalCloud, desks: list[str], start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """ConnectionFailure sums desk by desk: one GetMetricData call each (the naive way)."""
    cloudwatch = cloud.client("cloudwatch")
    period = max(60, int((end - start).total_seconds()) // 60 * 60)
    sums: dict[str, int] = {}
    for workspace_id in desks:
        response = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "f",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": "ConnectionFailure",
                            "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=start,
            EndTime=end,
        )
        sums[workspace_id] = int(sum(response["MetricDataResults"][0].get("Values", [])))
    return sums


def triage_figures(probe: Probe, desks: int, naive_calls: int, failing: int) -> dict[str, Figure]:
    total = probe.total(REMEDIATE)
    series = total.items["cloudwatch:GetMetricData"]
    runs = probe.select(REMEDIATE)
    put_events_floor = sum(calls_floor(r.items["events:PutEvents"], ENTRIES_PER_PUT_EVENTS) for r in runs)
    return {
        "get_metric_data_calls": figure(
            total.count("cloudwatch:GetMetricData"),
            floor=calls_floor(desks, SERIES_PER_CALL),
            baseline=naive_calls,
            target=1.0,
            unit="calls",
            note=f"floor: one series per desk (ConnectionFailure decides), {SERIES_PER_CALL} a call; "
            f"{series} series asked; baseline: one call per desk, measured",
        ),
        "describe_workspaces_calls": figure(
            total.count("workspaces:DescribeWorkspaces"),
            floor=calls_floor(desks, DESCRIBE_PER_CALL),
            target=onboarding.CALL_TARGET,
            unit="calls",
            note="listing the directory's desks",
        ),
        "reboot_workspaces_calls": figure(
            total.count("workspaces:RebootWorkspaces"),
            floor=calls_floor(failing, REBOOT_PER_CALL),
            target=onboarding.CALL_TARGET,
            unit="calls",
            note=f"the first runbook step for {failing} failing desks, {REBOOT_PER_CALL} a call",
        ),
        "put_events_calls": figure(
            total.count("events:PutEvents"),
            floor=put_events_floor,
            target=onboarding.CALL_TARGET,
            unit="calls",
            note=f"floor: the events the invocation published, {ENTRIES_PER_PUT_EVENTS} a call",
        ),
    }


def run(desks: int) -> dict[str, Any]:
    probe = Probe()
    at = onboarding.MONDAY + dt.timedelta(hours=3)
    with bench_world(probe, at) as cloud:
        users = [f"agent{i:06d}" for i in range(desks)]
        ids = cloud.seed_desks(users, site=AGENT_SITE, profile="agent")
        directory_id = cloud.directories[AGENT_SITE]
        failing_users = users[::FAILING_EVERY]
        for user in failing_users:
            cloud.connection_failures(user, FAILURES)
        expected = {cloud.desk_of(user).workspace_id for user in failing_users}

        cloud.advance(dt.timedelta(minutes=5))
        invocation = cloud.invoke(REMEDIATE, alarm_event(ALARM_PREFIX + directory_id, directory_id, cloud.now()))
        if not invocation.ok:
            raise TriageMismatch(f"remediate failed: {invocation.error}")
        found = int(invocation.result["counts"].get("failing", -1))
        figures_probe = probe.total(REMEDIATE)

        start, end = at - dt.timedelta(minutes=20), cloud.now() + dt.timedelta(minutes=1)
        sums = one_call_per_desk(cloud, ids, start, end)
        naive = {ws for ws, total in sums.items() if total >= FAILURES}
        if naive != expected or found != len(expected):
            raise TriageMismatch(
                f"injected {len(expected)} failing desks; remediate found {found}, one call per desk {len(naive)}"
            )
        figures = triage_figures(probe, desks, len(ids), len(expected))
    return {
        "figures": {"triage": figures},
        "details": {
            "triage": {
                "desks": desks,
                "failing": len(expected),
                **onboarding.details({REMEDIATE: figures_probe})[REMEDIATE],
            }
        },
    }
