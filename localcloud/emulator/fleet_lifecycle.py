"""The desks' state machine: pending transitions on a heap, settled lazily when due, and the indexes (by id,
directory and user) the fleet keeps in step with it."""

from __future__ import annotations

import heapq
from bisect import insort

from moto.moto_api._internal import mock_random

from .fleet_common import (
    FleetParts,
    _remove_sorted,
    _seconds,
    _user_key,
)
from .model import (
    DEFAULT_AUTOSTOP_MINUTES,
    SICK_STATES,
    SNAPSHOT_INTERVAL,
    Desk,
    ResourceNotFound,
    Transition,
    dt,
    now_epoch,
)


class FleetLifecycle(FleetParts):
    """Transitions, their timing and the fleet's indexes."""

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
