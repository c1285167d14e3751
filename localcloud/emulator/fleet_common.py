"""What the parts of the emulator's ``Fleet`` share: constants, pagination, failure entries, validity checks.

Also ``FleetParts``, the base of the parts ``Fleet`` is assembled from (localcloud.emulator.fleet_*): the state
they share, set by ``Fleet.__init__``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import threading
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from .model import (
    AUTOSTOP_STEP_MINUTES,
    DURATIONS,
    FIXED_VOLUME_PAIRS,
    VOLUME_RANGE,
    Bundle,
    Desk,
    InvalidParameterValues,
    Transition,
    dt,
)

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


class FleetParts:
    """The state every part of ``Fleet`` reads and writes (assigned in ``Fleet.__init__``)."""

    account_id: str
    region: str
    backend: Any
    lock: threading.RLock
    _tokens: itertools.count[int]
    _ip_counter: itertools.count[int]
    desks: dict[str, Desk]
    sorted_ids: list[str]
    by_directory: dict[str, list[str]]
    by_user: dict[tuple[str, str], list[str]]
    heap: list[tuple[float, int, str]]
    transitions: list[Transition]
    bundles: dict[str, Bundle]
    missing_users: set[tuple[str, str]]
    hidden: dict[str, float]
    throttles: dict[str, int]
    refusals: dict[str, list[str]]
    failures: dict[str, dict[str, list[tuple[str, str]]]]
    api_calls: Counter[str]

    if TYPE_CHECKING:
        # A part calls methods another part defines; Fleet (all parts together) has them all.
        def __getattr__(self, name: str) -> Any: ...
