"""Records, constants and errors of the WorkSpaces lifecycle emulator.

Everything here is plain Python: no moto import except the error base class, so the rules can be read
(and documented) without reading the patching code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.exceptions import JsonRESTError

UTC = UTC
DEFAULT_ACCOUNT_ID = "123456789012"

# How long each transient state lasts before it settles. AWS publishes only two figures (creation "about 20
# minutes" in the console, "typically under 90 seconds" to resume a stopped AutoStop desk); the rest are
# "a few minutes", chosen so a scenario can observe every transient state with a 1-minute step.
DURATIONS: dict[str, timedelta] = {
    "PENDING": timedelta(minutes=20),
    "STARTING": timedelta(seconds=90),
    "STOPPING": timedelta(minutes=3),
    "REBOOTING": timedelta(minutes=5),
    "REBUILDING": timedelta(minutes=10),
    "RESTORING": timedelta(minutes=10),
    "UPDATING": timedelta(minutes=10),
    "TERMINATING": timedelta(minutes=5),
    # Not a state: how long a new desk stays out of DescribeWorkspaces after CreateWorkspaces ("if you call
    # DescribeWorkspaces before the WorkSpace is created, the information returned can be incomplete", API
    # reference). AWS publishes no figure: chosen.
    "DESCRIBE_DELAY": timedelta(seconds=30),
}

MAX_BATCH = 25
MAX_REBUILD_BATCH = 1
MAX_TAGS = 50
AUTOSTOP_STEP_MINUTES = 60
DEFAULT_AUTOSTOP_MINUTES = 60
SNAPSHOT_INTERVAL = timedelta(hours=12)
COMPUTE_UP_INTERVAL = timedelta(hours=6)
NEW_DESK_GRACE = timedelta(hours=6)
COMPUTE_DOWN_INTERVAL = timedelta(days=30)
VOLUME_INTERVAL = timedelta(hours=6)
# Desks seeded with seed_workspace() already existed before the scenario: they count as launched this long
# ago, so the "no larger compute within 6 hours of launch" rule does not catch a fleet adopted at start.
SEEDED_DESK_AGE = timedelta(days=30)

# Every WorkSpace state botocore's WorkspaceState enum lists, in its order (the scenario format accepts them too).
STATES = (
    "PENDING",
    "AVAILABLE",
    "IMPAIRED",
    "UNHEALTHY",
    "REBOOTING",
    "STARTING",
    "REBUILDING",
    "RESTORING",
    "MAINTENANCE",
    "ADMIN_MAINTENANCE",
    "TERMINATING",
    "TERMINATED",
    "SUSPENDED",
    "UPDATING",
    "STOPPING",
    "STOPPED",
    "ERROR",
)
ALL_STATES = frozenset(STATES)
RUNNING_MODES = frozenset({"AUTO_STOP", "ALWAYS_ON", "MANUAL"})

# Allowed source states, verbatim from the API reference (section 1.3 of the project reference).
REBOOT_FROM = frozenset({"AVAILABLE", "UNHEALTHY", "REBOOTING"})
REBUILD_FROM = frozenset({"AVAILABLE", "ERROR", "UNHEALTHY", "STOPPED", "REBOOTING"})
RESTORE_FROM = frozenset({"AVAILABLE", "ERROR", "UNHEALTHY", "STOPPED"})
START_FROM = frozenset({"STOPPED"})
STOP_FROM = frozenset({"AVAILABLE", "IMPAIRED", "UNHEALTHY", "ERROR"})
MODIFY_FROM = frozenset({"AVAILABLE", "STOPPED"})
MIGRATE_FROM = frozenset({"AVAILABLE", "STOPPED"})
STARTABLE_MODES = frozenset({"AUTO_STOP", "MANUAL"})

# States in which the WorkSpaces agent cannot report a session: DescribeWorkspacesConnectionStatus says UNKNOWN.
NO_SESSION_STATES = frozenset(
    {"PENDING", "STARTING", "STOPPING", "STOPPED", "TERMINATING", "TERMINATED", "SUSPENDED", "ERROR"}
)
# States in which automatic snapshots are not taken (the last good one is kept for restore).
SICK_STATES = frozenset({"UNHEALTHY", "IMPAIRED", "ERROR"})

# Compute types that can be changed into one another, smallest first. Switching between families (for
# example STANDARD to GRAPHICS_G4DN) is not a compute change AWS allows: it needs MigrateWorkspace.
COMPUTE_FAMILIES: tuple[tuple[str, ...], ...] = (
    (
        "VALUE",
        "STANDARD",
        "PERFORMANCE",
        "POWER",
        "POWERPRO",
        "GENERALPURPOSE_4XLARGE",
        "GENERALPURPOSE_8XLARGE",
    ),
    ("GRAPHICS",),
    ("GRAPHICSPRO",),
    ("GRAPHICS_G4DN", "GRAPHICSPRO_G4DN"),
    (
        "GRAPHICS_G6_XLARGE",
        "GRAPHICS_G6_2XLARGE",
        "GRAPHICS_G6_4XLARGE",
        "GRAPHICS_G6_8XLARGE",
        "GRAPHICS_G6_16XLARGE",
    ),
    ("GRAPHICS_GR6_4XLARGE", "GRAPHICS_GR6_8XLARGE"),
    ("GRAPHICS_G6F_LARGE", "GRAPHICS_G6F_XLARGE", "GRAPHICS_G6F_2XLARGE", "GRAPHICS_G6F_4XLARGE"),
    ("GRAPHICS_GR6F_4XLARGE",),
    ("GRAPHICS_G7_2XLARGE", "GRAPHICS_G7_4XLARGE", "GRAPHICS_G7_8XLARGE", "GRAPHICS_G7_12XLARGE"),
)
COMPUTE_RANK: dict[str, tuple[int, int]] = {
    name: (family, rank) for family, names in enumerate(COMPUTE_FAMILIES) for rank, name in enumerate(names)
}
# Volume size pairs (root, user) AWS accepts; the last group is a range for both.
FIXED_VOLUME_PAIRS = frozenset({(80, 10), (80, 50), (80, 100)})
VOLUME_RANGE = (175, 2000, 100, 2000)

# Per-item error codes. AWS documents no enum for them (ErrorCode is a free string); ResourceExists.WorkSpace
# and ResourceNotFound.Directory are seen in the wild, the others are chosen to read the same way.
ERR_NOT_FOUND = "ResourceNotFound.Workspace"
ERR_DIRECTORY = "ResourceNotFound.Directory"
ERR_BUNDLE = "ResourceNotFound.Bundle"
ERR_USER = "ResourceNotFound.User"
ERR_EXISTS = "ResourceExists.WorkSpace"
ERR_STATE = "InvalidResourceState"
ERR_MODE = "OperationNotSupported"
ERR_PARAM = "InvalidParameterValuesException"
ERR_LIMIT = "ResourceLimitExceeded"


def ts(moment: datetime) -> float:
    return moment.timestamp()


def dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def now_epoch() -> float:
    # The process clock on purpose: the local cloud moves it with time-machine.
    return datetime.now(UTC).timestamp()


@dataclass(frozen=True)
class Transition:
    workspace_id: str
    from_state: str
    to_state: str
    at: datetime


@dataclass(frozen=True)
class LoginResult:
    """Outcome of Emulator.login.

    ok: the user gets (or will get, once a stopped desk has started) a session.
    connected_at: when the session begins: now, or when the starting desk becomes AVAILABLE.
    """

    workspace_id: str
    ok: bool
    state: str
    connected_at: datetime | None
    reason: str = ""


class EmulatorError(ValueError):
    """Misuse of the Python facade (unknown desk, unknown directory, duplicate seed, ...)."""


class Bundle:
    __slots__ = (
        "bundle_id",
        "compute",
        "created_at",
        "description",
        "image_id",
        "name",
        "owner",
        "root_gb",
        "user_gb",
    )

    def __init__(
        self,
        bundle_id: str,
        name: str,
        owner: str,
        compute: str,
        root_gb: int,
        user_gb: int,
        description: str,
        image_id: str,
        created_at: float,
    ) -> None:
        self.bundle_id = bundle_id
        self.name = name
        self.owner = owner
        self.compute = compute
        self.root_gb = root_gb
        self.user_gb = user_gb
        self.description = description
        self.image_id = image_id
        self.created_at = created_at

    def to_api(self) -> dict[str, Any]:
        return {
            "BundleId": self.bundle_id,
            "Name": self.name,
            "Owner": self.owner,
            "Description": self.description,
            "ImageId": self.image_id,
            "RootStorage": {"Capacity": str(self.root_gb)},
            "UserStorage": {"Capacity": str(self.user_gb)},
            "ComputeType": {"Name": self.compute},
            "LastUpdatedTime": self.created_at,
            "CreationTime": self.created_at,
            "State": "AVAILABLE",
            "BundleType": "REGULAR",
        }


class Desk:
    """One WorkSpace. Stored in moto's ``WorkSpacesBackend.workspaces`` in place of moto's own model.

    Times are epoch seconds (floats) so the heap and the comparisons stay cheap for 50,000 desks.
    """

    __slots__ = (
        "autostop_minutes",
        "autostop_since",
        "bundle_id",
        "compute",
        "connect_on_available",
        "connected",
        "directory_id",
        "disconnected_since",
        "due",
        "error_code",
        "error_message",
        "ip_address",
        "last_compute_down",
        "last_compute_up",
        "last_connected_at",
        "last_volume_change",
        "launched_at",
        "modifying",
        "next_state",
        "resume_state",
        "root_gb",
        "running_mode",
        "snap_anchor",
        "snap_last",
        "state",
        "subnet_id",
        "tag_map",
        "token",
        "user_gb",
        "user_name",
        "workspace_id",
        "workspace_name",
    )

    def __init__(
        self,
        workspace_id: str,
        directory_id: str,
        user_name: str,
        bundle_id: str,
        *,
        state: str,
        running_mode: str,
        autostop_minutes: int | None,
        compute: str,
        root_gb: int,
        user_gb: int,
        tags: dict[str, str],
        launched_at: float,
        subnet_id: str,
        ip_address: str,
        workspace_name: str = "",
    ) -> None:
        self.workspace_id = workspace_id
        self.directory_id = directory_id
        self.user_name = user_name
        self.bundle_id = bundle_id
        self.state = state
        self.running_mode = running_mode
        self.autostop_minutes = autostop_minutes
        self.compute = compute
        self.root_gb = root_gb
        self.user_gb = user_gb
        self.tag_map = tags
        self.launched_at = launched_at
        self.subnet_id = subnet_id
        self.ip_address = ip_address
        self.workspace_name = workspace_name
        self.error_code = ""
        self.error_message = ""
        # The single pending transition: next_state at due, valid while token matches the heap entry.
        self.next_state: str | None = None
        self.due: float | None = None
        self.token = 0
        self.resume_state: str | None = None
        self.modifying: list[str] = []
        self.connected = False
        self.connect_on_available = False
        self.last_connected_at: float | None = None
        self.disconnected_since: float | None = None
        self.last_compute_up: float | None = None
        self.last_compute_down: float | None = None
        self.last_volume_change: float | None = None
        self.snap_anchor: float | None = None
        self.snap_last: float | None = None
        self.autostop_since: float | None = None  # when the running mode last became AUTO_STOP

    @property
    def tags(self) -> list[dict[str, str]]:
        # moto's Resource Groups Tagging API integration reads ``ws.tags`` as a Key/Value list.
        return [{"Key": k, "Value": v} for k, v in self.tag_map.items()]

    def latest_snapshot(self, now: float) -> float | None:
        if self.snap_anchor is not None and now >= self.snap_anchor:
            step = SNAPSHOT_INTERVAL.total_seconds()
            return self.snap_anchor + math.floor((now - self.snap_anchor) / step) * step
        return self.snap_last

    def connection_state(self) -> str:
        if self.state in NO_SESSION_STATES:
            return "UNKNOWN"
        return "CONNECTED" if self.connected else "DISCONNECTED"

    def to_api(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "RunningMode": self.running_mode,
            "RootVolumeSizeGib": self.root_gb,
            "UserVolumeSizeGib": self.user_gb,
            "ComputeTypeName": self.compute,
            "Protocols": ["PCOIP"],
        }
        if self.running_mode == "AUTO_STOP":
            props["RunningModeAutoStopTimeoutInMinutes"] = self.autostop_minutes
        out: dict[str, Any] = {
            "WorkspaceId": self.workspace_id,
            "DirectoryId": self.directory_id,
            "UserName": self.user_name,
            "State": self.state,
            "BundleId": self.bundle_id,
            "SubnetId": self.subnet_id,
            "UserVolumeEncryptionEnabled": False,
            "RootVolumeEncryptionEnabled": False,
            "WorkspaceProperties": props,
        }
        if self.state != "PENDING":
            # AWS fills these in only once the desk has been built.
            out["IpAddress"] = self.ip_address
            out["ComputerName"] = "WSAMZN-" + self.workspace_id[3:11].upper()
        if self.workspace_name:
            out["WorkspaceName"] = self.workspace_name
        if self.modifying:
            out["ModificationStates"] = [
                {"Resource": resource, "State": "UPDATE_IN_PROGRESS"} for resource in self.modifying
            ]
        if self.state == "ERROR" and self.error_code:
            out["ErrorCode"] = self.error_code
            out["ErrorMessage"] = self.error_message
        return out

    def to_report(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "user": self.user_name,
            "directory_id": self.directory_id,
            "bundle_id": self.bundle_id,
            "state": self.state,
            "running_mode": self.running_mode,
            "autostop_minutes": self.autostop_minutes if self.running_mode == "AUTO_STOP" else None,
            "compute_type": self.compute,
            "tags": dict(self.tag_map),
        }


# --- errors answered as AWS answers them (HTTP 400, JSON body {"__type", "message"}) ---------------------


class _ApiError(JsonRESTError):
    code = 400
    error_name = "ValidationException"

    def __init__(self, message: str) -> None:
        super().__init__(self.error_name, message)


class ValidationError(_ApiError):
    error_name = "ValidationException"


class InvalidParameterValues(_ApiError):
    error_name = "InvalidParameterValuesException"


class ResourceNotFound(_ApiError):
    error_name = "ResourceNotFoundException"


class InvalidResourceState(_ApiError):
    error_name = "InvalidResourceStateException"


class OperationNotSupported(_ApiError):
    error_name = "OperationNotSupportedException"


class OperationInProgress(_ApiError):
    error_name = "OperationInProgressException"


class UnsupportedWorkspaceConfiguration(_ApiError):
    error_name = "UnsupportedWorkspaceConfigurationException"


class ResourceLimitExceeded(_ApiError):
    error_name = "ResourceLimitExceededException"


class ResourceAlreadyExists(_ApiError):
    error_name = "ResourceAlreadyExistsException"


class InjectedError(JsonRESTError):
    """An error chosen by fail_requests for a single-desk operation."""

    code = 400

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)


def too_many(member: str, limit: int) -> ValidationError:
    # The wording of AWS's request validation (Smithy length constraint).
    return ValidationError(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {limit}"
    )
