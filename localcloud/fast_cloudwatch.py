"""GetMetricData from an index of moto's metric data, with CloudWatch's rule for which metric a query names.

moto 5.2.5 answers GetMetricData (`CloudWatchBackend.get_metric_data`) by scanning every datum it holds for
every query and every period: O(queries x periods x data). The local cloud puts two AWS/WorkSpaces statistic sets
per running desk per hour (localcloud/meter.py), so one optimiser-shaped call over 300 desks and a day of data
takes 5.8 s of CPU in moto (0.2 s here; docs/performance.md), and the cost grows with every simulated day.

Here the data are indexed once, as moto appends them (the index reads only what was appended since the last
call), by the metric's identity: namespace, name and the exact set of dimensions. A query reads its own series
between StartTime and EndTime and groups it by period; each period's value is computed by moto's own
`Statistics` from the same data in moto's order (the order they were put), so the values are moto's to the bit,
and so are the timestamps (StartTime + k x Period), labels, ScanBy, Unit filter, ReturnData and errors.
The alarm evaluator (localcloud/alarms.py) reads the same index of the backend, in both modes: it is the local
cloud's own code, not moto's.

Where moto is kinder than CloudWatch, this follows CloudWatch (GetMetricData API reference; a metric is its
namespace, name and dimensions, "each unique combination of dimensions is a separate metric"; docs/local-cloud.md
cites the pages):
- moto ignores the Namespace of a query that has Dimensions: here the namespace must match;
- moto reads every metric of that name and namespace, whatever its dimensions, for a query without Dimensions
  (a sum over all desks): here only the metric published without dimensions;
- moto compares dimension lists through a sort that depends on their order: here the order does not matter.

Metric math and Metrics Insights queries, and statistics other than the five basic ones, are left to moto
(moto's own code for the whole call). tests/integration/test_fast_cloudwatch.py compares both on generated data.
`LOCALCLOUD_FAST=0` keeps moto's.
"""

from __future__ import annotations

import bisect
import datetime as dt
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.models import CloudWatchBackend, Statistics

from localcloud import fast_json

BASIC_STATISTICS = frozenset({"SampleCount", "Sum", "Average", "Minimum", "Maximum"})
_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)
MetricKey = tuple[str, str, frozenset[tuple[str, str]]]

_original_get_metric_data = CloudWatchBackend.get_metric_data


