"""Which desks of a directory are failing, from the metric data of the alarm window; and whether it is one
desk's problem or the directory's (a systemic outage, where rebooting desks one by one would only hurt)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from autopilot.domain.kernel.policy import Remediation

DEFAULT_PERIOD = 300
MIN_LOOKBACK = dt.timedelta(minutes=15)
# Ids as AWS writes them in an alarm's dimensions: a loose shape, not botocore's request patterns (AWS's own
# documented samples carry shorter ids; contracts/common.py).
DIRECTORY_ID = re.compile(r"^(d|wsd)-[0-9A-Za-z]{1,63}$")
WORKSPACE_ID = re.compile(r"^ws-[0-9A-Za-z]{1,63}$")
GONE = frozenset({"TERMINATING", "TERMINATED"})


@dataclass(frozen=True)
class Counts:
    """ConnectionFailure and ConnectionAttempt sums of one desk over a window. Attempts are only known when
    they cost no extra metrics call (see adapters/metrics_query.py): the runbook acts on failures alone."""

    failures: int = 0
    attempts: int | None = None

    def describe(self) -> str:
        if self.attempts is None:
            return f"{self.failures} connection failures"
        return f"{self.failures} connection failures in {self.attempts} attempts"


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class AlarmSubject:
    """What an alarm watches: a directory (the default) or one desk (per-desk alarms for small fleets)."""

    directory_id: str | None
    workspace_id: str | None


@dataclass(frozen=True)
class Triage:
    failing: dict[str, Counts]  # desks at or above failures_to_act
    watched: dict[str, Counts]  # desks with failures below it: noted, not acted on
    desks: int  # live desks of the directory
    systemic: bool

    @property
    def failures(self) -> int:
        return sum(c.failures for c in self.failing.values())


def alarm_subject(
    alarm_name: str, prefix: str, directory_dimension: str | None, workspace_dimension: str | None
) -> AlarmSubject | None:
    """The directory (DirectoryId dimension, else the alarm name's suffix) or desk the alarm is about; None when
    it names neither (an alarm that is not one of ours, or a dimension that is no id): nothing to act on."""
    if workspace_dimension:
        if not WORKSPACE_ID.match(workspace_dimension):
            return None
        directory = directory_dimension if directory_dimension and DIRECTORY_ID.match(directory_dimension) else None
        return AlarmSubject(directory_id=directory, workspace_id=workspace_dimension)
    candidate = directory_dimension or (alarm_name.removeprefix(prefix) if alarm_name.startswith(prefix) else "")
    if DIRECTORY_ID.match(candidate):
        return AlarmSubject(directory_id=candidate, workspace_id=None)
    if WORKSPACE_ID.match(candidate):
        return AlarmSubject(directory_id=None, workspace_id=candidate)
    return None


def alarm_window(
    *, state_at: dt.datetime, now: dt.datetime, period: int | None, evaluated: Sequence[dt.datetime] = ()
) -> Window:
    """The alarm's evaluation window (its evaluated datapoints when CloudWatch gives them), at least 15 minutes,
    up to now: failures that keep coming after the alarm fired count too."""
    period_s = period or DEFAULT_PERIOD
    start = min(evaluated) if evaluated else state_at - dt.timedelta(seconds=period_s)
    start = min(start, state_at - MIN_LOOKBACK)
    end = max(now, state_at + dt.timedelta(minutes=1))
    return Window(start=start, end=end)


def is_systemic(failing: int, desks: int, remediation: Remediation) -> bool:
    """At least `systemic.percent` of the directory's desks, and at least `systemic.min_desks`, failing."""
    if desks <= 0 or failing < remediation.systemic.min_desks:
        return False
    return failing * 100 >= remediation.systemic.percent * desks


def triage(counts: Mapping[str, Counts], desks: int, remediation: Remediation) -> Triage:
    failing = {ws: c for ws, c in sorted(counts.items()) if c.failures >= remediation.failures_to_act}
    watched = {ws: c for ws, c in sorted(counts.items()) if 0 < c.failures < remediation.failures_to_act}
    return Triage(failing=failing, watched=watched, desks=desks, systemic=is_systemic(len(failing), desks, remediation))


def still_failing(counts: Counts, state: str, remediation: Remediation) -> bool:
    """At a re-check: the desk is sick, or users failed to connect `failures_to_act` times since the last step."""
    return state in ("UNHEALTHY", "ERROR") or counts.failures >= remediation.failures_to_act


def metric_calls(series: int, per_call: int = 500) -> int:
    """GetMetricData calls needed for `series` time series (the floor the metrics adapter keeps to)."""
    return math.ceil(series / per_call) if series else 0
