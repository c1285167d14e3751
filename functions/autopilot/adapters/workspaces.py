"""The WorkSpaces API, at its batch limits: 25 desks a call (CreateWorkspaces, Start/Stop/Reboot/Terminate,
DescribeWorkspaces pages, DescribeWorkspacesConnectionStatus), one a call for Rebuild. Per-item failures come
back with HTTP 200 in FailedRequests; they are returned as typed results, never dropped.

A call that fails as a whole never leaves this module as a botocore error: throttling, 5xx and timeouts become
TransientAwsError (Lambda/SQS retry), anything else WorkSpacesError, an AwsRefused carrying the IAM action and
the AWS error code only (adapters.aws.translated; docs/reliability.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from autopilot.adapters.aws import translated, translated_pages
from autopilot.domain.kernel.errors import AwsRefused
from autopilot.domain.kernel.workspace import (
    ConnectionInfo,
    CreateResult,
    DeskSpec,
    ItemFailure,
    WorkspaceInfo,
    WorkSpacesError,
)

BATCH = 25


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _operation(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def _failures(response: dict[str, Any]) -> list[ItemFailure]:
    return [
        ItemFailure(f.get("WorkspaceId", ""), f.get("ErrorCode", "Unknown")) for f in response.get("FailedRequests", [])
    ]


class WorkSpaces:
    def __init__(self, client: Any) -> None:
        self._client = client

    # --- reads ---------------------------------------------------------------------------------------
    def find(self, directory_id: str, username: str) -> WorkspaceInfo | None:
        """The desk of a user in a directory (at most one exists), for reconciliation before creating."""
        response = self._call("describe_workspaces", DirectoryId=directory_id, UserName=username)
        found = [WorkspaceInfo.from_api(ws) for ws in response.get("Workspaces", [])]
        live = [ws for ws in found if ws.state not in ("TERMINATING", "TERMINATED")]
        return live[0] if live else None

    def describe(self, workspace_ids: Sequence[str]) -> list[WorkspaceInfo]:
        found: list[WorkspaceInfo] = []
        for chunk in chunks(list(workspace_ids)):
            response = self._call("describe_workspaces", WorkspaceIds=list(chunk))
            found += [WorkspaceInfo.from_api(ws) for ws in response.get("Workspaces", [])]
        return found

    def in_directory(self, directory_id: str) -> Iterator[WorkspaceInfo]:
        """Every desk of a directory, in pages of 25."""
        for page in self._pages("describe_workspaces", page_size=BATCH, DirectoryId=directory_id):
            yield from (WorkspaceInfo.from_api(ws) for ws in page.get("Workspaces", []))

    def connection_status(self, workspace_ids: Sequence[str]) -> dict[str, ConnectionInfo]:
        statuses: dict[str, ConnectionInfo] = {}
        for chunk in chunks(list(workspace_ids)):
            response = self._call("describe_workspaces_connection_status", WorkspaceIds=list(chunk))
            for status in response.get("WorkspacesConnectionStatus", []):
                statuses[status["WorkspaceId"]] = ConnectionInfo(
                    workspace_id=status["WorkspaceId"],
                    state=status.get("ConnectionState", "UNKNOWN"),
                    checked_at=status.get("ConnectionStateCheckTimestamp"),
                    last_user_connection=status.get("LastKnownUserConnectionTimestamp"),
                )
        return statuses

    def directories(self) -> dict[str, str]:
        """Registered directories: DNS name -> directory id."""
        names: dict[str, str] = {}
        for page in self._pages("describe_workspace_directories"):
            for directory in page.get("Directories", []):
                names[directory.get("DirectoryName", directory["DirectoryId"])] = directory["DirectoryId"]
        return names

    def bundles(self) -> dict[str, str]:
        """Bundles of this account and AWS's public ones: name -> bundle id."""
        names: dict[str, str] = {}
        for owner in (None, "AMAZON"):
            by_owner: dict[str, Any] = {"Owner": owner} if owner else {}
            for page in self._pages("describe_workspace_bundles", **by_owner):
                for bundle in page.get("Bundles", []):
                    names.setdefault(bundle["Name"], bundle["BundleId"])
        return names

    # --- changes -------------------------------------------------------------------------------------
    def create(self, specs: Sequence[DeskSpec]) -> CreateResult:
        created: dict[str, str] = {}
        failed: list[ItemFailure] = []
        for chunk in chunks(list(specs)):
            # Results name the user, not the request: two requests for one user (at most one can succeed) each
            # take their own key, in request order, so neither hire is reported with the other's outcome.
            by_user: dict[tuple[str, str], list[str]] = {}
            for s in chunk:
                by_user.setdefault((s.directory_id, s.username.lower()), []).append(s.key)
            response = self._call("create_workspaces", Workspaces=[spec.as_request() for spec in chunk])
            for pending in response.get("PendingRequests", []):
                key = by_user[(pending["DirectoryId"], pending["UserName"].lower())].pop(0)
                created[key] = pending["WorkspaceId"]
            for failure in response.get("FailedRequests", []):
                request = failure.get("WorkspaceRequest", {})
                key = by_user[(request.get("DirectoryId", ""), request.get("UserName", "").lower())].pop(0)
                failed.append(ItemFailure(key, failure.get("ErrorCode", "Unknown")))
        return CreateResult(created, failed)

    def start(self, workspace_ids: Iterable[str]) -> list[ItemFailure]:
        return self._batch("start_workspaces", "StartWorkspaceRequests", workspace_ids)

    def stop(self, workspace_ids: Iterable[str]) -> list[ItemFailure]:
        return self._batch("stop_workspaces", "StopWorkspaceRequests", workspace_ids)

    def reboot(self, workspace_ids: Iterable[str]) -> list[ItemFailure]:
        return self._batch("reboot_workspaces", "RebootWorkspaceRequests", workspace_ids)

    def terminate(self, workspace_ids: Iterable[str]) -> list[ItemFailure]:
        return self._batch("terminate_workspaces", "TerminateWorkspaceRequests", workspace_ids)

    def rebuild(self, workspace_id: str) -> ItemFailure | None:
        """One desk per call, as the API requires."""
        failures = self._batch("rebuild_workspaces", "RebuildWorkspaceRequests", [workspace_id], size=1)
        return failures[0] if failures else None

    def restore(self, workspace_id: str) -> None:
        self._call("restore_workspace", WorkspaceId=workspace_id)

    def modify(
        self,
        workspace_id: str,
        *,
        compute: str | None = None,
        autostop_minutes: int | None = None,
        running_mode: str | None = None,
    ) -> None:
        # One property per call: WorkSpaces refuses several in one request (docs/local-cloud.md, the Terraform AWS
        # provider's evidence). The running mode before its timeout; the compute type last, because it puts
        # the desk in UPDATING, where further changes are refused.
        changes: list[dict[str, Any]] = []
        if running_mode:
            changes.append({"RunningMode": running_mode})
        if autostop_minutes:
            changes.append({"RunningModeAutoStopTimeoutInMinutes": autostop_minutes})
        if compute:
            changes.append({"ComputeTypeName": compute})
        for properties in changes:
            self._call("modify_workspace_properties", WorkspaceId=workspace_id, WorkspaceProperties=properties)

    def migrate(self, workspace_id: str, bundle_id: str) -> str:
        response = self._call("migrate_workspace", SourceWorkspaceId=workspace_id, BundleId=bundle_id)
        return str(response["TargetWorkspaceId"])

    def _batch(self, method: str, key: str, workspace_ids: Iterable[str], size: int = BATCH) -> list[ItemFailure]:
        failures: list[ItemFailure] = []
        for chunk in chunks(list(workspace_ids), size):
            response = self._call(method, **{key: [{"WorkspaceId": ws} for ws in chunk]})
            failures += _failures(response)
        return failures

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Every WorkSpaces call goes through here (or `_pages`), so botocore's errors are translated in one place."""
        action = f"workspaces:{_operation(method)}"
        try:
            with translated(action):
                response: dict[str, Any] = getattr(self._client, method)(**kwargs)
        except AwsRefused as refused:
            raise WorkSpacesError(refused.action, refused.code) from refused.__cause__
        return response

    def _pages(self, method: str, *, page_size: int | None = None, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every page of a paginated read, through botocore's paginator (workspaces paginators-1.json: NextToken
        until none comes back; `page_size` is the Limit of every call), each call translated as `_call` does."""
        if page_size is not None:
            kwargs["PaginationConfig"] = {"PageSize": page_size}
        pages = translated_pages(
            self._client.get_paginator(method).paginate(**kwargs), f"workspaces:{_operation(method)}"
        )
        try:
            yield from pages
        except AwsRefused as refused:
            raise WorkSpacesError(refused.action, refused.code) from refused.__cause__
