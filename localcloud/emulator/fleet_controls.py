"""What the local cloud drives beside the API: seeding desks and bundles, users missing from the directory,
logins and disconnects, forced states, and injected throttles, refusals and per-item failures."""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Iterable, Mapping

from moto.moto_api._internal import mock_random

from .fleet_common import (
    NATURAL_NEXT,
    FleetParts,
    _autostop_problem,
    _seconds,
    _user_key,
    _valid_volumes,
)
from .model import (
    ALL_STATES,
    COMPUTE_RANK,
    DEFAULT_AUTOSTOP_MINUTES,
    RUNNING_MODES,
    SEEDED_DESK_AGE,
    SICK_STATES,
    SNAPSHOT_INTERVAL,
    Bundle,
    Desk,
    EmulatorError,
    InjectedError,
    LoginResult,
    dt,
    now_epoch,
)


class FleetControls(FleetParts):
    """Seeding, the users' side and fault injection."""

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

    def find(self, directory_id: str, user: str) -> str | None:
        with self.lock:
            self._now()
            owned = self.by_user.get(_user_key(directory_id, user), [])
            live = [w for w in owned if self.desks[w].state != "TERMINATING"]
            if live:
                return live[-1]
            return owned[-1] if owned else None
