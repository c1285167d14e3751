"""localcloud.fast_cloudwatch: the indexed GetMetricData gives moto's answers where moto follows CloudWatch, and
CloudWatch's where moto is kinder (a query's namespace and its exact set of dimensions name the metric)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import boto3
import pytest
from moto.cloudwatch.models import CloudWatchBackend, cloudwatch_backends

from localcloud import fast_cloudwatch, fast_json

START = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
DESKS = [f"ws-{index:03d}" for index in range(6)]
STATS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
# Each metric lives in one namespace, and a name is published either with dimensions or without: moto's own
# matching (which ignores the namespace of a query with dimensions, and reads every dimension set for a query
# without) gives CloudWatch's answer on these data, so both ways must agree. The kinder cases are tested apart.
METRICS = {"UserConnected": "AWS/WorkSpaces", "Stopped": "AWS/WorkSpaces", "Latency": "Custom/App"}
UNDIMENSIONED = ("Heartbeat", "Custom/App")


def _client() -> Any:
    return boto3.client("cloudwatch")


def _dimensions(rng: random.Random, desk: str) -> list[dict[str, str]]:
    if rng.random() < 0.2:  # two dimensions, always in this order (moto's sort depends on the order)
        return [{"Name": "WorkspaceId", "Value": desk}, {"Name": "DirectoryId", "Value": "d-1"}]
    return [{"Name": "WorkspaceId", "Value": desk}]


def _datum(rng: random.Random, at: dt.datetime, name: str, dimensions: list[dict[str, str]]) -> dict[str, Any]:
    datum: dict[str, Any] = {"MetricName": name, "Timestamp": at}
    if dimensions:
        datum["Dimensions"] = dimensions
    if rng.random() < 0.7:
        datum["Unit"] = rng.choice(["Count", "Seconds"])
    if rng.random() < 0.5:
        low, high = sorted((rng.uniform(0, 5), rng.uniform(0, 5)))
        count = rng.randint(1, 60)
        datum["StatisticValues"] = {"SampleCount": count, "Sum": rng.uniform(low, high) * count, "Minimum": low}
        datum["StatisticValues"]["Maximum"] = high
    else:
        datum["Value"] = rng.choice([0.0, 1.0, rng.uniform(-3, 3)])
    return datum


def _put_data(seed: int) -> None:
    """Data over two days, put out of time order, some at the same instant, some with microseconds."""
    rng = random.Random(seed)
    client = _client()
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for _ in range(600):
        at = START + dt.timedelta(seconds=rng.randrange(0, 2 * 86400, rng.choice([1, 60, 3600])))
        if rng.random() < 0.1:
            at += dt.timedelta(microseconds=rng.randrange(1, 10**6))
        if rng.random() < 0.1:
            name, namespace = UNDIMENSIONED
            dimensions: list[dict[str, str]] = []
        else:
            name = rng.choice(sorted(METRICS))
            namespace, dimensions = METRICS[name], _dimensions(rng, rng.choice(DESKS))
        by_namespace.setdefault(namespace, []).append(_datum(rng, at, name, dimensions))
    for namespace, data in sorted(by_namespace.items()):
        for offset in range(0, len(data), 100):
            client.put_metric_data(Namespace=namespace, MetricData=data[offset : offset + 100])


def _query(rng: random.Random, index: int) -> dict[str, Any]:
    if rng.random() < 0.15:
        name, namespace = UNDIMENSIONED
        dimensions: list[dict[str, str]] = []
    else:
        name = rng.choice(sorted(METRICS))
        desk = rng.choice([*DESKS, "ws-none"])  # a desk without data: no datapoints
        namespace, dimensions = METRICS[name], _dimensions(rng, desk)
    metric: dict[str, Any] = {"Namespace": namespace, "MetricName": name}
    if dimensions:
        metric["Dimensions"] = dimensions
    stat: dict[str, Any] = {"Metric": metric, "Period": rng.choice([60, 300, 3600, 7200, 86400]), "Stat": "Sum"}
    stat["Stat"] = rng.choice(STATS)
    if rng.random() < 0.3:
        stat["Unit"] = rng.choice(["Count", "Seconds"])
    query: dict[str, Any] = {"Id": f"q{index}", "MetricStat": stat}
    if rng.random() < 0.2:
        query["Label"] = f"label {index}"
    if rng.random() < 0.1:
        query["ReturnData"] = False
    return query


def _calls(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    calls = []
    for _ in range(40):
        start = START + dt.timedelta(seconds=rng.randrange(-3600, 86400, rng.choice([1, 60, 3600])))
        if rng.random() < 0.2:
            start += dt.timedelta(microseconds=rng.randrange(1, 10**6))
        call: dict[str, Any] = {
            "MetricDataQueries": [_query(rng, index) for index in range(rng.randint(1, 12))],
            "StartTime": start,
            "EndTime": start + dt.timedelta(seconds=rng.randrange(60, 2 * 86400, rng.choice([1, 60, 3600]))),
        }
        if rng.random() < 0.7:
            call["ScanBy"] = rng.choice(["TimestampAscending", "TimestampDescending"])
        calls.append(call)
    return calls


def _answers(calls: list[dict[str, Any]]) -> list[Any]:
    client = _client()
    answers = []
    for call in calls:
        response = client.get_metric_data(**call)
        response.pop("ResponseMetadata")
        answers.append(response)
    return answers


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_get_metric_data_answers_as_moto_does_on_generated_data(aws: None, seed: int) -> None:
    # Given two days of metrics, put out of time order, in single values and statistic sets
    _put_data(seed)
    calls = _calls(seed)
    # When the same calls are answered by moto's code and by the index
    slow = _answers(calls)
    with fast_cloudwatch.installed() as on:
        assert on
        assert CloudWatchBackend.get_metric_data is fast_cloudwatch._get_metric_data
        fast = _answers(calls)
    # Then every answer is the same, and the data were not all empty
    assert fast == slow
    assert sum(len(result["Values"]) for answer in fast for result in answer["MetricDataResults"]) > 100


def _one(namespace: str, dimensions: list[dict[str, str]], name: str = "UserConnected") -> list[float]:
    response = _client().get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
                    "Period": 3600,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=START,
        EndTime=START + dt.timedelta(hours=1),
    )
    return list(response["MetricDataResults"][0]["Values"])


def _put(namespace: str, dimensions: list[dict[str, str]], value: float, name: str = "UserConnected") -> None:
    datum: dict[str, Any] = {"MetricName": name, "Value": value, "Timestamp": START}
    if dimensions:
        datum["Dimensions"] = dimensions
    _client().put_metric_data(Namespace=namespace, MetricData=[datum])


def test_a_query_reads_its_own_namespace_only(aws: None) -> None:
    # Given the same metric name and dimensions in another namespace
    desk = [{"Name": "WorkspaceId", "Value": "ws-1"}]
    _put("Custom/Copy", desk, 5.0)
    # Then moto reads it for an AWS/WorkSpaces query (it ignores the namespace when dimensions are given)...
    assert _one("AWS/WorkSpaces", desk) == [5.0]
    # ...and CloudWatch, and the index, do not: a metric is its namespace, name and dimensions
    with fast_cloudwatch.installed():
        assert _one("AWS/WorkSpaces", desk) == []
        assert _one("Custom/Copy", desk) == [5.0]


def test_a_query_without_dimensions_does_not_add_up_every_desk(aws: None) -> None:
    # Given one metric per desk, and none published without dimensions
    _put("AWS/WorkSpaces", [{"Name": "WorkspaceId", "Value": "ws-1"}], 1.0)
    _put("AWS/WorkSpaces", [{"Name": "WorkspaceId", "Value": "ws-2"}], 2.0)
    # Then moto sums every desk for a query without dimensions...
    assert _one("AWS/WorkSpaces", []) == [3.0]
    # ...and CloudWatch, and the index, read the metric without dimensions only: there is none
    with fast_cloudwatch.installed():
        assert _one("AWS/WorkSpaces", []) == []
        _put("AWS/WorkSpaces", [], 7.0)
        assert _one("AWS/WorkSpaces", []) == [7.0]


def test_the_order_of_dimensions_does_not_name_another_metric(aws: None) -> None:
    put = [{"Name": "WorkspaceId", "Value": "ws-1"}, {"Name": "DirectoryId", "Value": "d-1"}]
    _put("AWS/WorkSpaces", put, 4.0)
    with fast_cloudwatch.installed():
        assert _one("AWS/WorkSpaces", put[::-1]) == [4.0]
        assert _one("AWS/WorkSpaces", put[:1]) == []  # a subset of the dimensions is another metric


def test_data_put_after_a_query_are_read_by_the_next(aws: None) -> None:
    desk = [{"Name": "WorkspaceId", "Value": "ws-1"}]
    with fast_cloudwatch.installed():
        assert _one("AWS/WorkSpaces", desk) == []
        _put("AWS/WorkSpaces", desk, 1.0)
        backend = cloudwatch_backends["123456789012"]["eu-west-1"]
        backend.put_metric_data("AWS/WorkSpaces", [{"MetricName": "UserConnected", "Dimensions": desk, "Value": 2.0}])
        backend.metric_data[-1].timestamp = START.replace(tzinfo=None)  # straight into moto, naive UTC as moto keeps
        assert _one("AWS/WorkSpaces", desk) == [3.0]


def test_a_call_with_metric_math_is_moto_s(aws: None) -> None:
    desk = [{"Name": "WorkspaceId", "Value": "ws-1"}]
    _put("AWS/WorkSpaces", desk, 2.0)
    metric = {"Namespace": "AWS/WorkSpaces", "MetricName": "UserConnected", "Dimensions": desk}
    call: dict[str, Any] = {
        "MetricDataQueries": [
            {"Id": "m", "MetricStat": {"Metric": metric, "Period": 3600, "Stat": "Sum"}},
            {"Id": "e", "Expression": "m * 2"},
        ],
        "StartTime": START,
        "EndTime": START + dt.timedelta(hours=1),
    }
    slow = _answers([call])
    with fast_cloudwatch.installed():
        assert _answers([call]) == slow
    assert [result["Id"] for result in slow[0]["MetricDataResults"]] == ["m", "e"]


@pytest.mark.parametrize(("hours", "error"), [(0, "must not equal"), (-1, "must be greater")])
def test_a_window_moto_refuses_is_refused_in_moto_s_words(aws: None, hours: int, error: str) -> None:
    client = _client()
    call: dict[str, Any] = {
        "MetricDataQueries": [
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/WorkSpaces", "MetricName": "UserConnected"},
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        "StartTime": START,
        "EndTime": START + dt.timedelta(hours=hours),
    }
    with pytest.raises(client.exceptions.ClientError) as slow:
        client.get_metric_data(**call)
    with fast_cloudwatch.installed(), pytest.raises(client.exceptions.ClientError) as fast:
        client.get_metric_data(**call)
    assert error in fast.value.response["Error"]["Message"]
    assert fast.value.response["Error"] == slow.value.response["Error"]


def test_the_switch_keeps_moto_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_json.ENV_SWITCH, "0")
    with fast_cloudwatch.installed() as on:
        assert not on
        assert CloudWatchBackend.get_metric_data is fast_cloudwatch._original_get_metric_data