def _micros(moment: dt.datetime) -> int:
    """Microseconds since the epoch, exactly; a naive datetime is UTC (moto keeps naive UTC timestamps)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return (moment - _EPOCH) // _MICROSECOND


def _key(namespace: str, name: str, dimensions: Iterable[Any]) -> MetricKey:
    pairs = []
    for dimension in dimensions:
        if isinstance(dimension, Mapping):
            pairs.append((dimension["Name"], dimension["Value"]))
        else:  # moto's Dimension
            pairs.append((dimension.name, dimension.value))
    return namespace, name, frozenset(pairs)


class _Series:
    """One metric's data, sorted by time; equal times keep the order they were put in."""

    __slots__ = ("data", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.data: list[tuple[int, Any]] = []  # (sequence number, moto's datum)

    def add(self, at: int, seq: int, datum: Any) -> None:
        if not self.times or at >= self.times[-1]:
            self.times.append(at)
            self.data.append((seq, datum))
            return
        where = bisect.bisect_right(self.times, at)
        self.times.insert(where, at)
        self.data.insert(where, (seq, datum))

    def between(self, start: int, end: int) -> tuple[list[int], list[tuple[int, Any]]]:
        low = bisect.bisect_left(self.times, start)
        high = bisect.bisect_left(self.times, end)
        return self.times[low:high], self.data[low:high]


class MetricDataIndex:
    """moto's `metric_data` of one backend by metric identity; moto only appends to that list."""

    def __init__(self) -> None:
        self.series: dict[MetricKey, _Series] = {}
        self._source: list[Any] | None = None
        self._cursor = 0

    def sync(self, metric_data: list[Any]) -> None:
        if metric_data is not self._source or len(metric_data) < self._cursor:
            self.series.clear()
            self._source, self._cursor = metric_data, 0
        for seq in range(self._cursor, len(metric_data)):
            self.add(seq, metric_data[seq])
        self._cursor = len(metric_data)

    def add(self, seq: int, datum: Any) -> None:
        key = _key(datum.namespace, datum.name, datum.dimensions)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = _Series()
        series.add(_micros(datum.timestamp), seq, datum)


_indexes: weakref.WeakKeyDictionary[Any, MetricDataIndex] = weakref.WeakKeyDictionary()


def index_of(backend: Any) -> MetricDataIndex:
    """The backend's index, brought up to date."""
    index = _indexes.get(backend)
    if index is None:
        index = _indexes[backend] = MetricDataIndex()
    index.sync(backend.metric_data)
    return index


def _answerable(queries: list[dict[str, Any]]) -> bool:
    """Queries this module answers; anything else goes to moto's own code."""
    return all("Expression" not in query and query["MetricStat"]["Stat"] in BASIC_STATISTICS for query in queries)


def _get_metric_data(
    self: CloudWatchBackend,
    queries: list[dict[str, Any]],
    start_time: dt.datetime,
    end_time: dt.datetime,
    scan_by: str = "TimestampAscending",
) -> list[dict[str, Any]]:
    if not _answerable(queries):
        return _original_get_metric_data(self, queries, start_time, end_time, scan_by)
    # moto's checks, in moto's order and words
    start_time = start_time.replace(microsecond=0)
    end_time = end_time.replace(microsecond=0)
    if start_time > end_time:
        raise ValidationError("The parameter EndTime must be greater than StartTime.")
    if start_time == end_time:
        raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
    index = index_of(self)
    # The metrics moto's providers compute at each call (S3's bucket sizes), after the stored ones as in moto's
    # get_all_metrics; numbered after them so that they sort last.
    provided = MetricDataIndex()
    for offset, datum in enumerate(self.aws_metric_data):
        provided.add(len(self.metric_data) + offset, datum)
    start, end = _micros(start_time), _micros(end_time)
    results = []
    for query in queries:
        metric_stat = query["MetricStat"]
        metric = metric_stat["Metric"]
        name, stat, unit = metric["MetricName"], metric_stat["Stat"], metric_stat.get("Unit")
        delta = dt.timedelta(seconds=int(metric_stat["Period"]))
        step = delta // _MICROSECOND
        key = _key(metric["Namespace"], name, metric.get("Dimensions", []))
        periods: dict[int, list[tuple[int, Any]]] = {}
        for series in (index.series.get(key), provided.series.get(key)):
            if series is None:
                continue
            times, data = series.between(start, end)
            for at, entry in zip(times, data, strict=True):
                if unit and entry[1].unit != unit:
                    continue
                periods.setdefault((at - start) // step, []).append(entry)
        values: list[Any] = []
        timestamps: list[dt.datetime] = []
        for number in sorted(periods):
            stats = Statistics([stat], start_time + number * delta)
            stats.metric_data = [datum for _, datum in sorted(periods[number], key=lambda entry: entry[0])]
            values.append(stats.get_statistics_for_type(stat))
            timestamps.append(stats.timestamp)
        if scan_by == "TimestampDescending":
            timestamps.reverse()
            values.reverse()
        if query.get("ReturnData", True):
            results.append(
                {
                    "id": query["Id"],
                    "label": query.get("Label") or f"{name} {stat}",
                    "values": values,
                    "timestamps": timestamps,
                    "status_code": "Complete",
                }
            )
    return results


def _install() -> None:
    CloudWatchBackend.get_metric_data = _get_metric_data  # type: ignore[method-assign]


def _uninstall() -> None:
    CloudWatchBackend.get_metric_data = _original_get_metric_data  # type: ignore[method-assign]


# The indexed GetMetricData while the block runs (nested uses are counted); yields whether it is on.
installed = fast_json.counted_patch(_install, _uninstall)
