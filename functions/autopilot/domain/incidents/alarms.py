"""One CloudWatch alarm on ConnectionFailure per directory of the policy.

`workspaces-autopilot-<stage>-connection-failure-<directory_id>`: AWS/WorkSpaces ConnectionFailure, dimension
DirectoryId, Sum over 5 minutes, one evaluation period, in ALARM at one failure or more, missing data is not
breaching. CloudWatch sends every state change of these alarms to EventBridge, where `remediate` picks them up
by their name prefix. fleet_watch keeps the set equal to the policy's directories: it creates the missing
ones, corrects a drifted one, and deletes those of directories the policy no longer has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    directory_id: str
    namespace: str = "AWS/WorkSpaces"
    metric_name: str = "ConnectionFailure"
    statistic: str = "Sum"
    period: int = 300
    evaluation_periods: int = 1
    threshold: float = 1.0
    comparison: str = "GreaterThanOrEqualToThreshold"
    treat_missing_data: str = "notBreaching"

    @property
    def description(self) -> str:
        return f"Connection failures on WorkSpaces directory {self.directory_id} (managed by fleet_watch)"


@dataclass(frozen=True)
class AlarmPlan:
    put: list[AlarmSpec]
    delete: list[str]
    unchanged: int


def alarm_name(prefix: str, directory_id: str) -> str:
    return f"{prefix}{directory_id}"


def desired_alarms(prefix: str, directory_ids: Iterable[str]) -> list[AlarmSpec]:
    return [AlarmSpec(name=alarm_name(prefix, d), directory_id=d) for d in sorted(set(directory_ids))]


def reconcile(desired: Iterable[AlarmSpec], existing: Mapping[str, AlarmSpec | None]) -> AlarmPlan:
    """What to put (missing or drifted) and what to delete (names under our prefix no directory wants).

    `existing` maps each alarm name under the prefix to its spec as read back, or None when it is not an
    alarm this module would have written (another metric, math expression…): such an alarm is rewritten."""
    wanted = {spec.name: spec for spec in desired}
    put = [spec for name, spec in wanted.items() if existing.get(name) != spec]
    delete = sorted(name for name in existing if name not in wanted)
    return AlarmPlan(put=put, delete=delete, unchanged=len(wanted) - len(put))
