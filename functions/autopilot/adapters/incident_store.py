"""Incidents in the state table (single-table design, see docs/remediation.md).

Items:
  incident         pk=INC#<incident_id>        sk=INC         data (JSON), version, status, scope, subject, directory
  open marker      pk=OPEN#<workspace or directory id>  sk=OPEN   incident_id   (exists only while the incident is open)
  directory index  pk=DIRINC#<directory_id>    sk=<incident_id>                 (open incidents of a directory)
  open index       pk=OPENINC                  sk=<incident_id>                 (every open incident: the gauge)
  desk actions     pk=ACTIONS#<workspace_id>   sk=ACTIONS     data (JSON), version   (caps and cooldowns)

Opening writes the incident, its marker and its directory and open index entries in one transaction; the
marker's `attribute_not_exists` condition is what keeps one open incident per desk (and per directory). Every
later write is conditional on the incident's `version`; resolving deletes the marker and the index entries in
the same transaction. The open index is one partition of key-only items (one per open incident, each its own
sort key, so concurrent openings never conflict): counting it is one Query with Select=COUNT, never a Scan.
Incidents opened before the open index existed are not in it (resolving them deletes nothing there). No
attribute is named like an index key of the table (workspace_id, lifecycle, employee_id, shift_bucket), so
incidents never show up in the desk indexes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from autopilot.adapters.aws import RETRY_CONFIG, cached, translate, translated
from autopilot.adapters.dynamodb import pages
from autopilot.domain.incidents.incidents import DeskActions, Incident
from autopilot.domain.kernel.errors import StaleUpdate

RETENTION = dt.timedelta(days=400)


def incident_key(incident_id: str) -> dict[str, str]:
    return {"pk": f"INC#{incident_id}", "sk": "INC"}


def marker_key(subject: str) -> dict[str, str]:
    return {"pk": f"OPEN#{subject}", "sk": "OPEN"}


def directory_index_key(directory_id: str, incident_id: str) -> dict[str, str]:
    return {"pk": f"DIRINC#{directory_id}", "sk": incident_id}


OPEN_INDEX = "OPENINC"


def open_index_key(incident_id: str) -> dict[str, str]:
    return {"pk": OPEN_INDEX, "sk": incident_id}


def actions_key(workspace_id: str) -> dict[str, str]:
    return {"pk": f"ACTIONS#{workspace_id}", "sk": "ACTIONS"}


def _incident_item(incident: Incident) -> dict[str, Any]:
    item: dict[str, Any] = {
        **incident_key(incident.incident_id),
        "data": incident.model_dump_json(exclude={"version"}),
        "version": incident.version,
        "status": incident.status,
        "scope": incident.scope,
        "subject": incident.subject,
        "directory": incident.directory_id,
    }
    if not incident.is_open and incident.resolved_at is not None:
        item["expires_at"] = int((incident.resolved_at + RETENTION).timestamp())
    return item


def incident_from_item(item: dict[str, Any]) -> Incident:
    fields = json.loads(item["data"])
    fields["version"] = int(item["version"])
    return Incident.model_validate(fields)


_incident_from = incident_from_item  # the store's own name for its item codec; reporting reads the public one


def _cancelled_by_condition(exc: ClientError) -> list[bool]:
    """Which items of a cancelled transaction failed their condition."""
    reasons = exc.response.get("CancellationReasons", [])
    return [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]


class IncidentStore:
    def __init__(self, table: Any) -> None:
        self._table = table
        # The resource's client: it (de)serializes attribute values itself, so items stay plain Python here.
        self._client = table.meta.client
        self._name = table.name

    # --- reads ---------------------------------------------------------------------------------------
    def get(self, incident_id: str) -> Incident | None:
        with translated("dynamodb:GetItem"):
            item = self._table.get_item(Key=incident_key(incident_id), ConsistentRead=True).get("Item")
        return _incident_from(item) if item else None

    def open_for(self, subject: str) -> Incident | None:
        """The open incident of a desk (workspace id) or of a directory (systemic), if any."""
        with translated("dynamodb:GetItem"):
            marker = self._table.get_item(Key=marker_key(subject), ConsistentRead=True).get("Item")
        if not marker:
            return None
        incident = self.get(str(marker["incident_id"]))
        return incident if incident is not None and incident.is_open else None

    def open_in_directory(self, directory_id: str) -> list[Incident]:
        """Every open incident of a directory: its systemic one and its desks'."""
        condition = Key("pk").eq(f"DIRINC#{directory_id}")
        found: list[Incident] = []
        for page in pages(self._table, "query", KeyConditionExpression=condition, ConsistentRead=True):
            for entry in page["Items"]:
                incident = self.get(str(entry["sk"]))
                if incident is not None and incident.is_open:
                    found.append(incident)
        return found

    def count_open(self) -> int:
        """How many incidents are open now: a COUNT query of the open index (one partition of key-only items)."""
        query = pages(self._table, "query", KeyConditionExpression=Key("pk").eq(OPEN_INDEX), Select="COUNT")
        return sum(int(page["Count"]) for page in query)

    def actions(self, workspace_id: str) -> DeskActions:
        with translated("dynamodb:GetItem"):
            item = self._table.get_item(Key=actions_key(workspace_id), ConsistentRead=True).get("Item")
        if not item:
            return DeskActions(workspace_id=workspace_id)
        fields = json.loads(item["data"])
        fields["version"] = int(item["version"])
        return DeskActions.model_validate(fields)

    # --- writes --------------------------------------------------------------------------------------
    def open(self, incident: Incident) -> tuple[Incident, bool]:
        """Open `incident` unless its desk (or directory) already has one open: then that one, and False."""
        stored = incident.model_copy(update={"version": 1})
        items = [
            {
                "Put": {
                    "TableName": self._name,
                    "Item": _incident_item(stored),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._name,
                    "Item": {**marker_key(incident.subject), "incident_id": incident.incident_id},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._name,
                    "Item": directory_index_key(incident.directory_id, incident.incident_id),
                }
            },
            {"Put": {"TableName": self._name, "Item": open_index_key(incident.incident_id)}},
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            failed = _cancelled_by_condition(exc)
            if exc.response["Error"]["Code"] != "TransactionCanceledException" or not any(failed):
                raise translate(exc, "dynamodb:TransactWriteItems") from exc
            existing = self.open_for(incident.subject)
            if existing is None and failed[:1] == [True]:
                existing = self.get(incident.incident_id)  # the same incident, opened by an earlier attempt
            if existing is None:
                raise StaleUpdate(f"incident for {incident.subject}: open raced with a resolution, retry") from exc
            return existing, False
        return stored, True

    def save(self, incident: Incident, actions: DeskActions | None = None) -> Incident:
        """Replace the incident if nobody changed it since it was read; with `actions`, the desk's action
        history too, in the same transaction. Each stored version is the given one plus one."""
        stored = incident.model_copy(update={"version": incident.version + 1})
        if actions is None:
            try:
                self._table.put_item(
                    Item=_incident_item(stored), ConditionExpression=Attr("version").eq(incident.version)
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                    raise StaleUpdate(
                        f"incident {incident.incident_id} changed since version {incident.version}"
                    ) from exc
                raise translate(exc, "dynamodb:PutItem") from exc
            return stored
        self._transact(
            [
                self._versioned_put(_incident_item(stored), incident.version),
                self._versioned_put(self._actions_item(actions), actions.version),
            ],
            what=f"incident {incident.incident_id} / actions of {actions.workspace_id}",
        )
        return stored

    def resolve(self, incident: Incident) -> Incident:
        """Write the resolved incident and drop its open marker and directory index entry, atomically."""
        stored = incident.model_copy(update={"version": incident.version + 1})
        self._transact(
            [
                self._versioned_put(_incident_item(stored), incident.version),
                {
                    "Delete": {
                        "TableName": self._name,
                        "Key": marker_key(incident.subject),
                        "ConditionExpression": "attribute_not_exists(pk) OR incident_id = :id",
                        "ExpressionAttributeValues": {":id": incident.incident_id},
                    }
                },
                {
                    "Delete": {
                        "TableName": self._name,
                        "Key": directory_index_key(incident.directory_id, incident.incident_id),
                    }
                },
                {"Delete": {"TableName": self._name, "Key": open_index_key(incident.incident_id)}},
            ],
            what=f"incident {incident.incident_id}",
        )
        return stored

    # --- helpers -------------------------------------------------------------------------------------
    def _actions_item(self, actions: DeskActions) -> dict[str, Any]:
        return {
            **actions_key(actions.workspace_id),
            "data": actions.model_dump_json(exclude={"version"}),
            "version": actions.version + 1,
        }

    def _versioned_put(self, item: dict[str, Any], expected_version: int) -> dict[str, Any]:
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :v"
        put: dict[str, Any] = {"TableName": self._name, "Item": item, "ConditionExpression": condition}
        if expected_version:
            put["ExpressionAttributeValues"] = {":v": expected_version}
        return {"Put": put}

    def _transact(self, items: list[dict[str, Any]], *, what: str) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException" and any(_cancelled_by_condition(exc)):
                raise StaleUpdate(f"{what}: changed by another writer") from exc
            raise translate(exc, "dynamodb:TransactWriteItems") from exc


@cached
def state_table(name: str) -> Any:
    """The state table as a boto3 resource (built lazily, standard retries)."""
    return boto3.session.Session().resource("dynamodb", config=RETRY_CONFIG).Table(name)
