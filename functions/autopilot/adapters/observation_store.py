"""What fleet_watch observes and remembers: the fleet as DescribeWorkspaces lists it, its items in the state
table, and the reads it makes of others' items.

Items (single-table design, docs/fleet-watch.md):
- observation `pk=OBS#<workspace_id>, sk=OBS`: the last sweep's view of a desk. Written only when it changed,
  with `attribute_not_exists(pk) OR observed_ms < :now`, so an older observation never overwrites a newer one.
  A vanished desk's observation is kept 30 days (TTL `expires_at`).
- pre-warm start `pk=PREWARM#<employee_id>, sk=PREWARM`: the last shift a desk was started for; versioned
  (`attribute_not_exists(pk) OR version = :previous`), so two ticks never both start the same shift.
- roster `pk=ROSTER, sk=EMP#<employee_id>` (written by the feed ingest; read here).

Attribute names stay clear of the table's index keys (`workspace_id`, `lifecycle`, `employee_id`,
`shift_bucket`) so these items never land in the desk indexes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from autopilot.adapters.aws import RETRY_CONFIG, cached, translate
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.dynamodb import batch_get
from autopilot.adapters.workspaces import BATCH, WorkSpaces
from autopilot.clock import now
from autopilot.contracts.outputs import StepRecord
from autopilot.domain.fleet.ports import Observation, StartRecord
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.workspace import WorkspaceInfo

GONE_TTL = dt.timedelta(days=30)
# Above this many unknown desks, one scan of the desk records is cheaper than one query per desk.
SCAN_THRESHOLD = 50


@cached
def dynamodb() -> Any:
    """The DynamoDB service resource (built lazily, like every client)."""
    return boto3.session.Session().resource("dynamodb", config=RETRY_CONFIG)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(str(value)) if value else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, Decimal | int) else None


def _conditional_put(table: Any, item: dict[str, Any], condition: Any) -> bool:
    try:
        table.put_item(Item=item, ConditionExpression=condition)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise translate(exc, "dynamodb:PutItem") from exc
    return True


# --- the fleet ------------------------------------------------------------------------------------------------


class FleetObserver(WorkSpaces):
    """The WorkSpaces adapter plus the two reads a sweep needs to stay at its call floor.

    (`in_account` belongs in adapters.workspaces; it lives here until it moves there.)"""

    REGISTERED_TTL = dt.timedelta(hours=1)

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._registered: tuple[dt.datetime, frozenset[str]] | None = None

    def in_account(self) -> Iterator[WorkspaceInfo]:
        """Every desk of the account and region, in pages of 25 (no filter)."""
        for page in self._pages("describe_workspaces", page_size=BATCH):
            yield from (WorkspaceInfo.from_api(ws) for ws in page.get("Workspaces", []))

    def registered_directories(self) -> frozenset[str]:
        """Ids of the directories registered with WorkSpaces, re-read at most once an hour."""
        moment = now()
        if self._registered is None or moment - self._registered[0] >= self.REGISTERED_TTL:
            self._registered = (moment, frozenset(self.directories().values()))
        return self._registered[1]


# --- observations ----------------------------------------------------------------------------------------


def observation_key(workspace_id: str) -> dict[str, str]:
    return {"pk": f"OBS#{workspace_id}", "sk": "OBS"}


def observation_item(obs: Observation) -> dict[str, Any]:
    item: dict[str, Any] = {
        **observation_key(obs.workspace_id),
        "workspace": obs.workspace_id,
        "directory": obs.directory_id,
        "state": obs.state,
        "running_mode": obs.running_mode,
        "observed_at": obs.observed_at.isoformat(),
        "observed_ms": int(obs.observed_at.timestamp() * 1000),
        "autostop_minutes": obs.autostop_minutes,
        "compute": obs.compute,
        "connection_state": obs.connection_state,
        "last_user_connection": _iso(obs.last_user_connection),
        "owner": obs.employee_id,
        "adoption": obs.adoption,
        "adoption_checked_at": _iso(obs.adoption_checked_at),
        "autostop_tag_hours": obs.autostop_tag_hours,
        "next_id": obs.next_id,
        "gone": obs.gone or None,
    }
    if obs.gone:
        item["expires_at"] = int((obs.observed_at + GONE_TTL).timestamp())
    return {k: v for k, v in item.items() if v is not None}


def observation_from_item(item: dict[str, Any]) -> Observation:
    return Observation(
        workspace_id=str(item["workspace"]),
        directory_id=str(item["directory"]),
        state=str(item["state"]),
        running_mode=str(item["running_mode"]),
        observed_at=dt.datetime.fromisoformat(str(item["observed_at"])),
        autostop_minutes=_int(item.get("autostop_minutes")),
        compute=item.get("compute"),
        connection_state=item.get("connection_state"),
        last_user_connection=_time(item.get("last_user_connection")),
        employee_id=item.get("owner"),
        adoption=item.get("adoption"),
        adoption_checked_at=_time(item.get("adoption_checked_at")),
        autostop_tag_hours=_int(item.get("autostop_tag_hours")),
        next_id=item.get("next_id"),
        gone=bool(item.get("gone", False)),
    )


class ObservationStore:
    def __init__(self, resource: Any, table_name: str) -> None:
        self._resource = resource
        self._table_name = table_name
        self._table = resource.Table(table_name)

    def get_many(self, workspace_ids: Sequence[str]) -> dict[str, Observation]:
        keys = [observation_key(ws) for ws in workspace_ids]
        return {
            obs.workspace_id: obs
            for obs in map(observation_from_item, batch_get(self._resource, self._table_name, keys))
        }

    def put(self, observation: Observation) -> bool:
        """Write unless a newer observation of the desk is stored; False when it was (nothing written)."""
        item = observation_item(observation)
        condition = Attr("pk").not_exists() | Attr("observed_ms").lt(item["observed_ms"])
        return _conditional_put(self._table, item, condition)

    def reassign(self, workspace_id: str, *, previous: str, employee_id: str) -> None:
        """Name the desk's new owner where the observation still names `previous` (a hire that took over a desk
        adopted before HR named its user); any other observation is left as it is."""
        try:
            self._table.update_item(
                Key=observation_key(workspace_id),
                UpdateExpression="SET #owner = :new",
                ConditionExpression=Attr("owner").eq(previous),
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":new": employee_id},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise translate(exc, "dynamodb:UpdateItem") from exc

    def last_connections(self, workspace_ids: Sequence[str]) -> dict[str, dt.datetime | None]:
        return {ws: obs.last_user_connection for ws, obs in self.get_many(workspace_ids).items()}


# --- pre-warm starts ---------------------------------------------------------------------------------------


def start_key(employee_id: str) -> dict[str, str]:
    return {"pk": f"PREWARM#{employee_id}", "sk": "PREWARM"}


def start_item(record: StartRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        **start_key(record.employee_id),
        "owner": record.employee_id,
        "workspace": record.workspace_id,
        "directory": record.directory_id,
        "shift_date": record.shift_date,
        "status": record.status,
        "started_at": record.started_at.isoformat(),
        "rebuild_at": _iso(record.rebuild_at),
        "steps": json.dumps([step.model_dump(mode="json") for step in record.steps]),
        "version": record.version,
    }
    return {k: v for k, v in item.items() if v is not None}


def start_from_item(item: dict[str, Any]) -> StartRecord:
    return StartRecord(
        employee_id=str(item["owner"]),
        workspace_id=str(item["workspace"]),
        directory_id=str(item["directory"]),
        shift_date=str(item["shift_date"]),
        status=str(item["status"]),
        started_at=dt.datetime.fromisoformat(str(item["started_at"])),
        rebuild_at=_time(item.get("rebuild_at")),
        steps=tuple(StepRecord.model_validate(step) for step in json.loads(str(item.get("steps", "[]")))),
        version=int(item.get("version", 0)),
    )


class StartLogStore:
    def __init__(self, resource: Any, table_name: str) -> None:
        self._resource = resource
        self._table_name = table_name
        self._table = resource.Table(table_name)

    def get_many(self, employee_ids: Sequence[str]) -> dict[str, StartRecord]:
        keys = [start_key(e) for e in employee_ids]
        records = map(start_from_item, batch_get(self._resource, self._table_name, keys))
        return {record.employee_id: record for record in records}

    def put(self, record: StartRecord) -> bool:
        """Write version n only over version n-1 (or nothing); False when another tick got there first."""
        condition = Attr("pk").not_exists() | Attr("version").eq(record.version - 1)
        return _conditional_put(self._table, start_item(record), condition)


# --- desk records (read side) -------------------------------------------------------------------


class DeskLookup:
    """Desk records by workspace or employee, in bulk: a query (or get) each for a few, one scan for many."""

    def __init__(self, store: DeskStore) -> None:
        self._store = store

    def by_workspace_ids(self, workspace_ids: Sequence[str]) -> dict[str, Desk]:
        if len(workspace_ids) > SCAN_THRESHOLD:
            wanted = set(workspace_ids)
            return {d.workspace_id: d for d in self._store.all_desks() if d.workspace_id in wanted}
        found = {ws: self._store.by_workspace(ws) for ws in workspace_ids}
        return {ws: desk for ws, desk in found.items() if desk is not None}

    def by_employee_ids(self, employee_ids: Iterable[str]) -> dict[str, Desk]:
        wanted = sorted(set(employee_ids))
        if len(wanted) > SCAN_THRESHOLD:
            keep = set(wanted)
            return {d.employee_id: d for d in self._store.all_desks() if d.employee_id in keep}
        found = {e: self._store.get(e) for e in wanted}
        return {e: desk for e, desk in found.items() if desk is not None}

    def create(self, desk: Desk) -> Desk:
        return self._store.create(desk)

    def awaiting(self) -> list[Desk]:
        """Hires that hold no WorkSpace yet: two ByLifecycle queries (few items: only hires not yet provisioned)."""
        pending = itertools.chain(
            self._store.by_lifecycle(Lifecycle.SCHEDULED), self._store.by_lifecycle(Lifecycle.PROVISIONING)
        )
        return [desk for desk in pending if desk.workspace_id is None]

    def shift_desks(self) -> Iterator[Desk]:
        yield from self._store.shift_desks()

    def all_desks(self) -> Iterator[Desk]:
        yield from self._store.all_desks()
