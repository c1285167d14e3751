"""The WorkSpaces batch actions: Reboot, Rebuild, Start, Stop, Terminate and Create (per-item results, the states
each accepts), Restore and ModifyWorkspaceState."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .fleet_common import (
    DIRECTORY_ID_PATTERN,
    PARTICIPLES,
    FleetParts,
    Problem,
    _autostop_problem,
    _fail,
    _seconds,
    _user_key,
)
from .model import (
    COMPUTE_RANK,
    DEFAULT_AUTOSTOP_MINUTES,
    ERR_BUNDLE,
    ERR_DIRECTORY,
    ERR_EXISTS,
    ERR_LIMIT,
    ERR_MODE,
    ERR_NOT_FOUND,
    ERR_PARAM,
    ERR_STATE,
    ERR_USER,
    MAX_BATCH,
    MAX_REBUILD_BATCH,
    MAX_TAGS,
    REBOOT_FROM,
    REBUILD_FROM,
    RESTORE_FROM,
    RUNNING_MODES,
    START_FROM,
    STARTABLE_MODES,
    STOP_FROM,
    Desk,
    InvalidParameterValues,
    InvalidResourceState,
    OperationNotSupported,
    ValidationError,
    now_epoch,
    too_many,
)


class FleetActions(FleetParts):
    """The API's desk actions and the states they are allowed from."""

    def _batch(
        self,
        operation: str,
        requests: Sequence[Mapping[str, Any]],
        limit: int,
        member: str,
        problem: Callable[[Desk], Problem],
        apply: Callable[[Desk, float], None],
    ) -> list[dict[str, str]]:
        with self.lock:
            if len(requests) > limit:
                raise too_many(member, limit)
            now = self._now()
            failed: list[dict[str, str]] = []
            for request in requests:
                wid = str(request.get("WorkspaceId", ""))
                injected = self._take_failure(operation, wid)
                if injected is not None:
                    failed.append(_fail(wid, *injected))
                    continue
                desk = self.desks.get(wid)
                if desk is None:
                    failed.append(_fail(wid, ERR_NOT_FOUND, f"The WorkSpace {wid} could not be found."))
                    continue
                found = problem(desk)
                if found is not None:
                    failed.append(_fail(wid, *found))
                    continue
                apply(desk, now)
            return failed

    @staticmethod
    def _state_problem(desk: Desk, verb: str, allowed: frozenset[str]) -> Problem:
        if desk.state == "ADMIN_MAINTENANCE":
            return (
                ERR_STATE,
                f"The WorkSpace {desk.workspace_id} is in ADMIN_MAINTENANCE and does not respond to "
                f"requests to {verb} it.",
            )
        if desk.state not in allowed:
            return (
                ERR_STATE,
                f"The WorkSpace {desk.workspace_id} cannot be {PARTICIPLES[verb]} in state {desk.state}; "
                f"it must be {' or '.join(sorted(allowed))}.",
            )
        return None

    @staticmethod
    def _mode_problem(desk: Desk, verb: str) -> Problem:
        if desk.running_mode not in STARTABLE_MODES:
            return (
                ERR_MODE,
                f"The WorkSpace {desk.workspace_id} has running mode {desk.running_mode}; only AUTO_STOP "
                f"and MANUAL WorkSpaces can be {verb}.",
            )
        return None

    def reboot(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        def apply(desk: Desk, now: float) -> None:
            self._drop_session(desk, now)
            self._begin(desk, "REBOOTING", now, "AVAILABLE")

        return self._batch(
            "RebootWorkspaces",
            requests,
            MAX_BATCH,
            "rebootWorkspaceRequests",
            lambda d: self._state_problem(d, "reboot", REBOOT_FROM),
            apply,
        )

    def rebuild(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        def apply(desk: Desk, now: float) -> None:
            self._drop_session(desk, now)
            self._begin(desk, "REBUILDING", now, "AVAILABLE")

        return self._batch(
            "RebuildWorkspaces",
            requests,
            MAX_REBUILD_BATCH,
            "rebuildWorkspaceRequests",
            lambda d: self._state_problem(d, "rebuild", REBUILD_FROM) or self._snapshot_problem(d),
            apply,
        )

    @staticmethod
    def _snapshot_problem(desk: Desk) -> Problem:
        # Rebuild recreates the user volume "from the most recent snapshot" and needs one (admin guide, Rebuild a
        # WorkSpace); the error code AWS returns is not documented (chosen).
        if desk.latest_snapshot(now_epoch()) is None:
            return (
                ERR_STATE,
                f"The WorkSpace {desk.workspace_id} has no snapshot of its user volume yet (a new WorkSpace gets "
                "its first one 12 hours after it becomes AVAILABLE).",
            )
        return None

    def start(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        def problem(desk: Desk) -> Problem:
            if desk.state == "ADMIN_MAINTENANCE":
                return self._state_problem(desk, "start", START_FROM)
            return self._mode_problem(desk, "started") or self._state_problem(desk, "start", START_FROM)

        return self._batch(
            "StartWorkspaces",
            requests,
            MAX_BATCH,
            "startWorkspaceRequests",
            problem,
            lambda desk, now: self._begin(desk, "STARTING", now, "AVAILABLE"),
        )

    def stop(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        def problem(desk: Desk) -> Problem:
            if desk.state == "ADMIN_MAINTENANCE":
                return self._state_problem(desk, "stop", STOP_FROM)
            return self._mode_problem(desk, "stopped") or self._state_problem(desk, "stop", STOP_FROM)

        def apply(desk: Desk, now: float) -> None:
            desk.connect_on_available = False
            self._drop_session(desk, now)
            self._begin(desk, "STOPPING", now, "STOPPED")

        return self._batch("StopWorkspaces", requests, MAX_BATCH, "stopWorkspaceRequests", problem, apply)

    def terminate(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        def problem(desk: Desk) -> Problem:
            if desk.state == "SUSPENDED":
                return (
                    ERR_STATE,
                    f"The WorkSpace {desk.workspace_id} is SUSPENDED and cannot be terminated.",
                )
            return None

        def apply(desk: Desk, now: float) -> None:
            if desk.state == "TERMINATING":
                return
            desk.connect_on_available = False
            self._drop_session(desk, now)
            self._begin(desk, "TERMINATING", now, "TERMINATED")

        return self._batch("TerminateWorkspaces", requests, MAX_BATCH, "terminateWorkspaceRequests", problem, apply)

    def create(self, items: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self.lock:
            if len(items) > MAX_BATCH:
                raise too_many("workspaces", MAX_BATCH)
            for n, item in enumerate(items, start=1):
                directory_id = str(item.get("DirectoryId", ""))
                if not DIRECTORY_ID_PATTERN.match(directory_id):
                    raise ValidationError(
                        f"1 validation error detected: Value '{directory_id}' at "
                        f"'workspaces.{n}.member.directoryId' failed to satisfy constraint: Member must "
                        f"satisfy regular expression pattern: {DIRECTORY_ID_PATTERN.pattern}"
                    )
            now = self._now()
            failed: list[dict[str, Any]] = []
            pending: list[dict[str, Any]] = []
            claimed: set[tuple[str, str]] = set()
            for item in items:
                outcome = self._create_one(item, now, claimed)
                if isinstance(outcome, Desk):
                    pending.append(outcome.to_api())
                else:
                    failed.append({"WorkspaceRequest": dict(item), "ErrorCode": outcome[0], "ErrorMessage": outcome[1]})
            return failed, pending

    def _create_one(self, item: Mapping[str, Any], now: float, claimed: set[tuple[str, str]]) -> Desk | tuple[str, str]:
        directory_id = str(item.get("DirectoryId", ""))
        user = str(item.get("UserName", ""))
        bundle_id = str(item.get("BundleId", ""))
        injected = self._take_failure("CreateWorkspaces", user)
        if injected is not None:
            return injected
        if directory_id not in self.backend.workspace_directories:
            return ERR_DIRECTORY, "The specified directory could not be found in the specified region."
        bundle = self.bundles.get(bundle_id)
        if bundle is None:
            return ERR_BUNDLE, f"The specified bundle {bundle_id} could not be found."
        key = _user_key(directory_id, user)
        if key in self.missing_users:
            return ERR_USER, f"The user {user} could not be found in the directory {directory_id}."
        if key in claimed or self.by_user.get(key):
            return ERR_EXISTS, "A WorkSpace already exists for the specified user."
        props = dict(item.get("WorkspaceProperties") or {})
        mode = str(props.get("RunningMode", "ALWAYS_ON"))
        timeout = props.get("RunningModeAutoStopTimeoutInMinutes")
        if mode not in RUNNING_MODES:
            return ERR_PARAM, f"The running mode {mode} is not valid."
        if timeout is not None and mode == "ALWAYS_ON":
            # moto's code for this case, kept for compatibility with moto-based tests.
            return (
                "AutoStopTimeoutIsNotApplicableForAnAlwaysOnWorkspace",
                "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set "
                "to ALWAYS_ON.",
            )
        if timeout is not None and mode == "MANUAL":
            return (
                "AutoStopTimeoutIsNotDefaultForManualWorkspace",
                "RunningModeAutoStopTimeoutInMinutes is not applicable for WorkSpace with running mode set to MANUAL.",
            )
        if timeout is not None and (message := _autostop_problem(timeout)):
            return ERR_PARAM, message
        compute = str(props.get("ComputeTypeName", bundle.compute))
        if compute not in COMPUTE_RANK:
            return ERR_PARAM, f"The compute type {compute} is not valid."
        tags = {str(t["Key"]): str(t.get("Value", "")) for t in item.get("Tags") or []}
        if len(tags) > MAX_TAGS:
            return ERR_LIMIT, f"A WorkSpace can have at most {MAX_TAGS} tags."
        desk = Desk(
            self._new_workspace_id(),
            directory_id,
            user,
            bundle_id,
            state="PENDING",
            running_mode=mode,
            autostop_minutes=(int(timeout) if timeout else DEFAULT_AUTOSTOP_MINUTES) if mode == "AUTO_STOP" else None,
            compute=compute,
            root_gb=int(props.get("RootVolumeSizeGib") or bundle.root_gb),
            user_gb=int(props.get("UserVolumeSizeGib") or bundle.user_gb),
            tags=tags,
            launched_at=now,
            subnet_id=self._subnet_of(directory_id),
            ip_address=self._new_ip(),
            workspace_name=str(item.get("WorkspaceName") or ""),
        )
        claimed.add(key)
        self._index_add(desk)
        self.hidden[desk.workspace_id] = now + _seconds("DESCRIBE_DELAY")
        self._schedule(desk, "AVAILABLE", now + _seconds("PENDING"))
        return desk

    def restore(self, wid: str) -> None:
        with self.lock:
            now = self._now()
            desk = self._desk(wid)
            self._raise_injected("RestoreWorkspace", wid)
            found = self._state_problem(desk, "restore", RESTORE_FROM)
            if found is not None:
                raise OperationNotSupported(found[1])
            if desk.latest_snapshot(now) is None:
                raise OperationNotSupported(f"The WorkSpace {wid} has no snapshot to restore from yet.")
            self._drop_session(desk, now)
            self._begin(desk, "RESTORING", now, "AVAILABLE")

    def modify_state(self, wid: str, target: str) -> None:
        with self.lock:
            now = self._now()
            if target not in ("AVAILABLE", "ADMIN_MAINTENANCE"):
                raise InvalidParameterValues(
                    f"The WorkSpace state {target} is not valid: use AVAILABLE or ADMIN_MAINTENANCE."
                )
            desk = self._desk(wid)
            self._raise_injected("ModifyWorkspaceState", wid)
            if desk.state == target:
                return
            if target == "ADMIN_MAINTENANCE":
                if desk.state != "AVAILABLE":
                    raise InvalidResourceState(
                        f"The WorkSpace {wid} is {desk.state}; only an AVAILABLE WorkSpace can be put in "
                        "ADMIN_MAINTENANCE."
                    )
                self._cancel(desk)  # no AutoStop while in admin maintenance
                self._set_state(desk, "ADMIN_MAINTENANCE", now)
                return
            if desk.state != "ADMIN_MAINTENANCE":
                raise InvalidResourceState(
                    f"The WorkSpace {wid} is {desk.state}; only a WorkSpace in ADMIN_MAINTENANCE can be "
                    "returned to AVAILABLE."
                )
            self._set_state(desk, "AVAILABLE", now)
            if not desk.connected:
                desk.disconnected_since = now
                self._arm_autostop(desk, now)
