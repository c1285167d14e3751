"""fleet_watch's adapters against moto and the WorkSpaces emulator: observations (batch reads, conditional
writes), start records, roster, desk lookups, tags in bulk, alarms, and desk operations that must keep the
running mode."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import boto3
import pytest

from autopilot.adapters.alarms import Alarms
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.observation_store import DeskLookup, FleetObserver, ObservationStore, StartLogStore
from autopilot.adapters.tagging import Tagging
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.contracts.outputs import StepRecord
from autopilot.domain.fleet.ports import Observation, StartRecord
from autopilot.domain.incidents.alarms import desired_alarms, reconcile
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot.domain.kernel.workspace import WorkSpacesError
from localcloud.workspaces_emulator import Emulator
from tests.support.aws import create_table_from_template

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
ACCOUNT = "123456789012"
TABLE = "state"


@pytest.fixture
def dynamodb(aws: None) -> Any:
    resource = boto3.resource("dynamodb")
    create_table_from_template(resource, "StateTable", TABLE)
    return resource


def _count_calls(client: Any) -> Counter[str]:
    calls: Counter[str] = Counter()
    client.meta.events.register("before-call.*.*", lambda model, **_: calls.update([model.name]))
    return calls


def _observation(ws: str, at: dt.datetime = NOW, **changes: Any) -> Observation:
    fields: dict[str, Any] = {
        "workspace_id": ws,
        "directory_id": "d-1111111111",
        "state": "AVAILABLE",
        "running_mode": "AUTO_STOP",
        "observed_at": at,
        "autostop_minutes": 60,
        "connection_state": "DISCONNECTED",
        "last_user_connection": at - dt.timedelta(hours=2),
        "employee_id": f"e-{ws}",
        "adoption": "managed",
        "autostop_tag_hours": 3,
        "next_id": "ws-next00001",
    }
    return Observation(**(fields | changes))


def _desk(employee_id: str, workspace_id: str | None, **changes: Any) -> Desk:
    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "lifecycle": Lifecycle.READY,
        "site": "amiens-cc",
        "profile": "agent",
        "directory_id": "d-1111111111",
        "bundle_id": "wsb-standard01",
        "username": f"user-{employee_id}",
        "running_mode": "AUTO_STOP",
        "workspace_id": workspace_id,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Desk.model_validate(fields | changes)


# --- observations --------------------------------------------------------------------------------------------


def test_observations_round_trip_and_are_read_100_keys_a_call(dynamodb: Any) -> None:
    store = ObservationStore(dynamodb, TABLE)
    for n in range(250):
        assert store.put(_observation(f"ws-{n:08d}"))
    calls = _count_calls(dynamodb.meta.client)
    found = store.get_many([f"ws-{n:08d}" for n in range(260)])  # 10 never observed
    assert calls["BatchGetItem"] == 3
    assert len(found) == 250
    assert found["ws-00000042"] == _observation("ws-00000042")


def test_an_older_observation_never_overwrites_a_newer_one(dynamodb: Any) -> None:
    store = ObservationStore(dynamodb, TABLE)
    assert store.put(_observation("ws-00000001", NOW, state="STOPPED"))
    assert not store.put(_observation("ws-00000001", NOW - dt.timedelta(minutes=5), state="AVAILABLE"))
    assert not store.put(_observation("ws-00000001", NOW, state="AVAILABLE"))  # same time: first one stays
    assert store.get_many(["ws-00000001"])["ws-00000001"].state == "STOPPED"
    assert store.put(_observation("ws-00000001", NOW + dt.timedelta(minutes=5), state="AVAILABLE"))


def test_observations_stay_out_of_the_desk_indexes(dynamodb: Any) -> None:
    ObservationStore(dynamodb, TABLE).put(_observation("ws-00000001"))
    desks = DeskStore(dynamodb.Table(TABLE))
    assert desks.by_workspace("ws-00000001") is None
    assert list(desks.all_desks()) == []


def test_a_gone_observation_expires(dynamodb: Any) -> None:
    store = ObservationStore(dynamodb, TABLE)
    store.put(_observation("ws-00000001", gone=True, state="TERMINATED", next_id=None))
    item = dynamodb.Table(TABLE).get_item(Key={"pk": "OBS#ws-00000001", "sk": "OBS"})["Item"]
    assert int(item["expires_at"]) == int((NOW + dt.timedelta(days=30)).timestamp())
    assert store.get_many(["ws-00000001"])["ws-00000001"].gone


# --- start records, roster, desk lookups ------------------------------------------------------------------


def test_a_start_record_is_written_once_per_version(dynamodb: Any) -> None:
    log = StartLogStore(dynamodb, TABLE)
    step = StepRecord(action="rebuild", outcome="requested", at=NOW, reason="stuck")
    first = StartRecord("E1", "ws-00000001", "d-1111111111", "2026-12-01", "started", NOW, version=1)
    assert log.put(first)
    assert not log.put(first)  # a second tick with the same view loses
    rebuilt = StartRecord("E1", "ws-00000001", "d-1111111111", "2026-12-01", "rebuilding", NOW, NOW, (step,), 2)
    assert log.put(rebuilt)
    assert log.get_many(["E1", "E2"]) == {"E1": rebuilt}


def test_hires_awaiting_a_desk_are_the_scheduled_and_provisioning_records_without_a_workspace(dynamodb: Any) -> None:
    store = DeskStore(dynamodb.Table(TABLE))
    store.create(_desk("E1", None, lifecycle=Lifecycle.SCHEDULED))
    store.create(_desk("E2", None, lifecycle=Lifecycle.PROVISIONING))
    store.create(_desk("E3", "ws-00000003", lifecycle=Lifecycle.PROVISIONING))
    store.create(_desk("E4", "ws-00000004"))
    assert sorted(d.employee_id for d in DeskLookup(store).awaiting()) == ["E1", "E2"]


def test_a_desk_record_is_deleted_only_at_the_version_read(dynamodb: Any) -> None:
    store = DeskStore(dynamodb.Table(TABLE))
    first = store.create(_desk("ws-00000009", "ws-00000009", origin="adopted"))
    store.save(first)
    with pytest.raises(StaleUpdate):
        store.delete(first)
    store.delete(store.get("ws-00000009") or first)
    assert store.get("ws-00000009") is None


def test_an_observation_changes_owner_only_from_the_owner_named(dynamodb: Any) -> None:
    observations = ObservationStore(dynamodb, TABLE)
    seen = Observation("ws-00000010", "d-1111111111", "AVAILABLE", "AUTO_STOP", NOW, employee_id="ws-00000010")
    observations.put(seen)
    observations.reassign("ws-00000010", previous="E-other", employee_id="E10")
    assert observations.get_many(["ws-00000010"])["ws-00000010"].employee_id == "ws-00000010"
    observations.reassign("ws-00000010", previous="ws-00000010", employee_id="E10")
    assert observations.get_many(["ws-00000010"])["ws-00000010"].employee_id == "E10"
    observations.reassign("ws-unseen001", previous="ws-unseen001", employee_id="E11")  # nothing observed: no-op
    assert observations.get_many(["ws-unseen001"]) == {}


@pytest.mark.parametrize("count", [3, 80])  # queries for a few, one scan for many
def test_desk_records_are_found_by_workspace_and_by_employee(dynamodb: Any, count: int) -> None:
    store = DeskStore(dynamodb.Table(TABLE))
    for n in range(count):
        store.create(_desk(f"E{n}", f"ws-{n:08d}"))
    lookup = DeskLookup(store)
    wanted = [f"ws-{n:08d}" for n in range(count)] + ["ws-unknown01"]
    by_ws = lookup.by_workspace_ids(wanted)
    assert sorted(by_ws) == wanted[:-1]
    by_employee = lookup.by_employee_ids([f"E{n}" for n in range(count)] + ["E-none"])
    assert len(by_employee) == count
    assert by_employee["E1"].workspace_id == "ws-00000001"


# --- tags, in bulk ----------------------------------------------------------------------------------------


@pytest.fixture
def emulator(aws: None) -> Emulator:
    return Emulator(region="eu-west-1")


def test_desks_carrying_a_tag_key_are_listed_in_one_call(emulator: Emulator) -> None:
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard with Windows 10")
    tagged = emulator.seed_workspace(directory, "jdoe", bundle, tags={"AutopilotAutoStopHours": "4", "ManagedBy": "x"})
    emulator.seed_workspace(directory, "asmith", bundle, tags={"ManagedBy": "x"})
    client = boto3.client("resourcegroupstaggingapi")
    calls = _count_calls(client)
    found = Tagging(client, account_id=ACCOUNT).tagged_with("AutopilotAutoStopHours")
    assert found == {tagged: {"AutopilotAutoStopHours": "4", "ManagedBy": "x"}}
    assert calls["GetResources"] == 1


def test_desks_of_a_directory_and_of_the_account_are_read_in_pages_of_25(emulator: Emulator) -> None:
    # botocore's paginator with PageSize 25: Limit 25 on every DescribeWorkspaces call, NextToken followed to the end.
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard with Windows 10")
    seeded = set(emulator.seed_workspaces(directory, [f"user{n:03d}" for n in range(60)], bundle))
    client = boto3.client("workspaces")
    limits: list[Any] = []
    client.meta.events.register(
        "before-parameter-build.workspaces.DescribeWorkspaces", lambda params, **_: limits.append(params.get("Limit"))
    )

    assert {desk.workspace_id for desk in WorkSpaces(client).in_directory(directory)} == seeded
    assert limits == [25, 25, 25]
    limits.clear()
    assert {desk.workspace_id for desk in FleetObserver(client).in_account()} == seeded
    assert limits == [25, 25, 25]


def test_a_refused_page_is_a_workspaces_error_not_a_botocore_one(emulator: Emulator) -> None:
    # The paginator calls lazily, page by page: the translation wraps each page, not paginate().
    directory = emulator.create_directory("corp.example.com")
    emulator.refuse("DescribeWorkspaces", "AccessDeniedException")
    with pytest.raises(WorkSpacesError) as refused:
        list(WorkSpaces(boto3.client("workspaces")).in_directory(directory))
    assert refused.value.code == "AccessDeniedException"


def test_tags_of_given_desks_are_read_100_a_call(emulator: Emulator) -> None:
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard with Windows 10")
    ids = emulator.seed_workspaces(directory, [f"agent{n:03d}" for n in range(150)], bundle, tags={"ManagedBy": "x"})
    bare = emulator.seed_workspace(directory, "untagged", bundle, tags={})
    client = boto3.client("resourcegroupstaggingapi")
    sizes: list[int] = []
    client.meta.events.register(
        "provide-client-params.*.GetResources", lambda params, **_: sizes.append(len(params["ResourceARNList"]))
    )
    found = Tagging(client, account_id=ACCOUNT).tags_of([*ids, bare])
    assert sorted(set(sizes)) == [51, 100]  # 151 desks: one list of 100 ARNs, one of 51
    assert len(found) == 150
    assert found[ids[0]] == {"ManagedBy": "x"}
    assert bare not in found


# --- alarms -------------------------------------------------------------------------------------------------


def test_a_connection_failure_alarm_reads_back_as_the_spec_it_was_written_from(aws: None) -> None:
    prefix = "workspaces-autopilot-test-connection-failure-"
    alarms = Alarms(boto3.client("cloudwatch"))
    wanted = desired_alarms(prefix, ["d-1111111111", "d-2222222222"])
    for spec in wanted:
        alarms.put(spec)
    assert reconcile(wanted, alarms.existing(prefix)).put == []
    (alarm,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"{prefix}d-1111111111"])["MetricAlarms"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/WorkSpaces",
        "ConnectionFailure",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "DirectoryId", "Value": "d-1111111111"}]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (300, 1, 1.0)
    assert (alarm["ComparisonOperator"], alarm["TreatMissingData"]) == ("GreaterThanOrEqualToThreshold", "notBreaching")
    alarms.delete([f"{prefix}d-2222222222"])
    assert sorted(alarms.existing(prefix)) == [f"{prefix}d-1111111111"]


# --- desk operations keep the running mode ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["AUTO_STOP", "ALWAYS_ON"])
def test_start_rebuild_and_restore_never_change_the_running_mode(emulator: Emulator, mode: str) -> None:
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard with Windows 10")
    minutes = 120 if mode == "AUTO_STOP" else None
    ws = emulator.seed_workspace(directory, "jdoe", bundle, running_mode=mode, autostop_minutes=minutes)
    workspaces = WorkSpaces(boto3.client("workspaces"))

    def mode_and_timeout() -> tuple[str, int | None]:
        (info,) = workspaces.describe([ws])
        return info.running_mode, info.autostop_minutes

    if mode == "AUTO_STOP":
        emulator.set_state(ws, "STOPPED")
        assert workspaces.start([ws]) == []
        assert mode_and_timeout() == (mode, minutes)
    emulator.set_state(ws, "ERROR")
    assert workspaces.rebuild(ws) is None
    assert mode_and_timeout() == (mode, minutes)
    emulator.set_state(ws, "UNHEALTHY")
    workspaces.restore(ws)
    assert mode_and_timeout() == (mode, minutes)
