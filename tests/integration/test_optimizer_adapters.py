"""The optimiser's adapters against moto: UserConnected through GetMetricData (500 series a call, NextToken),
managed desks from the WorkSpaces emulator and the tagging API, usage records and report rows in the state table."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from autopilot.adapters.tagging import Tagging
from autopilot.adapters.usage_metrics import MAX_QUERIES, ManagedFleet, UsageMetrics, pair_role
from autopilot.adapters.usage_store import UsageStore
from autopilot.domain.cost.ports import ModeChangeRefused, ReportRow, UsageRecord
from autopilot.domain.kernel.errors import StaleUpdate, TransientAwsError
from localcloud.workspaces_emulator import Emulator
from tests.support.aws import create_table_from_template

UTC = dt.UTC
DAY_START = dt.datetime(2026, 3, 10, tzinfo=UTC)
# Read-only: a test that popped from it emptied it for every test after it (found running the tests in reverse).
MANAGED: Mapping[str, str] = MappingProxyType({"ManagedBy": "workspaces-autopilot"})


class CallCounter:
    """Counts GetMetricData calls and the queries in each, with a botocore event hook."""

    def __init__(self, client: Any) -> None:
        self.queries_per_call: list[int] = []
        client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.queries_per_call.append(len(params["MetricDataQueries"]))


def put_connected(cloudwatch: Any, workspace_id: str, *hours: dt.datetime) -> None:
    """UserConnected samples as WorkSpaces sends them (every 5 minutes while a user is connected)."""
    data = [
        {
            "MetricName": "UserConnected",
            "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
            "Timestamp": hour + dt.timedelta(minutes=minute),
            "Value": 1.0,
            "Unit": "Count",
        }
        for hour in hours
        for minute in range(0, 60, 5)
    ]
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/WorkSpaces", MetricData=data[start : start + 1000])


# --- UsageMetrics ------------------------------------------------------------------------------------------------
def test_running_hours_are_the_hours_stopped_was_not_1_throughout(aws: None) -> None:
    # Stopped per minute-period: 0 while the desk runs (a pre-warm start nobody used), 1 while it is stopped.
    cloudwatch = boto3.client("cloudwatch")
    data = [
        {
            "MetricName": "Stopped",
            "Dimensions": [{"Name": "WorkspaceId", "Value": "ws-aaaaaaaa1"}],
            "Timestamp": DAY_START + dt.timedelta(hours=hour, minutes=minute),
            "Value": 0.0 if (hour, minute) < (7, 10) and hour >= 6 else 1.0,
            "Unit": "Count",
        }
        for hour in (5, 6, 7, 8)
        for minute in range(0, 60, 5)
    ]
    cloudwatch.put_metric_data(Namespace="AWS/WorkSpaces", MetricData=data)
    found = UsageMetrics(cloudwatch).running_hours({"ws-aaaaaaaa1": DAY_START}, DAY_START + dt.timedelta(days=1))
    assert found == {"ws-aaaaaaaa1": [DAY_START + dt.timedelta(hours=6), DAY_START + dt.timedelta(hours=7)]}


def test_connected_hours_come_back_per_desk_from_the_metric(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    morning = [DAY_START + dt.timedelta(hours=h) for h in (9, 10, 11)]
    put_connected(cloudwatch, "ws-aaaaaaaa1", *morning)
    put_connected(cloudwatch, "ws-bbbbbbbb1", DAY_START + dt.timedelta(hours=15))
    # Idle samples (0) are not connected hours.
    cloudwatch.put_metric_data(
        Namespace="AWS/WorkSpaces",
        MetricData=[
            {
                "MetricName": "UserConnected",
                "Dimensions": [{"Name": "WorkspaceId", "Value": "ws-cccccccc1"}],
                "Timestamp": DAY_START + dt.timedelta(hours=3),
                "Value": 0.0,
            }
        ],
    )
    starts = dict.fromkeys(("ws-aaaaaaaa1", "ws-bbbbbbbb1", "ws-cccccccc1"), DAY_START)
    found = UsageMetrics(cloudwatch).connected_hours(starts, DAY_START + dt.timedelta(days=1))
    assert found == {
        "ws-aaaaaaaa1": morning,
        "ws-bbbbbbbb1": [DAY_START + dt.timedelta(hours=15)],
        "ws-cccccccc1": [],
    }


def test_each_desk_gets_only_the_hours_since_its_own_start(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    put_connected(cloudwatch, "ws-aaaaaaaa1", DAY_START + dt.timedelta(hours=2), DAY_START + dt.timedelta(hours=20))
    put_connected(cloudwatch, "ws-bbbbbbbb1", DAY_START + dt.timedelta(hours=2), DAY_START + dt.timedelta(hours=20))
    starts = {"ws-aaaaaaaa1": DAY_START, "ws-bbbbbbbb1": DAY_START + dt.timedelta(hours=12)}
    found = UsageMetrics(cloudwatch).connected_hours(starts, DAY_START + dt.timedelta(days=1))
    assert found["ws-aaaaaaaa1"] == [DAY_START + dt.timedelta(hours=2), DAY_START + dt.timedelta(hours=20)]
    assert found["ws-bbbbbbbb1"] == [DAY_START + dt.timedelta(hours=20)]


def test_ten_thousand_desks_cost_twenty_calls_of_at_most_500_series(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    counter = CallCounter(cloudwatch)
    desks = [f"ws-{n:09d}" for n in range(10_000)]
    sampled = desks[::2_500]
    for workspace_id in sampled:
        put_connected(cloudwatch, workspace_id, DAY_START + dt.timedelta(hours=9))
    found = UsageMetrics(cloudwatch).connected_hours(dict.fromkeys(desks, DAY_START), DAY_START + dt.timedelta(days=1))
    assert len(counter.queries_per_call) == math.ceil(10_000 / MAX_QUERIES) == 20
    assert max(counter.queries_per_call) <= MAX_QUERIES
    assert {ws for ws, hours in found.items() if hours} == set(sampled)
    assert len(found) == 10_000


def test_desks_are_batched_by_how_far_back_they_must_be_read(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    requests: list[dict[str, Any]] = []
    cloudwatch.meta.events.register(
        "before-parameter-build.cloudwatch.GetMetricData", lambda params, **_: requests.append(params)
    )
    recent = {f"ws-r{n:08d}": DAY_START for n in range(600)}
    older = {f"ws-o{n:08d}": DAY_START - dt.timedelta(days=9) for n in range(10)}
    UsageMetrics(cloudwatch).connected_hours(recent | older, DAY_START + dt.timedelta(days=1))
    # 610 desks: two calls; the 10 that must be read from 9 days back share the first, the second reads one day.
    assert [len(r["MetricDataQueries"]) for r in requests] == [500, 110]
    assert requests[1]["StartTime"] == DAY_START


def test_pages_of_datapoints_are_followed_with_next_token(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    end = DAY_START + dt.timedelta(days=1)
    with Stubber(cloudwatch) as stub:
        first = {
            "MetricDataResults": [
                {
                    "Id": "u0",
                    "Timestamps": [DAY_START + dt.timedelta(hours=9)],
                    "Values": [1.0],
                    "StatusCode": "PartialData",
                },
                {"Id": "u1", "Timestamps": [], "Values": [], "StatusCode": "PartialData"},
            ],
            "NextToken": "page-2",
        }
        second = {
            "MetricDataResults": [
                {
                    "Id": "u0",
                    "Timestamps": [DAY_START + dt.timedelta(hours=10)],
                    "Values": [1.0],
                    "StatusCode": "Complete",
                },
                {
                    "Id": "u1",
                    "Timestamps": [DAY_START + dt.timedelta(hours=4)],
                    "Values": [1.0],
                    "StatusCode": "Complete",
                },
            ]
        }
        stub.add_response("get_metric_data", first)
        stub.add_response("get_metric_data", second, expected_params=None)
        found = UsageMetrics(cloudwatch).connected_hours({"ws-aaaaaaaa1": DAY_START, "ws-bbbbbbbb1": DAY_START}, end)
        stub.assert_no_pending_responses()
    assert found == {
        "ws-aaaaaaaa1": [DAY_START + dt.timedelta(hours=9), DAY_START + dt.timedelta(hours=10)],
        "ws-bbbbbbbb1": [DAY_START + dt.timedelta(hours=4)],
    }


def test_a_series_cloudwatch_could_not_read_fails_the_run(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "u0", "Timestamps": [], "Values": [], "StatusCode": "InternalError"}]},
        )
        with pytest.raises(TransientAwsError, match="InternalError"):
            UsageMetrics(cloudwatch).connected_hours({"ws-aaaaaaaa1": DAY_START}, DAY_START + dt.timedelta(days=1))


# --- ManagedFleet ------------------------------------------------------------------------------------------------
@pytest.fixture
def emulator(aws: None) -> Emulator:
    return Emulator(region="eu-west-1")


def fleet() -> ManagedFleet:
    return ManagedFleet(
        boto3.client("workspaces"), Tagging(boto3.client("resourcegroupstaggingapi"), account_id="123456789012")
    )


def test_managed_desks_are_read_in_pages_of_25_with_their_tags_in_bulk(emulator: Emulator) -> None:
    directory = emulator.create_directory("corp.example.com")
    other = emulator.create_directory("cc.example.com", cidr="10.1.0.0/16")
    bundle = emulator.create_bundle("Standard with Windows 10")
    managed = emulator.seed_workspaces(directory, [f"agent{n:03d}" for n in range(60)], bundle, tags=MANAGED)
    skipped = emulator.seed_workspace(
        directory,
        "vip",
        bundle,
        running_mode="ALWAYS_ON",
        autostop_minutes=None,
        tags=MANAGED | {"AutopilotSkipOptimizer": "1"},
    )
    emulator.seed_workspace(directory, "someone", bundle, tags={"ManagedBy": "another-tool"})
    emulator.seed_workspace(directory, "untagged", bundle)
    emulator.seed_workspace(other, "elsewhere", bundle, tags=MANAGED)
    tag_calls: list[str] = []
    tagging = boto3.client("resourcegroupstaggingapi")
    tagging.meta.events.register(
        "before-call.resource-groups-tagging-api.GetResources", lambda **_: tag_calls.append("GetResources")
    )
    adapter = ManagedFleet(boto3.client("workspaces"), Tagging(tagging, account_id="123456789012"))
    before = emulator.api_calls.get("DescribeWorkspaces", 0)
    desks = adapter.managed_desks([directory], "ManagedBy", "workspaces-autopilot")
    assert {d.workspace_id for d in desks} == {*managed, skipped}
    # 64 desks in the directory: 3 pages of 25. 62 managed desks' tags: one GetResources page of 100.
    assert emulator.api_calls["DescribeWorkspaces"] - before == 3
    assert len(tag_calls) == 1
    vip = next(d for d in desks if d.workspace_id == skipped)
    assert (vip.running_mode, vip.autostop_minutes, vip.compute) == ("ALWAYS_ON", None, "STANDARD")
    assert vip.tags["AutopilotSkipOptimizer"] == "1"


def test_standby_pairs_are_recognised_from_describe_workspaces(emulator: Emulator) -> None:
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard with Windows 10")
    primary, standby, single = emulator.seed_workspaces(directory, ["p", "s", "x"], bundle, tags=MANAGED)
    client = boto3.client("workspaces")

    def add_relations(parsed: dict[str, Any], **_: Any) -> None:
        # The emulator has no Multi-Region Resilience: add what DescribeWorkspaces reports for a pair.
        for workspace in parsed.get("Workspaces", []):
            if workspace["WorkspaceId"] == primary:
                workspace["RelatedWorkspaces"] = [{"WorkspaceId": standby, "Region": "eu-central-1", "Type": "STANDBY"}]
                workspace["StandbyWorkspacesProperties"] = [{"StandbyWorkspaceId": standby}]
            if workspace["WorkspaceId"] == standby:
                workspace["RelatedWorkspaces"] = [{"WorkspaceId": primary, "Region": "eu-central-1", "Type": "PRIMARY"}]

    client.meta.events.register("after-call.workspaces.DescribeWorkspaces", add_relations)
    adapter = ManagedFleet(client, Tagging(boto3.client("resourcegroupstaggingapi"), account_id="123456789012"))
    roles = {d.workspace_id: d.pair_role for d in adapter.managed_desks([directory], "ManagedBy", MANAGED["ManagedBy"])}
    assert roles == {primary: "primary", standby: "standby", single: None}
    assert pair_role({"StandbyWorkspacesProperties": [{"StandbyWorkspaceId": "ws-x"}]}) == "primary"


def test_running_modes_are_switched_with_the_profile_autostop(emulator: Emulator) -> None:
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard with Windows 10")
    hourly = emulator.seed_workspace(directory, "heavy", bundle, tags=MANAGED)
    monthly = emulator.seed_workspace(
        directory, "light", bundle, running_mode="ALWAYS_ON", autostop_minutes=None, tags=MANAGED
    )
    adapter = fleet()
    adapter.set_running_mode(hourly, "ALWAYS_ON", None)
    adapter.set_running_mode(monthly, "AUTO_STOP", 120)
    assert emulator.workspace(hourly)["running_mode"] == "ALWAYS_ON"
    assert (emulator.workspace(monthly)["running_mode"], emulator.workspace(monthly)["autostop_minutes"]) == (
        "AUTO_STOP",
        120,
    )


def test_a_refused_change_becomes_a_per_desk_failure(emulator: Emulator) -> None:
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard with Windows 10")
    desk = emulator.seed_workspace(directory, "heavy", bundle, tags=MANAGED)
    emulator.fail_requests("ModifyWorkspaceProperties", [desk], error_code="OperationInProgressException")
    with pytest.raises(ModeChangeRefused) as refused:
        fleet().set_running_mode(desk, "ALWAYS_ON", None)
    assert (refused.value.workspace_id, refused.value.code) == (desk, "OperationInProgressException")


# --- UsageStore --------------------------------------------------------------------------------------------------
@pytest.fixture
def table(aws: None) -> Any:
    return create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")


def test_usage_records_round_trip_and_load_in_batches(table: Any) -> None:
    store = UsageStore(table)
    desks = [f"ws-{n:09d}" for n in range(130)]
    for workspace_id in desks:
        store.save(UsageRecord(workspace_id=workspace_id, month="2026-03", connected="ff", hours=9, break_even=87.5))
    store.save(UsageRecord(workspace_id=desks[0], month="2026-02", closed=True, decision="to_auto_stop"))
    found = store.load(desks, ["2026-02", "2026-03"])  # 260 keys: three BatchGetItem calls
    assert len(found) == 131
    record = found[(desks[0], "2026-03")]
    assert (record.connected, record.hours, record.break_even, record.version) == ("ff", 9, 87.5, 1)
    assert found[(desks[0], "2026-02")].closed


def test_a_usage_record_changed_since_it_was_read_is_refused(table: Any) -> None:
    store = UsageStore(table)
    first = store.save(UsageRecord(workspace_id="ws-aaaaaaaa1", month="2026-03"))
    store.save(first.model_copy(update={"hours": 3}))
    with pytest.raises(StaleUpdate):
        store.save(first.model_copy(update={"hours": 4}))
    with pytest.raises(StaleUpdate):
        store.save(UsageRecord(workspace_id="ws-aaaaaaaa1", month="2026-03"))
    assert store.get("ws-aaaaaaaa1", "2026-03").hours == 3  # type: ignore[union-attr]


def test_report_rows_are_read_back_per_month_and_stay_out_of_the_desk_indexes(table: Any) -> None:
    store = UsageStore(table)
    at = dt.datetime(2026, 3, 31, 5, 30, tzinfo=UTC)
    for n in range(3):
        store.put_report_row(
            ReportRow(
                month="2026-03",
                workspace_id=f"ws-aaaaaaaa{n}",
                employee_id=f"E{n}",
                compute="STANDARD",
                running_mode="ALWAYS_ON",
                hours=40 + n,
                break_even=87.5,
                decision="to_auto_stop",
                estimated_saving=14.25,
                applied="changed",
                decided_at=at,
            )
        )
    store.put_report_row(
        ReportRow(month="2026-04", workspace_id="ws-aaaaaaaa0", hours=1, decision="keep", decided_at=at)
    )
    rows = store.report_rows("2026-03")
    assert sorted(row.hours for row in rows) == [40, 41, 42]
    assert rows[0].estimated_saving == pytest.approx(14.25)
    assert rows[0].decided_at == at
    indexed = table.scan(IndexName="ByWorkspace")["Items"]
    assert indexed == []
