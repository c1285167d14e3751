"""The lifecycle model: one ``Fleet`` per moto WorkSpaces backend (account and region).

Transitions are lazy. Each desk holds at most one pending transition (``next_state`` at ``due``); a heap of
``(due, token, workspace_id)`` orders them, and ``settle()`` pops only what is due, so the cost of a call is
proportional to the changes, not to the fleet. A heap entry whose token no longer matches its desk is stale
(the transition was replaced or cancelled) and is skipped.

Fleet state lives in the backend's ``__dict__``, so moto's reset (``mock_aws`` start/stop, ``/moto-api/reset``)
wipes it together with everything else.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import re
import threading
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from moto.moto_api._internal import mock_random

from .model import (
    ALL_STATES,
    AUTOSTOP_STEP_MINUTES,
    COMPUTE_DOWN_INTERVAL,
    COMPUTE_RANK,
    COMPUTE_UP_INTERVAL,
    DEFAULT_AUTOSTOP_MINUTES,
    DURATIONS,
    ERR_BUNDLE,
    ERR_DIRECTORY,
    ERR_EXISTS,
    ERR_LIMIT,
    ERR_MODE,
    ERR_NOT_FOUND,
    ERR_PARAM,
    ERR_STATE,
    ERR_USER,
    FIXED_VOLUME_PAIRS,
    MAX_BATCH,
    MAX_REBUILD_BATCH,
    MAX_TAGS,
    MIGRATE_FROM,
    MODIFY_FROM,
    NEW_DESK_GRACE,
    REBOOT_FROM,
    REBUILD_FROM,
    RESTORE_FROM,
    RUNNING_MODES,
    SEEDED_DESK_AGE,
    SICK_STATES,
    SNAPSHOT_INTERVAL,
    START_FROM,
    STARTABLE_MODES,
    STOP_FROM,
    VOLUME_INTERVAL,
    VOLUME_RANGE,
    Bundle,
    Desk,
    EmulatorError,
    InjectedError,
    InvalidParameterValues,
    InvalidResourceState,
    LoginResult,
    OperationInProgress,
    OperationNotSupported,
    ResourceLimitExceeded,
    ResourceNotFound,
    Transition,
    UnsupportedWorkspaceConfiguration,
    ValidationError,
    dt,
    now_epoch,
    too_many,
)

FLEET_ATTR = "_autopilot_fleet"
_FLEET_CREATE_LOCK = threading.Lock()

DIRECTORY_ID_PATTERN = re.compile(r"^(d-[0-9a-f]{8,63}$)|(wsd-[0-9a-z]{8,63}$)")
TOKEN_PREFIX = "wsemu1:"  # noqa: S105 - a pagination token marker, not a secret
PAGE_SIZE = 25

# Where a transient state goes when it completes on its own (seeding, or set_state(..., settle=True)).
NATURAL_NEXT = {
    "PENDING": "AVAILABLE",
    "STARTING": "AVAILABLE",
    "STOPPING": "STOPPED",
    "REBOOTING": "AVAILABLE",
    "REBUILDING": "AVAILABLE",
    "RESTORING": "AVAILABLE",
    "UPDATING": "AVAILABLE",
    "TERMINATING": "TERMINATED",
}

# AMAZON-owned public bundles always present (ids are obviously emulator ids, not real AWS ones).
PUBLIC_BUNDLES = (
    ("wsb-amznvalue1", "Value with Windows 10 (Server 2022 based)", "VALUE", 80, 10),
    ("wsb-amznstd001", "Standard with Windows 10 (Server 2022 based)", "STANDARD", 80, 50),
    ("wsb-amznperf01", "Performance with Windows 10 (Server 2022 based)", "PERFORMANCE", 80, 100),
    ("wsb-amznpower1", "Power with Windows 10 (Server 2022 based)", "POWER", 175, 100),
)

Problem: TypeAlias = tuple[str, str] | None

PARTICIPLES = {
    "reboot": "rebooted",
    "rebuild": "rebuilt",
    "restore": "restored",
    "start": "started",
    "stop": "stopped",
    "migrate": "migrated",
}


def fleet_for(backend: Any) -> Fleet:
    """The fleet of a moto WorkSpacesBackend, created on first use."""
    fleet = backend.__dict__.get(FLEET_ATTR)
    if fleet is None:
        with _FLEET_CREATE_LOCK:
            fleet = backend.__dict__.get(FLEET_ATTR)
            if fleet is None:
                fleet = Fleet(backend)
                backend.__dict__[FLEET_ATTR] = fleet
    assert isinstance(fleet, Fleet)
    return fleet


def _seconds(state: str) -> float:
    return DURATIONS[state].total_seconds()


def _user_key(directory_id: str, user: str) -> tuple[str, str]:
    """WorkspaceRequest.UserName: "The username is not case-sensitive" (API reference)."""
    return directory_id, user.lower()


# WorkspaceProperties members, grouped into the changes one ModifyWorkspaceProperties call may carry: the
# Terraform AWS provider sends one property per call ("Only one workspace property could be changed in a time",
# internal/service/workspaces/workspace.go); both volume sizes count as one volume change (the admin guide's
# size groups cannot be reached one size at a time).
PROPERTY_CHANGES = {
    "RunningMode": "running mode",
    "RunningModeAutoStopTimeoutInMinutes": "AutoStop timeout",
    "ComputeTypeName": "compute type",
    "RootVolumeSizeGib": "volume sizes",
    "UserVolumeSizeGib": "volume sizes",
    "Protocols": "protocols",
    "OperatingSystemName": "operating system",
}


def _remove_sorted(ids: list[str], wid: str) -> None:
    i = bisect_left(ids, wid)
    if i < len(ids) and ids[i] == wid:
        del ids[i]


def _encode_token(last_id: str) -> str:
    return base64.urlsafe_b64encode((TOKEN_PREFIX + last_id).encode()).decode()


def _decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameterValues("The pagination token is invalid.") from exc
    if not raw.startswith(TOKEN_PREFIX):
        raise InvalidParameterValues("The pagination token is invalid.")
    return raw[len(TOKEN_PREFIX) :]


def _page(
    source: Sequence[str], after: str | None, limit: int, keep: Callable[[str], bool] | None
) -> tuple[list[str], str | None]:
    """One page of ``source`` (sorted ids) after ``after``; a token only if a further match exists."""
    i = bisect_right(source, after) if after is not None else 0
    n = len(source)
    page: list[str] = []
    while i < n and len(page) < limit:
        wid = source[i]
        i += 1
        if keep is None or keep(wid):
            page.append(wid)
    if len(page) == limit:
        while i < n:
            if keep is None or keep(source[i]):
                return page, _encode_token(page[-1])
            i += 1
    return page, None


def _matcher(desks: Mapping[str, Desk], attribute: str, value: str) -> Callable[[str], bool]:
    def keep(wid: str) -> bool:
        return bool(getattr(desks[wid], attribute) == value)

    return keep


def _iso(epoch: float) -> str:
    return dt(epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail(wid: str, code: str, message: str) -> dict[str, str]:
    return {"WorkspaceId": wid, "ErrorCode": code, "ErrorMessage": message}


def _autostop_problem(minutes: Any) -> str:
    if not isinstance(minutes, int) or minutes <= 0 or minutes % AUTOSTOP_STEP_MINUTES:
        return (
            "RunningModeAutoStopTimeoutInMinutes must be a positive multiple of 60 "
            f"(AutoStop is configured in 60-minute intervals); got {minutes!r}."
        )
    return ""


def _valid_volumes(root: int, user: int) -> bool:
    low_root, high_root, low_user, high_user = VOLUME_RANGE
    return (root, user) in FIXED_VOLUME_PAIRS or (low_root <= root <= high_root and low_user <= user <= high_user)


class Fleet:
    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.account_id: str = backend.account_id
        self.region: str = backend.region_name
        self.lock = threading.RLock()
        self.desks: dict[str, Desk] = {}
        # moto's own code (images, tagging API) reads backend.workspaces: give it our desks.
        backend.workspaces = self.desks
        self.sorted_ids: list[str] = []
        self.by_directory: dict[str, list[str]] = {}
        self.by_user: dict[tuple[str, str], list[str]] = {}
        self.heap: list[tuple[float, int, str]] = []
        self._tokens = itertools.count(1)
        self._ip_counter = itertools.count(10)
        self.transitions: list[Transition] = []
        self.bundles: dict[str, Bundle] = {}
        self.missing_users: set[tuple[str, str]] = set()
        self.hidden: dict[str, float] = {}  # new desk -> when DescribeWorkspaces first returns it
        self.throttles: dict[str, int] = {}
        self.refusals: dict[str, list[str]] = {}  # operation -> error codes answered to its next calls
        self.failures: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self.api_calls: Counter[str] = Counter()
        created = now_epoch()
        for bundle_id, name, compute, root_gb, user_gb in PUBLIC_BUNDLES:
            self.bundles[bundle_id] = Bundle(
                bundle_id, name, "AMAZON", compute, root_gb, user_gb, name, "wsi-amzn00001", created
            )

    # ------------------------------------------------------------------ clock and transitions

    def settle(self, now: float | None = None) -> list[Transition]:
        """Complete every transition due at ``now`` (default: the process clock), in due order."""
        with self.lock:
            moment = now_epoch() if now is None else now
            first = len(self.transitions)
            heap = self.heap
            while heap and heap[0][0] <= moment:
                due, token, wid = heapq.heappop(heap)
                desk = self.desks.get(wid)
                if desk is None or desk.token != token:
                    continue
                self._complete(desk, due)
            if len(heap) > 1024 and len(heap) > 3 * len(self.desks):
                self._compact_heap()
            return self.transitions[first:]

    def next_due(self) -> float | None:
        """When the earliest pending transition is due (stale heap entries are dropped on the way)."""
        with self.lock:
            heap = self.heap
            while heap:
                due, token, wid = heap[0]
                desk = self.desks.get(wid)
                if desk is not None and desk.token == token:
                    return due
                heapq.heappop(heap)
            return None

    def _now(self) -> float:
        moment = now_epoch()
        self.settle(moment)
        return moment

    def _compact_heap(self) -> None:
        # Stale entries pile up when logins keep cancelling AutoStop timers; rebuild from live desks.
        self.heap = [(d.due, d.token, d.workspace_id) for d in self.desks.values() if d.due is not None]
        heapq.heapify(self.heap)

    def _schedule(self, desk: Desk, next_state: str, due: float) -> None:
        token = next(self._tokens)
        desk.next_state = next_state
        desk.due = due
        desk.token = token
        heapq.heappush(self.heap, (due, token, desk.workspace_id))

    @staticmethod
    def _cancel(desk: Desk) -> None:
        desk.next_state = None
        desk.due = None
        desk.token = 0

    def _set_state(self, desk: Desk, new: str, at: float) -> None:
        old = desk.state
        if old == new:
            return
        desk.state = new
        if new in SICK_STATES and old not in SICK_STATES:
            # Automatic snapshots stop while a desk is sick; restore goes back to the last good one.
            desk.snap_last = desk.latest_snapshot(at)
            desk.snap_anchor = None
        elif new == "AVAILABLE" and desk.snap_anchor is None:
            # The first automatic snapshot comes 12 hours after a new desk is AVAILABLE ("you must wait 12
            # hours before you can rebuild", user guide); a desk back from sickness is snapshotted soon after
            # ("often within 30 minutes" of a rebuild, admin guide): at once, here.
            desk.snap_anchor = at + SNAPSHOT_INTERVAL.total_seconds() if desk.snap_last is None else at
        if desk.connected and desk.connection_state() == "UNKNOWN":
            self._drop_session(desk, at)
        self.transitions.append(Transition(desk.workspace_id, old, new, dt(at)))

    def _begin(self, desk: Desk, transient: str, at: float, then: str) -> None:
        self._cancel(desk)
        self._set_state(desk, transient, at)
        self._schedule(desk, then, at + _seconds(transient))

    @staticmethod
    def _drop_session(desk: Desk, at: float) -> None:
        if desk.connected:
            desk.connected = False
            desk.last_connected_at = at
            desk.disconnected_since = at

    def _complete(self, desk: Desk, at: float) -> None:
        target = desk.next_state or "AVAILABLE"
        self._cancel(desk)
        if desk.state == "TERMINATING" or target == "TERMINATED":
            self._set_state(desk, "TERMINATED", at)
            self._index_remove(desk)
            return
        if target == "STOPPING":
            # AutoStop timeout expired: the desk stops on its own.
            self._begin(desk, "STOPPING", at, "STOPPED")
            return
        if desk.state == "UPDATING":
            target = desk.resume_state or "AVAILABLE"
            desk.resume_state = None
            desk.modifying = []
        self._set_state(desk, target, at)
        if target == "AVAILABLE":
            self._became_available(desk, at)

    def _became_available(self, desk: Desk, at: float) -> None:
        if desk.connect_on_available:
            # The login that started a stopped AutoStop desk gets its session once the desk is up.
            desk.connect_on_available = False
            desk.connected = True
            desk.last_connected_at = at
            return
        desk.connected = False
        desk.disconnected_since = at
        self._arm_autostop(desk, at)

    def _arm_autostop(self, desk: Desk, idle_since: float) -> None:
        if desk.running_mode == "AUTO_STOP" and desk.state == "AVAILABLE" and not desk.connected:
            minutes = desk.autostop_minutes or DEFAULT_AUTOSTOP_MINUTES
            self._schedule(desk, "STOPPING", idle_since + minutes * 60)
        elif desk.next_state == "STOPPING":
            self._cancel(desk)

    # ------------------------------------------------------------------ indexes

    def _index_add(self, desk: Desk) -> None:
        wid = desk.workspace_id
        self.desks[wid] = desk
        insort(self.sorted_ids, wid)
        insort(self.by_directory.setdefault(desk.directory_id, []), wid)
        self.by_user.setdefault(_user_key(desk.directory_id, desk.user_name), []).append(wid)

    def _index_remove(self, desk: Desk) -> None:
        wid = desk.workspace_id
        self.desks.pop(wid, None)
        _remove_sorted(self.sorted_ids, wid)
        _remove_sorted(self.by_directory.get(desk.directory_id, []), wid)
        key = _user_key(desk.directory_id, desk.user_name)
        owned = self.by_user.get(key, [])
        if wid in owned:
            owned.remove(wid)
        if not owned:
            self.by_user.pop(key, None)

    def _new_workspace_id(self) -> str:
        while True:
            wid = f"ws-{mock_random.getrandbits(36):09x}"
            if wid not in self.desks:
                return wid

    def _new_ip(self) -> str:
        n = next(self._ip_counter)
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    def _subnet_of(self, directory_id: str) -> str:
        directory = self.backend.workspace_directories.get(directory_id)
        subnets = list(getattr(directory, "subnet_ids", None) or [])
        return str(subnets[0]) if subnets else ""

    def _desk(self, wid: str) -> Desk:
        desk = self.desks.get(wid)
        if desk is None:
            raise ResourceNotFound(f"The WorkSpace {wid} could not be found.")
        return desk

    # ------------------------------------------------------------------ fault injection

    def record_call(self, operation: str) -> bool:
        """Count an API call; True when an injected throttle answers it instead."""
        with self.lock:
            self.api_calls[operation] += 1
            for key in (operation, "*"):
                left = self.throttles.get(key, 0)
                if left > 0:
                    self.throttles[key] = left - 1
                    return True
            return False

    def take_refusal(self, operation: str) -> str | None:
        """The error code an injected whole-call refusal answers this call with, if any."""
        with self.lock:
            for key in (operation, "*"):
                queue = self.refusals.get(key)
                if queue:
                    return queue.pop(0)
            return None

    def _take_failure(self, operation: str, key: str) -> tuple[str, str] | None:
        queue = self.failures.get(operation, {}).get(key)
        if queue:
            return queue.pop(0)
        return None

    def _raise_injected(self, operation: str, key: str) -> None:
        injected = self._take_failure(operation, key)
        if injected is not None:
            raise InjectedError(*injected)

    # ------------------------------------------------------------------ batch operations

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

    # ------------------------------------------------------------------ CreateWorkspaces

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

    # ------------------------------------------------------------------ single-desk operations

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

    # ------------------------------------------------------------------ describe

    def describe(
        self,
        workspace_ids: Sequence[str] | None = None,
        directory_id: str | None = None,
        user_name: str | None = None,
        bundle_id: str | None = None,
        workspace_name: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            self._now()
            if workspace_ids is not None and len(workspace_ids) > MAX_BATCH:
                raise too_many("workspaceIds", MAX_BATCH)
            if limit is not None and not 1 <= limit <= MAX_BATCH:
                raise ValidationError(
                    f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                    f"Member must have value less than or equal to {MAX_BATCH}"
                )
            filters = [bool(workspace_ids), bool(directory_id), bool(bundle_id), bool(workspace_name)]
            if sum(filters) > 1:
                raise InvalidParameterValues(
                    "An invalid number of parameters provided with DescribeWorkspaces. Only one of the "
                    "following are allowed to be specified: BundleId, DirectoryId, WorkSpaceIds, WorkspaceName."
                )
            if user_name and not directory_id:
                raise InvalidParameterValues("The DirectoryId parameter is required when UserName is used.")
            after = _decode_token(next_token) if next_token else None
            desks = self.desks
            source: Sequence[str]
            keep: Callable[[str], bool] | None = None
            if workspace_ids:
                source = sorted(set(workspace_ids))
                keep = desks.__contains__
            elif directory_id and user_name:
                source = sorted(self.by_user.get(_user_key(directory_id, user_name), []))
            elif directory_id:
                source = self.by_directory.get(directory_id, [])
            elif bundle_id:
                source = self.sorted_ids
                keep = _matcher(desks, "bundle_id", bundle_id)
            elif workspace_name:
                source = self.sorted_ids
                keep = _matcher(desks, "workspace_name", workspace_name)
            else:
                source = self.sorted_ids
            if self.hidden:
                keep = self._visible(keep)
            page, token = _page(source, after, limit or MAX_BATCH, keep)
            return [desks[wid].to_api() for wid in page], token

    def _visible(self, keep: Callable[[str], bool] | None) -> Callable[[str], bool]:
        """`keep`, minus the desks created too recently to be described yet."""
        now = now_epoch()
        for wid in [w for w, at in self.hidden.items() if at <= now]:
            del self.hidden[wid]
        hidden = self.hidden
        return lambda wid: wid not in hidden and (keep is None or keep(wid))

    def connection_status(
        self, workspace_ids: Sequence[str] | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            now = self._now()
            if workspace_ids is not None and len(workspace_ids) > MAX_BATCH:
                raise too_many("workspaceIds", MAX_BATCH)
            after = _decode_token(next_token) if next_token else None
            if workspace_ids:
                page, token = _page(sorted(set(workspace_ids)), after, MAX_BATCH, self.desks.__contains__)
            else:
                page, token = _page(self.sorted_ids, after, PAGE_SIZE, None)
            return [self._connection(self.desks[wid], now) for wid in page], token

    @staticmethod
    def _connection(desk: Desk, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "WorkspaceId": desk.workspace_id,
            "ConnectionState": desk.connection_state(),
            "ConnectionStateCheckTimestamp": now,
        }
        if desk.connected:
            out["LastKnownUserConnectionTimestamp"] = now
        elif desk.last_connected_at is not None:
            out["LastKnownUserConnectionTimestamp"] = desk.last_connected_at
        return out

    def describe_bundles(
        self, bundle_ids: Sequence[str] | None, owner: str | None, next_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            if bundle_ids is not None and len(bundle_ids) > MAX_BATCH:
                raise too_many("bundleIds", MAX_BATCH)
            if bundle_ids and owner:
                raise InvalidParameterValues(
                    "An invalid number of parameters provided with DescribeWorkspaceBundles. Only one of the "
                    "following are allowed to be specified: BundleIds, Owner."
                )
            after = _decode_token(next_token) if next_token else None
            if bundle_ids:
                wanted = set(bundle_ids)
                source = sorted(b for b in self.bundles if b in wanted)
            else:
                expected = self.account_id if owner in (None, "", self.account_id) else owner
                source = sorted(b.bundle_id for b in self.bundles.values() if b.owner == expected)
            page, token = _page(source, after, PAGE_SIZE, None)
            return [self.bundles[b].to_api() for b in page], token

    def snapshots(self, wid: str) -> dict[str, list[dict[str, float]]]:
        with self.lock:
            now = self._now()
            latest = self._desk(wid).latest_snapshot(now)
            snaps = [] if latest is None else [{"SnapshotTime": latest}]
            return {"RebuildSnapshots": list(snaps), "RestoreSnapshots": list(snaps)}

    # ------------------------------------------------------------------ tags

    def _tag_list(self, resource_id: str) -> list[dict[str, str]] | None:
        """The Key/Value list moto keeps for directories and images (desks keep a dict)."""
        if resource_id in self.backend.workspace_directories:
            tags: list[dict[str, str]] = self.backend.workspace_directories[resource_id].tags
            return tags
        image = self.backend.workspace_images.get(resource_id)
        if image is not None:
            if image.tags is None:
                image.tags = []
            image_tags: list[dict[str, str]] = image.tags
            return image_tags
        return None

    def _tags_of(self, resource_id: str) -> dict[str, str]:
        desk = self.desks.get(resource_id)
        if desk is not None:
            return dict(desk.tag_map)
        listed = self._tag_list(resource_id)
        if listed is None:
            raise ResourceNotFound(f"The resource {resource_id} could not be found.")
        return {t["Key"]: t["Value"] for t in listed}

    def _store_tags(self, resource_id: str, tags: dict[str, str]) -> None:
        desk = self.desks.get(resource_id)
        if desk is not None:
            desk.tag_map = tags
            return
        listed = self._tag_list(resource_id)
        if listed is not None:
            listed[:] = [{"Key": k, "Value": v} for k, v in tags.items()]

    def create_tags(self, resource_id: str, tags: Iterable[Mapping[str, Any]]) -> None:
        with self.lock:
            self._now()
            merged = self._tags_of(resource_id)
            for tag in tags:
                key = str(tag.get("Key", ""))
                if not 1 <= len(key) <= 127 or len(str(tag.get("Value", ""))) > 255:
                    raise InvalidParameterValues(f"The tag {key!r} is not valid.")
                merged[key] = str(tag.get("Value", ""))
            if len(merged) > MAX_TAGS:
                raise ResourceLimitExceeded(f"Each WorkSpaces resource can have a maximum of {MAX_TAGS} tags.")
            self._store_tags(resource_id, merged)

    def delete_tags(self, resource_id: str, keys: Iterable[str]) -> None:
        with self.lock:
            self._now()
            current = self._tags_of(resource_id)
            for key in keys:
                current.pop(key, None)
            self._store_tags(resource_id, current)

    def describe_tags(self, resource_id: str) -> list[dict[str, str]]:
        with self.lock:
            self._now()
            return [{"Key": k, "Value": v} for k, v in self._tags_of(resource_id).items()]

    # ------------------------------------------------------------------ facade support

    def add_bundle(self, name: str, compute: str, root_gb: int, user_gb: int, description: str) -> str:
        with self.lock:
            if compute not in COMPUTE_RANK:
                raise EmulatorError(f"unknown compute type {compute!r}")
            if not _valid_volumes(root_gb, user_gb):
                raise EmulatorError(f"unsupported volume sizes root={root_gb} user={user_gb}")
            if any(b.name == name and b.owner == self.account_id for b in self.bundles.values()):
                raise EmulatorError(f"a bundle named {name!r} already exists")
            while True:
                bundle_id = f"wsb-{mock_random.getrandbits(36):09x}"
                if bundle_id not in self.bundles:
                    break
            self.bundles[bundle_id] = Bundle(
                bundle_id,
                name,
                self.account_id,
                compute,
                root_gb,
                user_gb,
                description,
                f"wsi-{mock_random.getrandbits(36):09x}",
                now_epoch(),
            )
            return bundle_id

    def seed(
        self,
        directory_id: str,
        users: Iterable[str],
        bundle_id: str,
        *,
        running_mode: str,
        autostop_minutes: int | None,
        compute: str | None,
        tags: Mapping[str, str] | None,
        state: str,
        launched_at: float | None,
        connected: bool,
    ) -> list[str]:
        with self.lock:
            now = self._now()
            if directory_id not in self.backend.workspace_directories:
                raise EmulatorError(f"directory {directory_id} is not registered with WorkSpaces")
            bundle = self.bundles.get(bundle_id)
            if bundle is None:
                raise EmulatorError(f"unknown bundle {bundle_id}")
            if running_mode not in RUNNING_MODES:
                raise EmulatorError(f"unknown running mode {running_mode!r}")
            if state not in ALL_STATES or state == "TERMINATED":
                raise EmulatorError(f"cannot seed a desk in state {state!r}")
            chosen_compute = compute or bundle.compute
            if chosen_compute not in COMPUTE_RANK:
                raise EmulatorError(f"unknown compute type {chosen_compute!r}")
            minutes: int | None = None
            if running_mode == "AUTO_STOP":
                minutes = autostop_minutes or DEFAULT_AUTOSTOP_MINUTES
                if _autostop_problem(minutes):
                    raise EmulatorError(_autostop_problem(minutes))
            launched = launched_at if launched_at is not None else now - SEEDED_DESK_AGE.total_seconds()
            subnet = self._subnet_of(directory_id)
            tag_map = dict(tags or {})
            wanted = list(users)
            seen: set[str] = set()
            for user in wanted:
                if user.lower() in seen or self.by_user.get(_user_key(directory_id, user)):
                    raise EmulatorError(f"user {user} already has a WorkSpace in {directory_id}")
                seen.add(user.lower())
            new: list[Desk] = []
            for user in wanted:
                desk = Desk(
                    self._new_workspace_id(),
                    directory_id,
                    user,
                    bundle_id,
                    state=state,
                    running_mode=running_mode,
                    autostop_minutes=minutes,
                    compute=chosen_compute,
                    root_gb=bundle.root_gb,
                    user_gb=bundle.user_gb,
                    tags=dict(tag_map),
                    launched_at=launched,
                    subnet_id=subnet,
                    ip_address=self._new_ip(),
                )
                # Reserve the id now so the next generated id cannot collide with it.
                self.desks[desk.workspace_id] = desk
                new.append(desk)
            self._bulk_index(new)
            entries: list[tuple[float, int, str]] = []
            for desk in new:
                self._seed_lifecycle(desk, now, launched, connected, entries)
            if len(entries) > len(self.heap):
                self.heap.extend(entries)
                heapq.heapify(self.heap)
            else:
                for entry in entries:
                    heapq.heappush(self.heap, entry)
            return [d.workspace_id for d in new]

    def _bulk_index(self, new: list[Desk]) -> None:
        ids = [d.workspace_id for d in new]
        if len(ids) < 64:
            for desk in new:
                insort(self.sorted_ids, desk.workspace_id)
                insort(self.by_directory.setdefault(desk.directory_id, []), desk.workspace_id)
        else:
            self.sorted_ids.extend(ids)
            self.sorted_ids.sort()
            for desk in new:
                self.by_directory.setdefault(desk.directory_id, []).append(desk.workspace_id)
            for directory_id in {d.directory_id for d in new}:
                self.by_directory[directory_id].sort()
        for desk in new:
            self.by_user.setdefault(_user_key(desk.directory_id, desk.user_name), []).append(desk.workspace_id)

    def _seed_lifecycle(
        self, desk: Desk, now: float, launched: float, connected: bool, entries: list[tuple[float, int, str]]
    ) -> None:
        def later(next_state: str, due: float) -> None:
            token = next(self._tokens)
            desk.next_state, desk.due, desk.token = next_state, due, token
            entries.append((due, token, desk.workspace_id))

        if desk.state != "PENDING":
            desk.snap_anchor = launched + SNAPSHOT_INTERVAL.total_seconds()
        if desk.state in SICK_STATES:
            desk.snap_last = desk.latest_snapshot(now)
            desk.snap_anchor = None
        if desk.state in ("AVAILABLE", "ADMIN_MAINTENANCE", "IMPAIRED", "UNHEALTHY") and connected:
            desk.connected = True
            desk.last_connected_at = now
            return
        desk.disconnected_since = now
        if desk.state == "AVAILABLE":
            if desk.running_mode == "AUTO_STOP":
                later("STOPPING", now + (desk.autostop_minutes or DEFAULT_AUTOSTOP_MINUTES) * 60)
        elif desk.state in NATURAL_NEXT:
            if desk.state == "UPDATING":
                desk.resume_state = "AVAILABLE"
            later(NATURAL_NEXT[desk.state], now + _seconds(desk.state))

    def set_missing(self, directory_id: str, user: str, missing: bool) -> None:
        with self.lock:
            if missing:
                self.missing_users.add(_user_key(directory_id, user))
            else:
                self.missing_users.discard(_user_key(directory_id, user))

    def login(self, wid: str) -> LoginResult:
        with self.lock:
            now = self._now()
            desk = self.desks.get(wid)
            if desk is None:
                raise EmulatorError(f"unknown WorkSpace {wid}")
            if desk.state == "AVAILABLE":
                desk.connected = True
                desk.connect_on_available = False
                desk.last_connected_at = now
                if desk.next_state == "STOPPING":
                    self._cancel(desk)
                return LoginResult(wid, True, desk.state, dt(now))
            if desk.state == "STOPPED" and desk.running_mode == "AUTO_STOP":
                # Logging in resumes a stopped AutoStop desk.
                self._begin(desk, "STARTING", now, "AVAILABLE")
                desk.connect_on_available = True
                return LoginResult(wid, True, desk.state, dt(now + _seconds("STARTING")))
            if desk.state == "STARTING" and desk.due is not None:
                desk.connect_on_available = True
                return LoginResult(wid, True, desk.state, dt(desk.due))
            reason = (
                "users cannot log in to a WorkSpace in ADMIN_MAINTENANCE"
                if desk.state == "ADMIN_MAINTENANCE"
                else f"the WorkSpace is {desk.state}"
            )
            return LoginResult(wid, False, desk.state, None, reason)

    def disconnect(self, wid: str) -> bool:
        with self.lock:
            now = self._now()
            desk = self.desks.get(wid)
            if desk is None:
                raise EmulatorError(f"unknown WorkSpace {wid}")
            if desk.connect_on_available:
                desk.connect_on_available = False
                return True
            if not desk.connected:
                return False
            self._drop_session(desk, now)
            self._arm_autostop(desk, now)
            return True

    def force_state(self, wid: str, state: str, error_code: str, error_message: str, settle: bool) -> None:
        with self.lock:
            now = self._now()
            desk = self.desks.get(wid)
            if desk is None:
                raise EmulatorError(f"unknown WorkSpace {wid}")
            if state not in ALL_STATES:
                raise EmulatorError(f"unknown state {state!r}")
            self._cancel(desk)
            desk.connect_on_available = False
            desk.resume_state = None
            desk.modifying = []
            desk.error_code, desk.error_message = (error_code, error_message) if state == "ERROR" else ("", "")
            self._set_state(desk, state, now)
            if state == "TERMINATED":
                self._index_remove(desk)
            elif state == "AVAILABLE":
                if not desk.connected:
                    desk.disconnected_since = now
                    self._arm_autostop(desk, now)
            elif settle and state in NATURAL_NEXT:
                self._schedule(desk, NATURAL_NEXT[state], now + _seconds(state))

    def inject_failures(
        self, operation: str, keys: Iterable[str], error_code: str, error_message: str, times: int
    ) -> None:
        with self.lock:
            per_key = self.failures.setdefault(operation, {})
            for key in keys:
                per_key.setdefault(key, []).extend([(error_code, error_message)] * times)

    def add_throttle(self, operation: str, times: int) -> None:
        with self.lock:
            self.throttles[operation] = self.throttles.get(operation, 0) + times

    def add_refusal(self, operation: str, error_code: str, times: int) -> None:
        with self.lock:
            self.refusals.setdefault(operation, []).extend([error_code] * times)

    def find(self, directory_id: str, user: str) -> str | None:
        with self.lock:
            self._now()
            owned = self.by_user.get(_user_key(directory_id, user), [])
            live = [w for w in owned if self.desks[w].state != "TERMINATING"]
            if live:
                return live[-1]
            return owned[-1] if owned else None
