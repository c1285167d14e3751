"""CloudWatch alarm evaluation, which moto does not do: alarms only change state when something calls
SetAlarmState. The local cloud evaluates every metric alarm in moto's backend on each clock step from the metric
data moto stores, the way CloudWatch does (statistic per period over the last EvaluationPeriods periods,
DatapointsToAlarm, TreatMissingData), and reports each state transition in the shape of the
"CloudWatch Alarm State Change" event.

As CloudWatch does, an alarm is evaluated every minute (the world steps the clock each minute while any alarm
could change, however long one `advance` is) over completed periods of its sliding window: the newest period
ends at the last whole minute before the evaluation, and a datum counts in the minute its timestamp falls in
(CloudWatch stores standard-resolution data per minute). Differences from CloudWatch, on purpose: dimensions match
exactly, metric-math alarms and anomaly-detection thresholds are not evaluated, and percentiles are nearest-rank.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.fast_cloudwatch import MetricDataIndex, index_of

_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (lambda value, threshold: value >= threshold, "greater than or equal to"),
    "GreaterThanThreshold": (lambda value, threshold: value > threshold, "greater than"),
    "LessThanThreshold": (lambda value, threshold: value < threshold, "less than"),
    "LessThanOrEqualToThreshold": (lambda value, threshold: value <= threshold, "less than or equal to"),
}
MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


def epoch(value: Any) -> float:
    """Seconds since the epoch of a moto timestamp (naive datetimes are UTC, strings are ISO 8601)."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    raise TypeError(f"not a timestamp: {value!r}")


def iso_millis(moment: float) -> str:
    """CloudWatch's timestamp format in alarm events: 2026-12-01T05:10:00.000+0000."""
    stamp = dt.datetime.fromtimestamp(moment, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"


def metric_key(namespace: str, name: str, dimensions: Iterable[Any]) -> MetricKey:
    pairs = []
    for dimension in dimensions:
        if isinstance(dimension, Mapping):
            pairs.append((str(dimension["Name"]), str(dimension["Value"])))
        else:
            pairs.append((str(dimension.name), str(dimension.value)))
    return namespace, name, frozenset(pairs)


@dataclass
class Sample:
    """One stored datum: a single value or a statistic set."""

    at: float
    count: float
    total: float
    low: float
    high: float
    values: list[float] = field(default_factory=list)


class MetricIndex:
    """Moto's metric data by exact (namespace, name, dimension set), sorted by time: a view of the backend's
    index that GetMetricData reads too (localcloud.fast_cloudwatch), so the data are indexed once and no sample is
    kept per datum; samples are made from moto's data when a window is read."""

    def __init__(self, index: MetricDataIndex | None = None) -> None:
        self._index = index if index is not None else MetricDataIndex()

    @classmethod
    def of(cls, backend: Any) -> MetricIndex:
        """The backend's shared index, brought up to date (moto only appends to its metric data)."""
        return cls(index_of(backend))

    def sync(self, metric_data: list[Any]) -> None:
        self._index.sync(metric_data)

    def between(self, key: MetricKey, start: float, end: float) -> list[Sample]:
        """Samples with start <= time < end (a period includes its first instant, as CloudWatch's do)."""
        series = self._index.series.get(key)
        if series is None:
            return []
        _, data = series.between(math.ceil(start * 1_000_000), math.ceil(end * 1_000_000))
        return [_sample(datum) for _, datum in data]

    def latest(self, key: MetricKey) -> float | None:
        series = self._index.series.get(key)
        return epoch(series.data[-1][1].timestamp) if series is not None and series.data else None


def _sample(datum: Any) -> Sample:
    at = epoch(datum.timestamp)
    if hasattr(datum, "value"):
        value = float(datum.value)
        return Sample(at, 1.0, value, value, value, [value])
    return Sample(at, float(datum.sample_count), float(datum.sum), float(datum.min), float(datum.max))


def statistic(samples: list[Sample], stat: str) -> float:
    count = sum(sample.count for sample in samples)
    if stat == "SampleCount":
        return count
    if stat == "Sum":
        return sum(sample.total for sample in samples)
    if stat == "Minimum":
        return min(sample.low for sample in samples)
    if stat == "Maximum":
        return max(sample.high for sample in samples)
    if stat == "Average":
        return sum(sample.total for sample in samples) / count if count else 0.0
    if stat.startswith("p"):
        values = sorted(value for sample in samples for value in sample.values)
        if not values:
            return max(sample.high for sample in samples)
        rank = max(1, math.ceil(float(stat[1:]) / 100 * len(values)))
        return values[min(rank, len(values)) - 1]
    raise ValueError(f"statistic {stat} is not modelled")


@dataclass(frozen=True)
class MetricSpec:
    """What an alarm watches."""

    query_id: str
    namespace: str
    name: str
    dimensions: dict[str, str]
    period: int
    stat: str

    @property
    def key(self) -> MetricKey:
        return self.namespace, self.name, frozenset(self.dimensions.items())


def spec_of(alarm: Any) -> MetricSpec | None:
    """The single metric an alarm watches; None for metric math, composite or anomaly-band alarms."""
    if alarm.comparison_operator not in _COMPARISONS:
        return None
    if alarm.metric_name:
        stat = alarm.statistic or alarm.extended_statistic
        if not stat:
            return None
        query_id = "m" + uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn).hex[:12]
        dims = {str(d.name): str(d.value) for d in alarm.dimensions}
        return MetricSpec(query_id, alarm.namespace, alarm.metric_name, dims, int(alarm.period), stat)
    returned = [query for query in alarm.metric_data_queries if str(query.return_data).lower() != "false"]
    if len(returned) != 1 or returned[0].metric_stat is None or returned[0].expression:
        return None
    stat_spec = returned[0].metric_stat
    metric = stat_spec.metric
    dims = {str(d.name): str(d.value) for d in metric.dimensions}
    return MetricSpec(returned[0].id, metric.namespace, metric.metric_name, dims, int(stat_spec.period), stat_spec.stat)


