"""Dashboard gauges the sweep itself cannot see: live desk records by profile (fleet_watch, every 5 minutes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import Policy

# Every desk record that is not over: the same "live desks" as the fleet report's profile table.
LIVE = tuple(state for state in Lifecycle if state not in (Lifecycle.TERMINATED, Lifecycle.CANCELLED))


class DesksByLifecycle(Protocol):
    """The ByLifecycle index (adapters.desk_store.DeskStore): one Query per state, no Scan."""

    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterable[Desk]: ...


def desks_by_profile(policy: Policy, desks: DesksByLifecycle) -> dict[str, int]:
    """Live desk records per profile; every profile of the policy is reported, at 0 when it has none (so the
    dashboard's line drops to 0 instead of stopping)."""
    counts: Counter[str] = Counter(dict.fromkeys(policy.profiles, 0))
    for state in LIVE:
        counts.update(desk.profile for desk in desks.by_lifecycle(state))
    return dict(sorted(counts.items()))
