"""The lifecycle model: one ``Fleet`` per moto WorkSpaces backend (account and region).

Transitions are lazy. Each desk holds at most one pending transition (``next_state`` at ``due``); a heap of
``(due, token, workspace_id)`` orders them, and ``settle()`` pops only what is due, so the cost of a call is
proportional to the changes, not to the fleet. A heap entry whose token no longer matches its desk is stale
(the transition was replaced or cancelled) and is skipped.

Fleet state lives in the backend's ``__dict__``, so moto's reset (``mock_aws`` start/stop, ``/moto-api/reset``)
wipes it together with everything else.

``Fleet`` is assembled from parts (fleet_lifecycle, fleet_actions, fleet_properties, fleet_queries, fleet_controls)
over fleet_common.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any

from .fleet_actions import FleetActions
from .fleet_common import PUBLIC_BUNDLES
from .fleet_controls import FleetControls
from .fleet_lifecycle import FleetLifecycle
from .fleet_properties import FleetProperties
from .fleet_queries import FleetQueries
from .model import (
    Bundle,
    Desk,
    Transition,
    now_epoch,
)

FLEET_ATTR = "_autopilot_fleet"
_FLEET_CREATE_LOCK = threading.Lock()


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


class Fleet(FleetLifecycle, FleetActions, FleetProperties, FleetQueries, FleetControls):
    """One moto WorkSpaces backend's desks and bundles, assembled from its parts (localcloud.emulator.fleet_*)."""

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