@dataclass(frozen=True)
class Evaluation:
    state: str
    reason: str
    reason_data: str


MINUTE = 60.0


def last_completed(now: float) -> float:
    """The end of the newest completed period at `now`: the last whole minute (periods are whole minutes)."""
    return math.floor(now / MINUTE) * MINUTE


def evaluate(alarm: Any, spec: MetricSpec, index: MetricIndex, now: float) -> Evaluation:
    """The state CloudWatch would give the alarm when it evaluates it at `now`, on completed periods only."""
    periods = int(alarm.evaluation_periods)
    needed = int(alarm.datapoints_to_alarm or periods)
    threshold = float(alarm.threshold)
    compare, wording = _COMPARISONS[alarm.comparison_operator]
    datapoints: list[tuple[float, float | None]] = []  # (period start, value or missing), newest first
    newest_end = last_completed(now)
    for back in range(periods):
        end = newest_end - back * spec.period
        samples = index.between(spec.key, end - spec.period, end)
        datapoints.append((end - spec.period, statistic(samples, spec.stat) if samples else None))
    present = [(start, value) for start, value in datapoints if value is not None]
    treat = alarm.treat_missing_data or "missing"
    breaching = sum(1 for _, value in present if compare(value, threshold))
    missing = periods - len(present)
    if treat == "breaching":
        breaching += missing
    if not present and treat in {"missing", "ignore"}:
        state = "INSUFFICIENT_DATA" if treat == "missing" else alarm.state_value
        reason = "Insufficient Data: no datapoints were received for the evaluation periods."
    else:
        state = "ALARM" if breaching >= needed else "OK"
        shown = ", ".join(f"{value} ({_short(start)})" for start, value in present) or "no datapoints"
        verb = "was" if state == "ALARM" else "was not"
        reason = (
            f"Threshold Crossed: {len(present)} out of the last {periods} datapoints [{shown}] {verb} {wording} "
            f"the threshold ({threshold}) (minimum {needed} datapoint"
            f"{'s' if needed > 1 else ''} for {'OK -> ALARM' if state == 'ALARM' else 'ALARM -> OK'} transition)."
        )
    reason_data = json.dumps(
        {
            "version": "1.0",
            "queryDate": iso_millis(now),
            "startDate": iso_millis(newest_end - periods * spec.period),
            "statistic": spec.stat,
            "period": spec.period,
            "recentDatapoints": [value for _, value in present],
            "threshold": threshold,
            "evaluatedDatapoints": [{"timestamp": iso_millis(start), "value": value} for start, value in present],
        },
        separators=(",", ":"),
    )
    return Evaluation(state, reason, reason_data)


