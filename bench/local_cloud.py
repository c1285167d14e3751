"""The local cloud itself: simulated desk-hours per second for the organisation's fleet, beside moto's own path.

The fleet: 300 desks, as the organisation this project is built for has them: 200 call-centre agents at amiens-cc
(AUTO_STOP, 1 hour), 80 office staff at paris-hq (AUTO_STOP, 2 hours), 20 data scientists at paris-hq (POWER,
AUTO_STOP, 4 hours), existing desks the first sweep adopts. The template runs as deployed: every schedule live
(fleet_watch's five-minute sweep, pre-warm, the optimiser, the reports). On weekdays the agents log in for their
08:00-16:00 shift (Paris time), the office staff from 09:00 to 17:30, the data scientists from 10:00 to 19:00;
logging in starts a stopped desk, AutoStop stops it after the idle timeout, the sessions function records each
login. Nobody works at the weekend.

Run twice, each in its own process: with the local cloud's fast path (localcloud.fast_json, fast_parse, fast_moto,
fast_transport), and with LOCALCLOUD_FAST=0, moto's and botocore's own code (the baseline). The baseline is the
slower by several times, so `make bench` runs it on the week's first day only (`slice_hours`), and the fast run
reports that first day apart as well: the ratio compares the same simulated hours. Measured: the simulation
only (the world is built and the fleet seeded first), wall and CPU seconds, and the process's peak resident
memory (getrusage ru_maxrss).
Every invocation must succeed and the sweep must have run at each five-minute tick, or the figures are refused.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from autopilot.adapters.policy_source import packaged_policy_text
from localcloud import fast_json
from localcloud.world import LocalCloud

MONDAY = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
# (count, user prefix, site, profile, login, logout) in UTC: Paris is UTC+1 in December.
GROUPS = (
    (200, "agent", "amiens-cc", "agent", dt.time(7, 0), dt.time(15, 0)),
    (80, "staff", "paris-hq", "office", dt.time(8, 0), dt.time(16, 30)),
    (20, "sci", "paris-hq", "datasci", dt.time(9, 0), dt.time(18, 0)),
)
SWEEP_MINUTES = 5
FLEET_WATCH = "FleetWatchFunction"


class LocalCloudRunBroken(RuntimeError):
    """The simulated week did not happen as described: the figures would measure something else."""


def fleet(desks: int) -> list[tuple[int, str, str, str, dt.time, dt.time]]:
    """The groups scaled to `desks` (300: the organisation itself), at least one desk a group."""
    total = sum(group[0] for group in GROUPS)
    return [(max(1, round(count * desks / total)), *rest) for count, *rest in GROUPS]  # type: ignore[misc]


def _users(count: int, prefix: str) -> list[str]:
    return [f"{prefix}{index:04d}" for index in range(count)]


def _day_events(day: dt.date, groups: list[Any]) -> list[tuple[dt.datetime, str, list[str]]]:
    if day.weekday() >= 5:
        return []
    events = []
    for count, prefix, _site, _profile, login, logout in groups:
        users = _users(count, prefix)
        events.append((dt.datetime.combine(day, login, dt.UTC), "login", users))
        events.append((dt.datetime.combine(day, logout, dt.UTC), "logout", users))
    return sorted(events, key=lambda event: event[0])


def simulate(cloud: LocalCloud, groups: list[Any], hours: float) -> None:
    """Advance the world `hours` from its start, logging users in and out on the way."""
    end = cloud.now() + dt.timedelta(hours=hours)
    day = cloud.now().date()
    while cloud.now() < end:
        for at, action, users in _day_events(day, groups):
            if at < cloud.now() or at >= end:
                continue
            cloud.advance(at - cloud.now())
            for user in users:
                if action == "login":
                    cloud.login(user)
                else:
                    cloud.disconnect(user)
        day += dt.timedelta(days=1)
        next_day = dt.datetime.combine(day, dt.time(0, 0), dt.UTC)
        cloud.advance(min(next_day, end) - cloud.now())


def run(fast: bool, desks: int, hours: float, slice_hours: float | None = None) -> dict[str, Any]:
    """One measured run in this process (the bench runs each mode in its own process). With `slice_hours`, the
    wall and CPU seconds of the first `slice_hours` are reported too (`slice`): the baseline is measured on that
    slice only, and the ratio compares the same simulated hours."""
    os.environ[fast_json.ENV_SWITCH] = "1" if fast else "0"
    groups = fleet(desks)
    seeded = sum(group[0] for group in groups)
    first = None
    with tempfile.TemporaryDirectory(prefix="bench-localcloud-") as folder:
        policy = Path(folder) / "policy.yaml"
        policy.write_text(packaged_policy_text(), encoding="utf-8")
        with LocalCloud(start=MONDAY, policy=policy) as cloud:
            for count, prefix, site, profile, _login, _logout in groups:
                cloud.seed_desks(_users(count, prefix), site=site, profile=profile)
            wall, cpu = time.perf_counter(), time.process_time()
            if slice_hours is not None and 0 < slice_hours < hours:
                simulate(cloud, groups, slice_hours)
                first = {
                    "hours": slice_hours,
                    "desk_hours": seeded * slice_hours,
                    "wall_s": round(time.perf_counter() - wall, 2),
                    "cpu_s": round(time.process_time() - cpu, 2),
                }
                simulate(cloud, groups, hours - slice_hours)
            else:
                simulate(cloud, groups, hours)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            failed = [i for i in cloud.invocations if not i.ok]
            sweeps = sum(1 for i in cloud.invocations if i.function == FLEET_WATCH)
            logins = sum(1 for entry in cloud.timeline if entry["kind"] == "login")
    expected_sweeps = int(hours * 60 / SWEEP_MINUTES)
    if failed:
        errors = sorted({str(i.error) for i in failed})[:3]
        raise LocalCloudRunBroken(f"{len(failed)} invocations failed: {errors}")
    if sweeps < expected_sweeps:
        raise LocalCloudRunBroken(f"{sweeps} sweeps in {hours} hours, {expected_sweeps} expected")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    result = {
        "fast": fast,
        "desks": seeded,
        "hours": hours,
        "desk_hours": seeded * hours,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "sweeps": sweeps,
        "logins": logins,
        "invocations": len(cloud.invocations),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    if first is not None:
        result["slice"] = first
    return result


if __name__ == "__main__":  # python -m bench.local_cloud FAST DESKS HOURS [SLICE] (a quick look, no document)
    print(run(sys.argv[1] == "1", int(sys.argv[2]), float(sys.argv[3]), *map(float, sys.argv[4:5])))
