"""The WorkSpaces value types the domain reasons about: what CreateWorkspaces needs for one desk, a per-item
failure, a described desk, a connection status, and WorkSpacesError. They live here, not in the adapter, so the
domain never imports adapters (docs/architecture.md); adapters.workspaces builds and returns them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from autopilot.domain.kernel.errors import AwsRefused

# Tags provisioning puts on every desk it creates, in the CreateWorkspaces request itself: who it is for and which
# profile. Adoption reads them; a desk without them is the user's own (never "created" by us).
EMPLOYEE_TAG = "AutopilotEmployeeId"
PROFILE_TAG = "AutopilotProfile"


@dataclass(frozen=True)
class DeskSpec:
    """What CreateWorkspaces needs for one desk; `key` ties the result back to the request (employee id)."""

    key: str
    directory_id: str
    username: str
    bundle_id: str
    running_mode: str
    autostop_minutes: int | None = None
    compute: str | None = None
    root_volume_gb: int | None = None
    user_volume_gb: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def as_request(self) -> dict[str, Any]:
        properties: dict[str, Any] = {"RunningMode": self.running_mode}
        if self.running_mode == "AUTO_STOP" and self.autostop_minutes:
            properties["RunningModeAutoStopTimeoutInMinutes"] = self.autostop_minutes
        if self.compute:
            properties["ComputeTypeName"] = self.compute
        if self.root_volume_gb:
            properties["RootVolumeSizeGib"] = self.root_volume_gb
        if self.user_volume_gb:
            properties["UserVolumeSizeGib"] = self.user_volume_gb
        return {
            "DirectoryId": self.directory_id,
            "UserName": self.username,
            "BundleId": self.bundle_id,
            "WorkspaceProperties": properties,
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())],
        }


@dataclass(frozen=True)
class ItemFailure:
    """A FailedRequests item: the AWS error code only. Its ErrorMessage is never read (it can name the user)."""

    key: str  # workspace id, or the DeskSpec key for CreateWorkspaces
    code: str


@dataclass(frozen=True)
class CreateResult:
    created: dict[str, str]  # request key -> workspace id
    failed: list[ItemFailure]


@dataclass(frozen=True)
class WorkspaceInfo:
    workspace_id: str
    directory_id: str
    username: str
    bundle_id: str
    state: str
    running_mode: str
    autostop_minutes: int | None
    compute: str | None

    @classmethod
    def from_api(cls, ws: dict[str, Any]) -> WorkspaceInfo:
        properties = ws.get("WorkspaceProperties", {})
        return cls(
            workspace_id=ws["WorkspaceId"],
            directory_id=ws["DirectoryId"],
            username=ws.get("UserName", ""),
            bundle_id=ws.get("BundleId", ""),
            state=ws["State"],
            running_mode=properties.get("RunningMode", "ALWAYS_ON"),
            autostop_minutes=properties.get("RunningModeAutoStopTimeoutInMinutes"),
            compute=properties.get("ComputeTypeName"),
        )


@dataclass(frozen=True)
class ConnectionInfo:
    workspace_id: str
    state: str  # CONNECTED | DISCONNECTED | UNKNOWN
    checked_at: dt.datetime | None
    last_user_connection: dt.datetime | None


class WorkSpacesError(AwsRefused):
    """WorkSpaces refused a whole call for good (not a per-item failure): the IAM action and the AWS error code,
    never AWS's message (it can name the user)."""