def _short(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%d/%m/%y %H:%M:%S")


def state_change_detail(
    alarm: Any, spec: MetricSpec | None, previous: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """The `detail` of a "CloudWatch Alarm State Change" event, as CloudWatch sends it."""
    metrics: list[dict[str, Any]] = []
    if spec is not None:
        metrics.append(
            {
                "id": spec.query_id,
                "metricStat": {
                    "metric": {"namespace": spec.namespace, "name": spec.name, "dimensions": dict(spec.dimensions)},
                    "period": spec.period,
                    "stat": spec.stat,
                },
                "returnData": True,
            }
        )
    configuration: dict[str, Any] = {"metrics": metrics}
    if alarm.description:
        configuration["description"] = alarm.description
    return {
        "alarmName": alarm.name,
        "state": dict(current),
        "previousState": dict(previous),
        "configuration": configuration,
    }


@dataclass(frozen=True)
class Change:
    """One alarm state transition, with everything CloudWatch sends about it."""

    alarm: Any
    spec: MetricSpec
    previous: dict[str, Any]
    current: dict[str, Any]
    reason: str

    @property
    def detail(self) -> dict[str, Any]:
        return state_change_detail(self.alarm, self.spec, self.previous, self.current)

    def actions(self) -> list[str]:
        """The SNS topics to notify (AlarmActions, OKActions or InsufficientDataActions)."""
        if not self.alarm.actions_enabled:
            return []
        chosen = {
            "ALARM": self.alarm.alarm_actions,
            "OK": self.alarm.ok_actions,
            "INSUFFICIENT_DATA": self.alarm.insufficient_data_actions,
        }[self.current["value"]]
        return [action for action in chosen or [] if ":sns:" in action]

    def notification(self, account_id: str, region_name: str) -> tuple[str, str]:
        """CloudWatch's SNS notification for an alarm action: (subject, message JSON)."""
        alarm, spec = self.alarm, self.spec
        message = {
            "AlarmName": alarm.name,
            "AlarmDescription": alarm.description,
            "AWSAccountId": account_id,
            "NewStateValue": self.current["value"],
            "NewStateReason": self.reason,
            "StateChangeTime": self.current["timestamp"],
            "Region": region_name,
            "AlarmArn": alarm.alarm_arn,
            "OldStateValue": self.previous["value"],
            "Trigger": {
                "MetricName": spec.name,
                "Namespace": spec.namespace,
                "StatisticType": "Statistic",
                "Statistic": spec.stat.upper(),
                "Dimensions": [{"value": v, "name": k} for k, v in spec.dimensions.items()],
                "Period": spec.period,
                "EvaluationPeriods": int(alarm.evaluation_periods),
                "ComparisonOperator": alarm.comparison_operator,
                "Threshold": float(alarm.threshold),
                "TreatMissingData": alarm.treat_missing_data or "missing",
            },
        }
        subject = f'{self.current["value"]}: "{alarm.name}" in {region_name}'[:100]
        return subject, json.dumps(message)


@dataclass
class _Memory:
    obj_id: int
    state: str
    reason: str
    reason_data: str


class AlarmWatcher:
    """Evaluates every metric alarm of a moto CloudWatch backend and reports the transitions.

    moto gives a new alarm the state OK and resets the state when PutMetricAlarm updates an alarm; CloudWatch
    starts an alarm in INSUFFICIENT_DATA and keeps the state of an updated one. The watcher remembers each
    alarm's state to correct both."""

    def __init__(self) -> None:
        self.index = MetricIndex()
        self._memory: dict[str, _Memory] = {}

    def _remember(self, alarm: Any) -> None:
        self._memory[alarm.name] = _Memory(id(alarm), alarm.state_value, alarm.state_reason, alarm.state_reason_data)

    def settle(self, backend: Any, now: float) -> None:
        """Evaluate the existing alarms silently: they have been running long before now."""
        self.index = MetricIndex.of(backend)
        for alarm in backend.alarms.values():
            spec = spec_of(alarm)
            if spec is not None:
                result = evaluate(alarm, spec, self.index, now)
                alarm.update_state(result.reason, result.reason_data, result.state)
            self._remember(alarm)

    def evaluate(self, backend: Any, now: float) -> list[Change]:
        self.index = MetricIndex.of(backend)
        for gone in set(self._memory) - set(backend.alarms):
            del self._memory[gone]
        changes = []
        for name in sorted(backend.alarms):
            alarm = backend.alarms[name]
            memory = self._memory.get(name)
            if memory is None:
                alarm.state_value = "INSUFFICIENT_DATA"
            elif memory.obj_id != id(alarm):
                alarm.state_value, alarm.state_reason, alarm.state_reason_data = (
                    memory.state,
                    memory.reason,
                    memory.reason_data,
                )
            self._remember(alarm)
            spec = spec_of(alarm)
            if spec is None:
                continue
            result = evaluate(alarm, spec, self.index, now)
            if result.state == alarm.state_value:
                continue
            previous = {
                "value": alarm.state_value,
                "reason": alarm.state_reason,
                "reasonData": alarm.state_reason_data,
                "timestamp": iso_millis(epoch(alarm.state_updated_timestamp)),
            }
            alarm.update_state(result.reason, result.reason_data, result.state)
            self._remember(alarm)
            current = {
                "value": result.state,
                "reason": result.reason,
                "reasonData": result.reason_data,
                "timestamp": iso_millis(now),
            }
            changes.append(Change(alarm, spec, previous, current, result.reason))
        return changes

    def busy(self, backend: Any, now: float) -> bool:
        """True while an alarm may change at one of the next minutes: it has never been evaluated, it is in ALARM,
        or a datum is in its window or has not yet left it (CloudWatch evaluates every minute, so the clock must
        stop every minute then, whatever the length of one `advance`)."""
        self.index = MetricIndex.of(backend)  # data put since the last evaluation count
        for name, alarm in backend.alarms.items():
            spec = spec_of(alarm)
            if spec is None:
                continue
            if name not in self._memory or alarm.state_value == "ALARM":
                return True
            latest = self.index.latest(spec.key)
            window = spec.period * int(alarm.evaluation_periods)
            if latest is not None and last_completed(latest) + window + MINUTE >= now:
                return True
        return False
