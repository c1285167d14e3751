"""Changing a desk: ModifyWorkspaceProperties (running mode, AutoStop, compute type and volume sizes with their
cool-downs) and MigrateWorkspace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .fleet_common import (
    PROPERTY_CHANGES,
    FleetParts,
    _autostop_problem,
    _iso,
    _seconds,
    _valid_volumes,
)
from .model import (
    COMPUTE_DOWN_INTERVAL,
    COMPUTE_RANK,
    COMPUTE_UP_INTERVAL,
    DEFAULT_AUTOSTOP_MINUTES,
    MIGRATE_FROM,
    MODIFY_FROM,
    NEW_DESK_GRACE,
    RUNNING_MODES,
    VOLUME_INTERVAL,
    Desk,
    InvalidParameterValues,
    InvalidResourceState,
    OperationInProgress,
    OperationNotSupported,
    ResourceNotFound,
    UnsupportedWorkspaceConfiguration,
)


class FleetProperties(FleetParts):
    """ModifyWorkspaceProperties and MigrateWorkspace."""

    def modify_properties(self, wid: str, props: Mapping[str, Any]) -> None:
        with self.lock:
            now = self._now()
            desk = self._desk(wid)
            self._raise_injected("ModifyWorkspaceProperties", wid)
            if desk.state == "UPDATING":
                raise OperationInProgress(
                    f"The properties of WorkSpace {wid} are currently being modified. Try again later."
                )
            if desk.state not in MODIFY_FROM:
                raise InvalidResourceState(
                    f"The WorkSpace {wid} is {desk.state}; it must be AVAILABLE or STOPPED to be modified."
                )
            changes = sorted({PROPERTY_CHANGES.get(name, name) for name in props})
            if len(changes) > 1:
                # The error code for this refusal is not documented (chosen).
                raise InvalidParameterValues(
                    f"Only one WorkSpace property can be changed in a request; this one changes {', '.join(changes)}."
                )
            mode = str(props.get("RunningMode", desk.running_mode))
            if mode not in RUNNING_MODES:
                raise InvalidParameterValues(f"The running mode {mode} is not valid.")
            timeout = props.get("RunningModeAutoStopTimeoutInMinutes")
            if timeout is not None:
                if mode != "AUTO_STOP":
                    raise InvalidParameterValues(
                        "RunningModeAutoStopTimeoutInMinutes applies only to AUTO_STOP WorkSpaces."
                    )
                if message := _autostop_problem(timeout):
                    raise InvalidParameterValues(message)
            compute = props.get("ComputeTypeName")
            compute_change = compute is not None and compute != desk.compute
            root = int(props.get("RootVolumeSizeGib") or desk.root_gb)
            user = int(props.get("UserVolumeSizeGib") or desk.user_gb)
            volume_change = (root, user) != (desk.root_gb, desk.user_gb)
            growing = compute_change and self._check_compute(desk, str(compute), now)
            if volume_change:
                self._check_volumes(desk, root, user, now)

            mode_changed = mode != desk.running_mode
            desk.running_mode = mode
            if mode_changed and mode == "AUTO_STOP":
                desk.autostop_since = now
            if mode == "AUTO_STOP":
                desk.autostop_minutes = int(timeout or desk.autostop_minutes or DEFAULT_AUTOSTOP_MINUTES)
            else:
                desk.autostop_minutes = None

            if compute_change or volume_change:
                if compute_change:
                    desk.compute = str(compute)
                    if growing:
                        desk.last_compute_up = now
                    else:
                        desk.last_compute_down = now
                    desk.modifying = ["COMPUTE_TYPE"]
                else:
                    desk.modifying = [
                        name
                        for name, changed in (
                            ("ROOT_VOLUME", root != desk.root_gb),
                            ("USER_VOLUME", user != desk.user_gb),
                        )
                        if changed
                    ]
                    desk.root_gb, desk.user_gb = root, user
                    desk.last_volume_change = now
                resume = "AVAILABLE" if mode == "ALWAYS_ON" else desk.state
                desk.resume_state = resume
                self._drop_session(desk, now)
                self._begin(desk, "UPDATING", now, resume)
                return

            if desk.state == "STOPPED" and mode == "ALWAYS_ON":
                # An AlwaysOn desk does not stay stopped.
                self._begin(desk, "STARTING", now, "AVAILABLE")
            elif desk.state == "AVAILABLE" and not desk.connected:
                # The idle clock of AutoStop runs from the switch to AUTO_STOP at the earliest: a later call
                # changing only the timeout must not reach back to a disconnection from AlwaysOn days.
                idle_since = now if mode_changed else max(desk.disconnected_since or now, desk.autostop_since or 0.0)
                self._arm_autostop(desk, idle_since)
                if desk.due is not None and desk.due < now:
                    self._schedule(desk, "STOPPING", now)
                    self.settle(now)

    def _check_compute(self, desk: Desk, compute: str, now: float) -> bool:
        """Raise if the compute change is not allowed now; return True when it is an increase."""
        old = COMPUTE_RANK[desk.compute]
        new = COMPUTE_RANK.get(compute)
        if new is None:
            raise InvalidParameterValues(f"The compute type {compute} is not valid.")
        if new[0] != old[0]:
            raise UnsupportedWorkspaceConfiguration(
                f"The compute type of WorkSpace {desk.workspace_id} cannot be changed from {desk.compute} "
                f"to {compute}; migrate it to a bundle of that family instead."
            )
        if new[1] > old[1]:
            if now - desk.launched_at < NEW_DESK_GRACE.total_seconds():
                raise InvalidResourceState(
                    f"The WorkSpace {desk.workspace_id} was launched less than 6 hours ago; a larger compute "
                    f"type can be requested from {_iso(desk.launched_at + NEW_DESK_GRACE.total_seconds())}."
                )
            if desk.last_compute_up is not None and now - desk.last_compute_up < COMPUTE_UP_INTERVAL.total_seconds():
                raise InvalidResourceState(
                    f"The compute type of WorkSpace {desk.workspace_id} can be increased once in 6 hours; "
                    f"next allowed at "
                    f"{_iso(desk.last_compute_up + COMPUTE_UP_INTERVAL.total_seconds())}."
                )
            return True
        if desk.last_compute_down is not None and now - desk.last_compute_down < COMPUTE_DOWN_INTERVAL.total_seconds():
            raise InvalidResourceState(
                f"The compute type of WorkSpace {desk.workspace_id} can be decreased once in 30 days; next "
                f"allowed at {_iso(desk.last_compute_down + COMPUTE_DOWN_INTERVAL.total_seconds())}."
            )
        return False

    @staticmethod
    def _check_volumes(desk: Desk, root: int, user: int, now: float) -> None:
        if root < desk.root_gb or user < desk.user_gb:
            raise InvalidParameterValues("The volumes of a WorkSpace can only be increased.")
        if not _valid_volumes(root, user):
            raise InvalidParameterValues(
                f"The volume sizes root={root} GiB, user={user} GiB are not a supported combination."
            )
        if desk.last_volume_change is not None and now - desk.last_volume_change < VOLUME_INTERVAL.total_seconds():
            raise InvalidResourceState(
                f"The volumes of WorkSpace {desk.workspace_id} can be increased once in 6 hours."
            )

    def migrate(self, wid: str, bundle_id: str) -> str:
        with self.lock:
            now = self._now()
            source = self._desk(wid)
            self._raise_injected("MigrateWorkspace", wid)
            bundle = self.bundles.get(bundle_id)
            if bundle is None:
                raise ResourceNotFound(f"The bundle {bundle_id} could not be found.")
            if bundle_id == source.bundle_id:
                raise InvalidParameterValues(f"The WorkSpace {wid} already uses the bundle {bundle_id}.")
            if source.state == "UPDATING":
                raise OperationInProgress(f"The properties of WorkSpace {wid} are currently being modified.")
            found = self._state_problem(source, "migrate", MIGRATE_FROM)
            if found is not None:
                raise OperationNotSupported(found[1])
            target = Desk(
                self._new_workspace_id(),
                source.directory_id,
                source.user_name,
                bundle_id,
                state="PENDING",
                running_mode=source.running_mode,
                autostop_minutes=source.autostop_minutes,
                compute=bundle.compute,
                root_gb=bundle.root_gb,
                user_gb=max(source.user_gb, bundle.user_gb),
                tags=dict(source.tag_map),
                launched_at=now,
                subnet_id=source.subnet_id,
                ip_address=self._new_ip(),
                workspace_name=source.workspace_name,
            )
            self._index_add(target)
            self._schedule(target, "AVAILABLE", now + _seconds("PENDING"))
            source.connect_on_available = False
            self._drop_session(source, now)
            self._begin(source, "TERMINATING", now, "TERMINATED")
            return target.workspace_id
