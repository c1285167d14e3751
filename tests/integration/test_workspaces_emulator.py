"""The WorkSpaces lifecycle emulator, round-tripped through boto3.

Every test runs twice: under ``moto.mock_aws()`` and against a ``ThreadedMotoServer`` over HTTP (marked
``server``). The process clock is frozen with time-machine and moved with ``clock.shift``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import time_machine
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.server import ThreadedMotoServer
from moto.workspaces.models import WorkSpacesBackend
from moto.workspaces.responses import WorkSpacesResponse

from localcloud.workspaces_emulator import DURATIONS, Emulator, Transition, install, installed, uninstall

if TYPE_CHECKING:
    from mypy_boto3_workspaces import WorkSpacesClient

REGION = "eu-west-1"
START = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
PATCHED_OPERATIONS = [
    "create_workspaces",
    "describe_workspaces",
    "terminate_workspaces",
    "reboot_workspaces",
    "rebuild_workspaces",
    "restore_workspace",
    "start_workspaces",
    "stop_workspaces",
    "modify_workspace_properties",
    "modify_workspace_state",
    "migrate_workspace",
    "describe_workspaces_connection_status",
    "describe_workspace_bundles",
    "describe_workspace_snapshots",
    "create_tags",
    "delete_tags",
    "describe_tags",
]


@dataclass
class Cloud:
    emu: Emulator
    endpoint_url: str | None
    directory_id: str
    bundle_id: str

    def client(self, config: Config | None = None) -> WorkSpacesClient:
        return boto3.client("workspaces", region_name=REGION, endpoint_url=self.endpoint_url, config=config)

    @property
    def ws(self) -> WorkSpacesClient:
        return self.client()


@pytest.fixture(scope="module", autouse=True)
def emulator_installed() -> Iterator[None]:
    # The patch is process-wide: leave moto as this module found it for whatever runs next.
    was_installed = installed()
    install()
    yield
    if not was_installed:
        uninstall()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_WORKSPACES", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture(params=["mock", pytest.param("server", marks=pytest.mark.server)])
def cloud(request: pytest.FixtureRequest, aws_env: None, clock: time_machine.Traveller) -> Iterator[Cloud]:
    if request.param == "mock":
        with mock_aws():
            yield _world(None)
    else:
        url = request.getfixturevalue("moto_server")
        BackendDict.reset()
        try:
            yield _world(url)
        finally:
            BackendDict.reset()


def _world(endpoint_url: str | None) -> Cloud:
    emu = Emulator(region=REGION)
    directory_id = emu.create_directory("corp.example.com")
    bundle_id = emu.create_bundle("Standard with Windows 10", compute="STANDARD", root_gb=80, user_gb=50)
    return Cloud(emu, endpoint_url, directory_id, bundle_id)


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Keep botocore's retry decisions, drop its sleeping (up to 1 s, 2 s, 4 s) between attempts.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


# --- helpers ---------------------------------------------------------------------------------------------


def create(cloud: Cloud, *users: str, bundle_id: str | None = None, **props: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "DirectoryId": cloud.directory_id,
        "UserName": "",
        "BundleId": bundle_id or cloud.bundle_id,
    }
    if props:
        request["WorkspaceProperties"] = props
    items: list[Any] = [{**request, "UserName": u} for u in users]
    return dict(cloud.ws.create_workspaces(Workspaces=items))


def state(cloud: Cloud, workspace_id: str) -> str:
    found = cloud.ws.describe_workspaces(WorkspaceIds=[workspace_id])["Workspaces"]
    return str(found[0]["State"]) if found else "GONE"


def seed(cloud: Cloud, user: str = "jdoe", **kwargs: Any) -> str:
    return cloud.emu.seed_workspace(cloud.directory_id, user, cloud.bundle_id, **kwargs)


def connection(cloud: Cloud, workspace_id: str) -> dict[str, Any]:
    status = cloud.ws.describe_workspaces_connection_status(WorkspaceIds=[workspace_id])
    return dict(status["WorkspacesConnectionStatus"][0])


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# --- installation ----------------------------------------------------------------------------------------


def test_install_is_idempotent_and_attaches_every_operation() -> None:
    install()
    call_action = WorkSpacesResponse.call_action
    install()
    assert WorkSpacesResponse.call_action is call_action
    for name in PATCHED_OPERATIONS:
        assert callable(getattr(WorkSpacesResponse, name)), name
        assert callable(getattr(WorkSpacesBackend, name)), name


def test_uninstall_gives_moto_its_own_workspaces_back() -> None:
    uninstall()
    try:
        assert not installed()
        assert not hasattr(WorkSpacesResponse, "reboot_workspaces")
        assert "call_action" not in WorkSpacesResponse.__dict__
    finally:
        install()
    assert hasattr(WorkSpacesResponse, "reboot_workspaces")


# --- CreateWorkspaces ------------------------------------------------------------------------------------


def test_new_desk_is_pending_then_available_after_about_20_minutes(cloud: Cloud, clock: time_machine.Traveller) -> None:
    result = create(cloud, "jdoe", RunningMode="AUTO_STOP")
    assert result["FailedRequests"] == []
    desk = result["PendingRequests"][0]
    assert desk["State"] == "PENDING"
    clock.shift(timedelta(minutes=19))
    assert state(cloud, desk["WorkspaceId"]) == "PENDING"
    clock.shift(timedelta(minutes=1))
    described = cloud.ws.describe_workspaces(WorkspaceIds=[desk["WorkspaceId"]])["Workspaces"][0]
    assert described["State"] == "AVAILABLE"
    assert described["IpAddress"]
    assert cloud.emu.transitions == [
        Transition(desk["WorkspaceId"], "PENDING", "AVAILABLE", START + timedelta(minutes=20))
    ]


def test_auto_stop_desk_gets_the_default_60_minute_timeout(cloud: Cloud) -> None:
    desk = create(cloud, "jdoe", RunningMode="AUTO_STOP")["PendingRequests"][0]
    assert desk["WorkspaceProperties"]["RunningModeAutoStopTimeoutInMinutes"] == 60
    assert cloud.emu.workspace(desk["WorkspaceId"])["autostop_minutes"] == 60


def test_second_desk_for_the_same_user_in_a_directory_fails_per_item(cloud: Cloud) -> None:
    create(cloud, "jdoe")
    result = create(cloud, "jdoe", "asmith", "asmith")
    assert [d["UserName"] for d in result["PendingRequests"]] == ["asmith"]
    assert [(f["WorkspaceRequest"]["UserName"], f["ErrorCode"]) for f in result["FailedRequests"]] == [
        ("jdoe", "ResourceExists.WorkSpace"),
        ("asmith", "ResourceExists.WorkSpace"),
    ]


def test_create_with_unknown_bundle_fails_per_item(cloud: Cloud) -> None:
    result = create(cloud, "jdoe", bundle_id="wsb-doesnotexist")
    assert result["PendingRequests"] == []
    assert result["FailedRequests"][0]["ErrorCode"] == "ResourceNotFound.Bundle"


def test_create_in_unregistered_directory_fails_per_item(cloud: Cloud) -> None:
    result = cloud.ws.create_workspaces(
        Workspaces=[{"DirectoryId": "d-0123456789", "UserName": "jdoe", "BundleId": cloud.bundle_id}]
    )
    assert result["FailedRequests"][0]["ErrorCode"] == "ResourceNotFound.Directory"


def test_create_for_user_missing_from_directory_fails_until_ad_sync(cloud: Cloud) -> None:
    cloud.emu.set_user_missing(cloud.directory_id, "newbie")
    failed = create(cloud, "newbie", "jdoe")
    assert [d["UserName"] for d in failed["PendingRequests"]] == ["jdoe"]
    assert failed["FailedRequests"][0]["ErrorCode"] == "ResourceNotFound.User"
    assert failed["FailedRequests"][0]["WorkspaceRequest"]["UserName"] == "newbie"
    cloud.emu.set_user_missing(cloud.directory_id, "newbie", missing=False)
    assert create(cloud, "newbie")["FailedRequests"] == []


def test_create_batch_of_26_is_refused_as_a_validation_error(cloud: Cloud) -> None:
    with pytest.raises(ClientError) as exc:
        create(cloud, *[f"user{i}" for i in range(26)])
    assert error_code(exc) == "ValidationException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert create(cloud, *[f"user{i}" for i in range(25)])["FailedRequests"] == []


def test_autostop_timeout_must_come_in_60_minute_steps(cloud: Cloud) -> None:
    result = create(cloud, "jdoe", RunningMode="AUTO_STOP", RunningModeAutoStopTimeoutInMinutes=90)
    assert result["FailedRequests"][0]["ErrorCode"] == "InvalidParameterValuesException"
    ws_id = seed(cloud, "asmith")
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(
            WorkspaceId=ws_id, WorkspaceProperties={"RunningModeAutoStopTimeoutInMinutes": 45}
        )
    assert error_code(exc) == "InvalidParameterValuesException"


def test_always_on_desk_with_autostop_timeout_fails_per_item(cloud: Cloud) -> None:
    result = create(cloud, "jdoe", RunningMode="ALWAYS_ON", RunningModeAutoStopTimeoutInMinutes=60)
    assert result["FailedRequests"][0]["ErrorCode"] == "AutoStopTimeoutIsNotApplicableForAnAlwaysOnWorkspace"


# --- DescribeWorkspaces ----------------------------------------------------------------------------------


def test_describe_pages_60_desks_in_pages_of_25_with_next_token(cloud: Cloud) -> None:
    ids = cloud.emu.seed_workspaces(cloud.directory_id, [f"agent{i:02}" for i in range(60)], cloud.bundle_id)
    pages = list(cloud.ws.get_paginator("describe_workspaces").paginate(DirectoryId=cloud.directory_id))
    assert [len(p["Workspaces"]) for p in pages] == [25, 25, 10]
    assert "NextToken" in pages[0]
    assert "NextToken" not in pages[-1]
    assert sorted(w["WorkspaceId"] for p in pages for w in p["Workspaces"]) == sorted(ids)
    small = cloud.ws.describe_workspaces(Limit=7)
    assert len(small["Workspaces"]) == 7
    rest = cloud.ws.describe_workspaces(Limit=25, NextToken=small["NextToken"])
    assert not {w["WorkspaceId"] for w in small["Workspaces"]} & {w["WorkspaceId"] for w in rest["Workspaces"]}


def test_describe_limit_above_25_is_refused(cloud: Cloud) -> None:
    with pytest.raises(ClientError) as exc:
        cloud.ws.describe_workspaces(Limit=26)
    assert error_code(exc) == "ValidationException"


def test_describe_accepts_one_filter_at_a_time(cloud: Cloud) -> None:
    ws_id = seed(cloud)
    with pytest.raises(ClientError) as exc:
        cloud.ws.describe_workspaces(DirectoryId=cloud.directory_id, BundleId=cloud.bundle_id)
    assert error_code(exc) == "InvalidParameterValuesException"
    with pytest.raises(ClientError) as exc:
        cloud.ws.describe_workspaces(UserName="jdoe")
    assert error_code(exc) == "InvalidParameterValuesException"
    by_user = cloud.ws.describe_workspaces(DirectoryId=cloud.directory_id, UserName="jdoe")["Workspaces"]
    by_bundle = cloud.ws.describe_workspaces(BundleId=cloud.bundle_id)["Workspaces"]
    assert [w["WorkspaceId"] for w in by_user] == [w["WorkspaceId"] for w in by_bundle] == [ws_id]


def test_describe_with_a_forged_next_token_is_refused(cloud: Cloud) -> None:
    with pytest.raises(ClientError) as exc:
        cloud.ws.describe_workspaces(NextToken="not-a-token")
    assert error_code(exc) == "InvalidParameterValuesException"


# --- Reboot / Rebuild / Start / Stop ---------------------------------------------------------------------


def test_reboot_goes_through_rebooting_back_to_available(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    assert cloud.ws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"] == []
    assert state(cloud, ws_id) == "REBOOTING"
    clock.shift(DURATIONS["REBOOTING"])
    assert state(cloud, ws_id) == "AVAILABLE"


def test_reboot_of_stopped_desk_fails_per_item(cloud: Cloud) -> None:
    stopped = seed(cloud, state="STOPPED")
    running = seed(cloud, "asmith")
    failed = cloud.ws.reboot_workspaces(
        RebootWorkspaceRequests=[{"WorkspaceId": stopped}, {"WorkspaceId": running}, {"WorkspaceId": "ws-unknown1"}]
    )["FailedRequests"]
    assert [(f["WorkspaceId"], f["ErrorCode"]) for f in failed] == [
        (stopped, "InvalidResourceState"),
        ("ws-unknown1", "ResourceNotFound.Workspace"),
    ]
    assert "STOPPED" in failed[0]["ErrorMessage"]
    assert state(cloud, running) == "REBOOTING"


def test_reboot_of_26_desks_is_refused(cloud: Cloud) -> None:
    with pytest.raises(ClientError) as exc:
        cloud.ws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": f"ws-{i:09}"} for i in range(26)])
    assert error_code(exc) == "ValidationException"


def test_rebuild_of_two_desks_is_refused(cloud: Cloud) -> None:
    first, second = seed(cloud, "a"), seed(cloud, "b")
    with pytest.raises(ClientError) as exc:
        cloud.ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": first}, {"WorkspaceId": second}])
    assert error_code(exc) == "ValidationException"
    assert state(cloud, first) == state(cloud, second) == "AVAILABLE"


def test_rebuild_of_unhealthy_desk_goes_through_rebuilding(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    cloud.emu.set_state(ws_id, "UNHEALTHY")
    assert state(cloud, ws_id) == "UNHEALTHY"
    assert cloud.ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"] == []
    assert state(cloud, ws_id) == "REBUILDING"
    clock.shift(DURATIONS["REBUILDING"])
    assert state(cloud, ws_id) == "AVAILABLE"


def test_rebuild_of_pending_desk_fails_per_item(cloud: Cloud) -> None:
    ws_id = create(cloud, "jdoe")["PendingRequests"][0]["WorkspaceId"]
    failed = cloud.ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"]
    assert failed[0]["ErrorCode"] == "InvalidResourceState"


def test_start_of_always_on_desk_fails_per_item(cloud: Cloud) -> None:
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    failed = cloud.ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"]
    assert failed[0]["ErrorCode"] == "OperationNotSupported"
    failed = cloud.ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"]
    assert failed[0]["ErrorCode"] == "OperationNotSupported"


def test_stop_then_start_an_auto_stop_desk(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud)
    assert cloud.ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"] == []
    assert state(cloud, ws_id) == "STOPPING"
    clock.shift(DURATIONS["STOPPING"])
    assert state(cloud, ws_id) == "STOPPED"
    failed = cloud.ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"]
    assert failed[0]["ErrorCode"] == "InvalidResourceState"
    assert cloud.ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"] == []
    assert state(cloud, ws_id) == "STARTING"
    clock.shift(DURATIONS["STARTING"])
    assert state(cloud, ws_id) == "AVAILABLE"
    assert connection(cloud, ws_id)["ConnectionState"] == "DISCONNECTED"


def test_start_of_available_desk_fails_per_item(cloud: Cloud) -> None:
    ws_id = seed(cloud)
    failed = cloud.ws.start_workspaces(StartWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"]
    assert failed[0]["ErrorCode"] == "InvalidResourceState"


# --- ADMIN_MAINTENANCE -----------------------------------------------------------------------------------


def test_admin_maintenance_refuses_reboot_stop_start_rebuild_and_restore(cloud: Cloud) -> None:
    ws_id = seed(cloud)
    cloud.ws.modify_workspace_state(WorkspaceId=ws_id, WorkspaceState="ADMIN_MAINTENANCE")
    assert state(cloud, ws_id) == "ADMIN_MAINTENANCE"
    request: list[Any] = [{"WorkspaceId": ws_id}]
    answers = [
        cloud.ws.reboot_workspaces(RebootWorkspaceRequests=request),
        cloud.ws.stop_workspaces(StopWorkspaceRequests=request),
        cloud.ws.start_workspaces(StartWorkspaceRequests=request),
        cloud.ws.rebuild_workspaces(RebuildWorkspaceRequests=request),
    ]
    for answer in answers:
        assert answer["FailedRequests"][0]["ErrorCode"] == "InvalidResourceState"
        assert "ADMIN_MAINTENANCE" in answer["FailedRequests"][0]["ErrorMessage"]
    with pytest.raises(ClientError) as exc:
        cloud.ws.restore_workspace(WorkspaceId=ws_id)
    assert error_code(exc) == "OperationNotSupportedException"
    assert not cloud.emu.login(ws_id).ok
    assert state(cloud, ws_id) == "ADMIN_MAINTENANCE"


def test_admin_maintenance_desk_is_not_auto_stopped(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, autostop_minutes=60)
    cloud.ws.modify_workspace_state(WorkspaceId=ws_id, WorkspaceState="ADMIN_MAINTENANCE")
    clock.shift(timedelta(hours=5))
    assert state(cloud, ws_id) == "ADMIN_MAINTENANCE"
    cloud.ws.modify_workspace_state(WorkspaceId=ws_id, WorkspaceState="AVAILABLE")
    clock.shift(timedelta(minutes=59))
    assert state(cloud, ws_id) == "AVAILABLE"
    clock.shift(timedelta(minutes=1))
    assert state(cloud, ws_id) == "STOPPING"


def test_modify_state_rejects_other_targets_and_wrong_source_states(cloud: Cloud) -> None:
    ws_id = seed(cloud, state="STOPPED")
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_state(WorkspaceId=ws_id, WorkspaceState="ADMIN_MAINTENANCE")
    assert error_code(exc) == "InvalidResourceStateException"
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_state(WorkspaceId="ws-unknown1", WorkspaceState="AVAILABLE")
    assert error_code(exc) == "ResourceNotFoundException"


# --- AutoStop and connections ----------------------------------------------------------------------------


def test_autostop_after_disconnection_then_login_restarts_the_desk(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, autostop_minutes=120)
    login = cloud.emu.login(ws_id)
    assert login.ok
    assert login.connected_at == START
    clock.shift(timedelta(hours=3))
    assert state(cloud, ws_id) == "AVAILABLE"  # a connected user keeps the desk running
    assert connection(cloud, ws_id)["ConnectionState"] == "CONNECTED"
    assert cloud.emu.disconnect(ws_id)
    disconnected_at = START + timedelta(hours=3)
    clock.shift(timedelta(minutes=119))
    assert state(cloud, ws_id) == "AVAILABLE"
    clock.shift(timedelta(minutes=1))
    assert state(cloud, ws_id) == "STOPPING"
    clock.shift(DURATIONS["STOPPING"])
    assert state(cloud, ws_id) == "STOPPED"
    status = connection(cloud, ws_id)
    assert status["ConnectionState"] == "UNKNOWN"
    assert status["LastKnownUserConnectionTimestamp"] == disconnected_at

    restart = cloud.emu.login(ws_id)
    assert restart.ok
    assert restart.state == "STARTING"
    assert state(cloud, ws_id) == "STARTING"
    clock.shift(timedelta(seconds=90))
    assert state(cloud, ws_id) == "AVAILABLE"
    status = connection(cloud, ws_id)
    assert status["ConnectionState"] == "CONNECTED"
    assert restart.connected_at == status["LastKnownUserConnectionTimestamp"]
    assert [(t.from_state, t.to_state) for t in cloud.emu.transitions] == [
        ("AVAILABLE", "STOPPING"),
        ("STOPPING", "STOPPED"),
        ("STOPPED", "STARTING"),
        ("STARTING", "AVAILABLE"),
    ]


def test_desk_never_connected_stops_after_timeout_from_becoming_available(
    cloud: Cloud, clock: time_machine.Traveller
) -> None:
    ws_id = create(cloud, "jdoe", RunningMode="AUTO_STOP")["PendingRequests"][0]["WorkspaceId"]
    clock.shift(timedelta(minutes=20 + 60))
    assert state(cloud, ws_id) == "STOPPING"
    assert [t.at for t in cloud.emu.transitions] == [
        START + timedelta(minutes=20),
        START + timedelta(minutes=80),
    ]


def test_always_on_desk_is_never_auto_stopped(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    clock.shift(timedelta(days=2))
    assert state(cloud, ws_id) == "AVAILABLE"
    assert connection(cloud, ws_id)["ConnectionState"] == "DISCONNECTED"


def test_connection_status_is_unknown_when_stopped(cloud: Cloud) -> None:
    stopped = seed(cloud, state="STOPPED")
    running = seed(cloud, "asmith", connected=True)
    answer = cloud.ws.describe_workspaces_connection_status(WorkspaceIds=[stopped, running])
    by_id = {s["WorkspaceId"]: s for s in answer["WorkspacesConnectionStatus"]}
    assert by_id[stopped]["ConnectionState"] == "UNKNOWN"
    assert by_id[running]["ConnectionState"] == "CONNECTED"
    assert by_id[running]["ConnectionStateCheckTimestamp"] == START


def test_connection_status_pages_the_whole_fleet(cloud: Cloud) -> None:
    cloud.emu.seed_workspaces(cloud.directory_id, [f"u{i}" for i in range(30)], cloud.bundle_id)
    pages = list(cloud.ws.get_paginator("describe_workspaces_connection_status").paginate())
    assert [len(p["WorkspacesConnectionStatus"]) for p in pages] == [25, 5]


# --- Throttling and injected failures -------------------------------------------------------------------


def test_throttled_calls_are_retried_by_botocore_standard_mode(cloud: Cloud, no_backoff: None) -> None:
    cloud.emu.throttle("CreateWorkspaces", times=2)
    client = cloud.client(Config(retries={"mode": "standard", "total_max_attempts": 4}))
    answer = client.create_workspaces(
        Workspaces=[{"DirectoryId": cloud.directory_id, "UserName": "jdoe", "BundleId": cloud.bundle_id}]
    )
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert answer["FailedRequests"] == []
    assert len(answer["PendingRequests"]) == 1
    assert cloud.emu.api_calls["CreateWorkspaces"] == 3


def test_throttling_beyond_the_retry_budget_surfaces_as_throttling_exception(cloud: Cloud, no_backoff: None) -> None:
    cloud.emu.throttle("DescribeWorkspaces", times=5)
    client = cloud.client(Config(retries={"mode": "standard", "total_max_attempts": 4}))
    with pytest.raises(ClientError) as exc:
        client.describe_workspaces()
    assert error_code(exc) == "ThrottlingException"
    assert exc.value.response["Error"]["Message"] == "Rate exceeded"
    assert cloud.emu.api_calls["DescribeWorkspaces"] == 4
    assert client.describe_workspaces()["ResponseMetadata"]["RetryAttempts"] == 1


def test_fail_requests_answers_chosen_desks_with_failed_requests(cloud: Cloud) -> None:
    sick, fine = seed(cloud, "a", running_mode="ALWAYS_ON"), seed(cloud, "b", running_mode="ALWAYS_ON")
    cloud.emu.fail_requests("RebootWorkspaces", [sick], error_code="InternalFailure", error_message="boom")
    request: list[Any] = [{"WorkspaceId": sick}, {"WorkspaceId": fine}]
    failed = cloud.ws.reboot_workspaces(RebootWorkspaceRequests=request)["FailedRequests"]
    assert failed == [{"WorkspaceId": sick, "ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]
    assert state(cloud, sick) == "AVAILABLE"
    assert state(cloud, fine) == "REBOOTING"
    assert cloud.ws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": sick}])["FailedRequests"] == []


def test_fail_requests_on_create_is_keyed_by_user_name(cloud: Cloud) -> None:
    cloud.emu.fail_requests("CreateWorkspaces", ["jdoe"], error_code="InternalError", times=2)
    assert create(cloud, "jdoe")["FailedRequests"][0]["ErrorCode"] == "InternalError"
    assert create(cloud, "jdoe")["FailedRequests"][0]["ErrorCode"] == "InternalError"
    assert create(cloud, "jdoe")["FailedRequests"] == []


def test_fail_requests_on_a_single_desk_operation_raises_the_chosen_error(cloud: Cloud) -> None:
    ws_id = seed(cloud)
    cloud.emu.fail_requests("RestoreWorkspace", [ws_id], error_code="ResourceUnavailableException")
    with pytest.raises(ClientError) as exc:
        cloud.ws.restore_workspace(WorkspaceId=ws_id)
    assert error_code(exc) == "ResourceUnavailableException"
    assert state(cloud, ws_id) == "AVAILABLE"


# --- ModifyWorkspaceProperties ---------------------------------------------------------------------------


def test_modify_compute_up_then_again_within_6_hours_is_refused(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, compute="STANDARD")
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "PERFORMANCE"})
    described = cloud.ws.describe_workspaces(WorkspaceIds=[ws_id])["Workspaces"][0]
    assert described["State"] == "UPDATING"
    assert described["ModificationStates"] == [{"Resource": "COMPUTE_TYPE", "State": "UPDATE_IN_PROGRESS"}]
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "POWER"})
    assert error_code(exc) == "OperationInProgressException"
    clock.shift(DURATIONS["UPDATING"])
    assert state(cloud, ws_id) == "AVAILABLE"
    assert cloud.emu.workspace(ws_id)["compute_type"] == "PERFORMANCE"
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "POWER"})
    assert error_code(exc) == "InvalidResourceStateException"
    assert "6 hours" in exc.value.response["Error"]["Message"]
    clock.shift(timedelta(hours=6))
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "POWER"})
    assert state(cloud, ws_id) == "UPDATING"


def test_compute_increase_is_refused_within_6_hours_of_launch(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = create(cloud, "jdoe", RunningMode="AUTO_STOP")["PendingRequests"][0]["WorkspaceId"]
    clock.shift(timedelta(minutes=30))
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "POWER"})
    assert error_code(exc) == "InvalidResourceStateException"


def test_compute_decrease_is_allowed_once_in_30_days(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, compute="POWER", running_mode="ALWAYS_ON")
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "PERFORMANCE"})
    clock.shift(timedelta(days=29))
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "STANDARD"})
    assert error_code(exc) == "InvalidResourceStateException"
    clock.shift(timedelta(days=1))
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "STANDARD"})
    clock.shift(DURATIONS["UPDATING"])
    assert cloud.emu.workspace(ws_id)["compute_type"] == "STANDARD"


def test_compute_change_across_families_is_unsupported(cloud: Cloud) -> None:
    ws_id = seed(cloud)
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(
            WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "GRAPHICS_G4DN"}
        )
    assert error_code(exc) == "UnsupportedWorkspaceConfigurationException"


def test_modify_is_refused_unless_available_or_stopped(cloud: Cloud) -> None:
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    cloud.ws.reboot_workspaces(RebootWorkspaceRequests=[{"WorkspaceId": ws_id}])
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"RunningMode": "AUTO_STOP"})
    assert error_code(exc) == "InvalidResourceStateException"
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(WorkspaceId="ws-unknown1", WorkspaceProperties={})
    assert error_code(exc) == "ResourceNotFoundException"


def test_modify_running_mode_and_autostop_timeout(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    # One property per call (see test_modify_properties_changes_one_property_per_call).
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"RunningMode": "AUTO_STOP"})
    cloud.ws.modify_workspace_properties(
        WorkspaceId=ws_id, WorkspaceProperties={"RunningModeAutoStopTimeoutInMinutes": 180}
    )
    props = cloud.ws.describe_workspaces(WorkspaceIds=[ws_id])["Workspaces"][0]["WorkspaceProperties"]
    assert props["RunningMode"] == "AUTO_STOP"
    assert props["RunningModeAutoStopTimeoutInMinutes"] == 180
    clock.shift(timedelta(minutes=179))
    assert state(cloud, ws_id) == "AVAILABLE"
    clock.shift(timedelta(minutes=1))
    assert state(cloud, ws_id) == "STOPPING"
    clock.shift(DURATIONS["STOPPING"])
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"RunningMode": "ALWAYS_ON"})
    assert state(cloud, ws_id) == "STARTING"  # an AlwaysOn desk does not stay stopped


def test_modify_volumes_grow_only_and_not_with_compute(cloud: Cloud) -> None:
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(
            WorkspaceId=ws_id, WorkspaceProperties={"ComputeTypeName": "POWER", "UserVolumeSizeGib": 100}
        )
    assert error_code(exc) == "InvalidParameterValuesException"
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"UserVolumeSizeGib": 10})
    assert error_code(exc) == "InvalidParameterValuesException"
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"UserVolumeSizeGib": 100})
    described = cloud.ws.describe_workspaces(WorkspaceIds=[ws_id])["Workspaces"][0]
    assert described["State"] == "UPDATING"
    assert described["WorkspaceProperties"]["UserVolumeSizeGib"] == 100


# --- MigrateWorkspace, snapshots, restore ---------------------------------------------------------------


def test_migrate_returns_a_new_desk_and_the_source_goes_away(cloud: Cloud, clock: time_machine.Traveller) -> None:
    power = cloud.emu.create_bundle("Power with Windows 10", compute="POWER", root_gb=175, user_gb=100)
    source = seed(cloud, tags={"ManagedBy": "workspaces-autopilot"}, autostop_minutes=120)
    answer = cloud.ws.migrate_workspace(SourceWorkspaceId=source, BundleId=power)
    target = answer["TargetWorkspaceId"]
    assert answer["SourceWorkspaceId"] == source
    assert target != source
    assert state(cloud, target) == "PENDING"
    assert state(cloud, source) == "TERMINATING"
    assert cloud.emu.find(cloud.directory_id, "jdoe") == target
    clock.shift(DURATIONS["PENDING"])
    assert state(cloud, source) == "GONE"
    desk = cloud.ws.describe_workspaces(WorkspaceIds=[target])["Workspaces"][0]
    assert desk["State"] == "AVAILABLE"
    assert (desk["UserName"], desk["DirectoryId"], desk["BundleId"]) == ("jdoe", cloud.directory_id, power)
    assert desk["WorkspaceProperties"]["ComputeTypeName"] == "POWER"
    assert desk["WorkspaceProperties"]["RunningModeAutoStopTimeoutInMinutes"] == 120
    assert cloud.ws.describe_tags(ResourceId=target)["TagList"] == [
        {"Key": "ManagedBy", "Value": "workspaces-autopilot"}
    ]


def test_migrate_to_unknown_bundle_or_from_stopping_desk_is_refused(cloud: Cloud) -> None:
    ws_id = seed(cloud)
    with pytest.raises(ClientError) as exc:
        cloud.ws.migrate_workspace(SourceWorkspaceId=ws_id, BundleId="wsb-doesnotexist")
    assert error_code(exc) == "ResourceNotFoundException"
    cloud.ws.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": ws_id}])
    with pytest.raises(ClientError) as exc:
        cloud.ws.migrate_workspace(SourceWorkspaceId=ws_id, BundleId="wsb-amznpower1")
    assert error_code(exc) == "OperationNotSupportedException"


def test_snapshots_are_every_12_hours_and_restore_uses_the_last_good_one(
    cloud: Cloud, clock: time_machine.Traveller
) -> None:
    ws_id = create(cloud, "jdoe", RunningMode="ALWAYS_ON")["PendingRequests"][0]["WorkspaceId"]
    assert cloud.ws.describe_workspace_snapshots(WorkspaceId=ws_id)["RestoreSnapshots"] == []
    with pytest.raises(ClientError) as exc:
        cloud.ws.restore_workspace(WorkspaceId=ws_id)
    assert error_code(exc) == "OperationNotSupportedException"
    available_at = START + DURATIONS["PENDING"]
    clock.shift(DURATIONS["PENDING"] + timedelta(hours=13))
    snapshots = cloud.ws.describe_workspace_snapshots(WorkspaceId=ws_id)
    assert snapshots["RebuildSnapshots"] == [{"SnapshotTime": available_at + timedelta(hours=12)}]
    assert snapshots["RestoreSnapshots"] == [{"SnapshotTime": available_at + timedelta(hours=12)}]
    cloud.emu.set_state(ws_id, "ERROR", error_code="InternalError")
    clock.shift(timedelta(hours=24))
    frozen = cloud.ws.describe_workspace_snapshots(WorkspaceId=ws_id)["RestoreSnapshots"]
    assert frozen == [{"SnapshotTime": available_at + timedelta(hours=12)}]
    cloud.ws.restore_workspace(WorkspaceId=ws_id)
    assert state(cloud, ws_id) == "RESTORING"
    clock.shift(DURATIONS["RESTORING"])
    assert state(cloud, ws_id) == "AVAILABLE"


def test_restore_of_unknown_desk_is_resource_not_found(cloud: Cloud) -> None:
    with pytest.raises(ClientError) as exc:
        cloud.ws.describe_workspace_snapshots(WorkspaceId="ws-unknown1")
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        cloud.ws.restore_workspace(WorkspaceId="ws-unknown1")
    assert error_code(exc) == "ResourceNotFoundException"


# --- Tags ------------------------------------------------------------------------------------------------


def test_create_delete_and_describe_tags(cloud: Cloud) -> None:
    ws_id = seed(cloud, tags={"ManagedBy": "workspaces-autopilot", "Team": "a"})
    cloud.ws.create_tags(ResourceId=ws_id, Tags=[{"Key": "Team", "Value": "b"}, {"Key": "Shift", "Value": "early"}])
    cloud.ws.delete_tags(ResourceId=ws_id, TagKeys=["ManagedBy", "Absent"])
    assert sorted((t["Key"], t["Value"]) for t in cloud.ws.describe_tags(ResourceId=ws_id)["TagList"]) == [
        ("Shift", "early"),
        ("Team", "b"),
    ]
    cloud.ws.create_tags(ResourceId=cloud.directory_id, Tags=[{"Key": "Site", "Value": "paris-hq"}])
    assert cloud.ws.describe_tags(ResourceId=cloud.directory_id)["TagList"] == [{"Key": "Site", "Value": "paris-hq"}]


def test_tags_of_unknown_resource_are_resource_not_found(cloud: Cloud) -> None:
    for call in (
        lambda: cloud.ws.describe_tags(ResourceId="ws-unknown1"),
        lambda: cloud.ws.create_tags(ResourceId="ws-unknown1", Tags=[{"Key": "k", "Value": "v"}]),
        lambda: cloud.ws.delete_tags(ResourceId="ws-unknown1", TagKeys=["k"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ResourceNotFoundException"


def test_more_than_50_tags_is_a_resource_limit(cloud: Cloud) -> None:
    ws_id = seed(cloud)
    with pytest.raises(ClientError) as exc:
        cloud.ws.create_tags(ResourceId=ws_id, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert error_code(exc) == "ResourceLimitExceededException"


# --- TerminateWorkspaces ---------------------------------------------------------------------------------


def test_terminate_goes_terminating_then_gone(cloud: Cloud, clock: time_machine.Traveller) -> None:
    ws_id = seed(cloud, state="ERROR")
    assert cloud.ws.terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"] == []
    assert state(cloud, ws_id) == "TERMINATING"
    assert create(cloud, "jdoe")["FailedRequests"][0]["ErrorCode"] == "ResourceExists.WorkSpace"
    clock.shift(DURATIONS["TERMINATING"])
    assert state(cloud, ws_id) == "GONE"
    assert cloud.emu.find(cloud.directory_id, "jdoe") is None
    assert cloud.emu.transitions[-1].to_state == "TERMINATED"
    assert create(cloud, "jdoe")["FailedRequests"] == []


def test_terminate_of_suspended_or_unknown_desk_fails_per_item(cloud: Cloud) -> None:
    ws_id = seed(cloud, state="SUSPENDED")
    failed = cloud.ws.terminate_workspaces(
        TerminateWorkspaceRequests=[{"WorkspaceId": ws_id}, {"WorkspaceId": "ws-unknown1"}]
    )["FailedRequests"]
    assert [f["ErrorCode"] for f in failed] == ["InvalidResourceState", "ResourceNotFound.Workspace"]


# --- Bundles ---------------------------------------------------------------------------------------------


def test_describe_bundles_lists_account_and_amazon_bundles(cloud: Cloud) -> None:
    own = cloud.ws.describe_workspace_bundles()["Bundles"]
    assert [(b["BundleId"], b["Name"], b["ComputeType"]["Name"]) for b in own] == [
        (cloud.bundle_id, "Standard with Windows 10", "STANDARD")
    ]
    assert own[0]["RootStorage"] == {"Capacity": "80"}
    assert own[0]["UserStorage"] == {"Capacity": "50"}
    public = cloud.ws.describe_workspace_bundles(Owner="AMAZON")["Bundles"]
    assert public
    assert all(b["Owner"] == "AMAZON" for b in public)
    picked = cloud.ws.describe_workspace_bundles(BundleIds=[cloud.bundle_id, public[0]["BundleId"]])["Bundles"]
    assert len(picked) == 2
    with pytest.raises(ClientError) as exc:
        cloud.ws.describe_workspace_bundles(BundleIds=[cloud.bundle_id], Owner="AMAZON")
    assert error_code(exc) == "InvalidParameterValuesException"


# --- facade ----------------------------------------------------------------------------------------------


def test_facade_reports_desks_in_the_report_shape(cloud: Cloud) -> None:
    ws_id = seed(cloud, tags={"ManagedBy": "workspaces-autopilot"})
    always_on = seed(cloud, "asmith", running_mode="ALWAYS_ON")
    assert cloud.emu.workspace(ws_id) == {
        "workspace_id": ws_id,
        "user": "jdoe",
        "directory_id": cloud.directory_id,
        "bundle_id": cloud.bundle_id,
        "state": "AVAILABLE",
        "running_mode": "AUTO_STOP",
        "autostop_minutes": 60,
        "compute_type": "STANDARD",
        "tags": {"ManagedBy": "workspaces-autopilot"},
    }
    assert cloud.emu.workspace(always_on)["autostop_minutes"] is None
    assert sorted(w["workspace_id"] for w in cloud.emu.all_workspaces()) == sorted([ws_id, always_on])
    assert cloud.emu.find(cloud.directory_id, "asmith") == always_on
    assert cloud.emu.find(cloud.directory_id, "nobody") is None
    assert cloud.emu.bundle_id("Standard with Windows 10") == cloud.bundle_id


def test_advance_settles_what_is_due_in_time_order(cloud: Cloud, clock: time_machine.Traveller) -> None:
    stuck = seed(cloud, "a", running_mode="ALWAYS_ON")
    cloud.emu.set_state(stuck, "REBOOTING")
    flowing = seed(cloud, "b", running_mode="ALWAYS_ON")
    cloud.emu.set_state(flowing, "REBOOTING", settle=True)
    pending = create(cloud, "c")["PendingRequests"][0]["WorkspaceId"]
    assert cloud.emu.advance() == []
    clock.shift(timedelta(hours=1))
    settled = cloud.emu.advance()
    assert [(t.workspace_id, t.to_state, t.at) for t in settled] == [
        (flowing, "AVAILABLE", START + DURATIONS["REBOOTING"]),
        (pending, "AVAILABLE", START + DURATIONS["PENDING"]),
    ]
    assert cloud.emu.workspace(stuck)["state"] == "REBOOTING"  # set_state pins a state by default
    log = cloud.emu.transitions
    assert [t.at for t in log] == sorted(t.at for t in log)


def test_next_due_tells_a_jumping_clock_when_the_next_transition_happens(
    cloud: Cloud, clock: time_machine.Traveller
) -> None:
    assert cloud.emu.next_due() is None
    ws_id = create(cloud, "jdoe", RunningMode="AUTO_STOP")["PendingRequests"][0]["WorkspaceId"]
    assert cloud.emu.next_due() == START + DURATIONS["PENDING"]
    clock.shift(DURATIONS["PENDING"])
    cloud.emu.advance()
    assert cloud.emu.next_due() == START + DURATIONS["PENDING"] + timedelta(minutes=60)
    cloud.emu.login(ws_id)
    assert cloud.emu.next_due() is None


def test_bulk_seed_of_a_large_fleet_settles_only_what_changes(cloud: Cloud, clock: time_machine.Traveller) -> None:
    users = [f"agent{i:05}" for i in range(5000)]
    ids = cloud.emu.seed_workspaces(cloud.directory_id, users, cloud.bundle_id, running_mode="ALWAYS_ON")
    cloud.emu.seed_workspaces(cloud.directory_id, ["late1", "late2"], cloud.bundle_id, autostop_minutes=60)
    assert len(set(ids)) == 5000
    first = cloud.ws.describe_workspaces(DirectoryId=cloud.directory_id)
    assert len(first["Workspaces"]) == 25
    assert "NextToken" in first
    clock.shift(timedelta(hours=1))
    assert [t.to_state for t in cloud.emu.advance()] == ["STOPPING", "STOPPING"]
    with pytest.raises(ValueError, match="already has a WorkSpace"):
        cloud.emu.seed_workspaces(cloud.directory_id, ["agent00001"], cloud.bundle_id)


def test_reset_forgets_desks_bundles_and_injected_faults(cloud: Cloud) -> None:
    seed(cloud)
    cloud.emu.throttle("DescribeWorkspaces", times=10)
    cloud.emu.reset()
    assert cloud.emu.all_workspaces() == []
    assert cloud.emu.bundle_id("Standard with Windows 10") is None
    assert cloud.ws.describe_workspaces()["Workspaces"] == []


# --- issue 18: WorkSpaces' own rules ---------------------------------------------------------------------


def test_user_names_are_case_insensitive_for_one_desk_per_user(cloud: Cloud) -> None:
    # WorkspaceRequest.UserName: "The username is not case-sensitive" (API reference).
    assert create(cloud, "jdoe")["FailedRequests"] == []
    (failed,) = create(cloud, "JDoe")["FailedRequests"]
    assert failed["ErrorCode"] == "ResourceExists.WorkSpace"
    (pair,) = create(cloud, "asmith", "ASmith")["FailedRequests"]
    assert pair["WorkspaceRequest"]["UserName"] == "ASmith"


def test_a_new_desk_is_not_described_right_after_create(cloud: Cloud, clock: time_machine.Traveller) -> None:
    # CreateWorkspaces: "if you call DescribeWorkspaces before the WorkSpace is created, the information returned
    # can be incomplete" (API reference).
    ws_id = create(cloud, "jdoe")["PendingRequests"][0]["WorkspaceId"]
    assert cloud.ws.describe_workspaces(WorkspaceIds=[ws_id])["Workspaces"] == []
    assert cloud.ws.describe_workspaces(DirectoryId=cloud.directory_id, UserName="jdoe")["Workspaces"] == []
    clock.shift(DURATIONS["DESCRIBE_DELAY"])
    assert state(cloud, ws_id) == "PENDING"


def test_rebuild_of_a_desk_created_an_hour_ago_is_refused(cloud: Cloud, clock: time_machine.Traveller) -> None:
    # "If your administrator recently created your WorkSpace, you must wait 12 hours before you can rebuild" and a
    # rebuild needs a snapshot of the user volume (admin guide, Rebuild a WorkSpace).
    ws_id = create(cloud, "jdoe", RunningMode="ALWAYS_ON")["PendingRequests"][0]["WorkspaceId"]
    clock.shift(DURATIONS["PENDING"] + timedelta(hours=1))
    assert state(cloud, ws_id) == "AVAILABLE"
    assert cloud.ws.describe_workspace_snapshots(WorkspaceId=ws_id)["RebuildSnapshots"] == []
    (failed,) = cloud.ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"]
    assert failed["ErrorCode"] == "InvalidResourceState"
    with pytest.raises(ClientError) as exc:
        cloud.ws.restore_workspace(WorkspaceId=ws_id)
    assert error_code(exc) == "OperationNotSupportedException"
    assert state(cloud, ws_id) == "AVAILABLE"

    clock.shift(timedelta(hours=11))  # 12 hours after it first became AVAILABLE: the first snapshot exists
    assert cloud.ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"] == []
    assert state(cloud, ws_id) == "REBUILDING"


@pytest.mark.parametrize("source", ["STOPPING", "STARTING", "UPDATING", "SUSPENDED", "IMPAIRED"])
def test_rebuild_only_from_the_states_aws_lists(cloud: Cloud, source: str) -> None:
    ws_id = seed(cloud, running_mode="AUTO_STOP")
    cloud.emu.set_state(ws_id, source)
    (failed,) = cloud.ws.rebuild_workspaces(RebuildWorkspaceRequests=[{"WorkspaceId": ws_id}])["FailedRequests"]
    assert failed["ErrorCode"] == "InvalidResourceState"


def test_modify_properties_changes_one_property_per_call(cloud: Cloud) -> None:
    # The Terraform AWS provider changes one property per call: "Only one workspace property could be changed in
    # a time" (internal/service/workspaces/workspace.go).
    ws_id = seed(cloud, running_mode="ALWAYS_ON")
    with pytest.raises(ClientError) as exc:
        cloud.ws.modify_workspace_properties(
            WorkspaceId=ws_id,
            WorkspaceProperties={"RunningMode": "AUTO_STOP", "RunningModeAutoStopTimeoutInMinutes": 120},
        )
    assert error_code(exc) == "InvalidParameterValuesException"
    cloud.ws.modify_workspace_properties(WorkspaceId=ws_id, WorkspaceProperties={"RunningMode": "AUTO_STOP"})
    cloud.ws.modify_workspace_properties(
        WorkspaceId=ws_id, WorkspaceProperties={"RunningModeAutoStopTimeoutInMinutes": 120}
    )
    props = cloud.ws.describe_workspaces(WorkspaceIds=[ws_id])["Workspaces"][0]["WorkspaceProperties"]
    assert (props["RunningMode"], props["RunningModeAutoStopTimeoutInMinutes"]) == ("AUTO_STOP", 120)
