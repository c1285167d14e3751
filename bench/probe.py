"""What the benchmarks measure inside a local cloud world, and how.

`Probe.installed()` hooks three places for as long as it is active:

- `botocore.client.BaseClient._make_api_call`: every AWS API call a function makes, counted once per call (retries
  included in the one call), per invocation (`Run.calls["workspaces:CreateWorkspaces"]`), with the number of entries
  it carried (`Run.items`: ids, entries, keys, series). Only calls made while a function runs count; the world's own
  calls (building, seeding, polling queues) do not.
- `botocore.endpoint.Endpoint.make_request` for DynamoDB: the write capacity units each write consumes, estimated
  from item sizes (see `write_units`), and which items were written (`probe.writes`, by key prefix).
- moto's request stubber (`BotocoreStubber.__call__`): the CPU spent answering a request (moto, the WorkSpaces
  emulator, the world's hooks) is summed, so a handler's CPU can be reported without the emulator. The probe's own
  bookkeeping (sizing DynamoDB items) is excluded the same way.

Handlers are wrapped (`Probe.handlers()`, given to `LocalCloud(handlers=...)`): each invocation's CPU time
(`time.process_time`) minus the CPU spent inside the stubber during it is the handler's own CPU: its code, Powertools,
pydantic, and botocore's client side (serialising requests, signing, parsing responses), as in Lambda where the
network wait costs no CPU. The garbage collector is paused during an invocation (a collection would walk moto's
whole state, which a Lambda's heap never holds). The first invocation of a function imports its module outside the
measurement (cold starts are measured on their own, bench/coldstart.py).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.client
import botocore.endpoint
from moto.core.botocore_stubber import BotocoreStubber
from moto.dynamodb.models import dynamodb_backends

from bench.capacity import item_size, write_units
from localcloud import lambdas
from localcloud.world import expanded_template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


# --- what a run records -------------------------------------------------------------------------------------


@dataclass
class Run:
    """One invocation of one function: what it called and wrote, and its own CPU."""

    function: str
    cpu_s: float = 0.0  # handler CPU without the stubber (moto, the emulator)
    calls: Counter[str] = field(default_factory=Counter)  # "service:Operation" -> calls
    items: Counter[str] = field(default_factory=Counter)  # "service:Operation" -> entries / ids / keys asked for
    by_user: int = 0  # DescribeWorkspaces calls filtered by (DirectoryId, UserName): one desk a call
    write_units: float = 0.0
    writes: Counter[str] = field(default_factory=Counter)  # "PutItem DESK#/HIST#" -> items written


@dataclass
class Totals:
    """Runs added up."""

    invocations: int = 0
    cpu_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    by_user: int = 0
    write_units: float = 0.0
    writes: Counter[str] = field(default_factory=Counter)

    def count(self, *operations: str) -> int:
        """Calls of these `service:Operation`s; `dynamodb:` alone means every call of the service."""
        return sum(
            n
            for key, n in self.calls.items()
            for op in operations
            if key == op or (op.endswith(":") and key.startswith(op))
        )


# Where each batch operation carries its entries (the number of things one call asks about).
_BATCH_PARAMS = {
    "events:PutEvents": "Entries",
    "sqs:SendMessageBatch": "Entries",
    "workspaces:CreateWorkspaces": "Workspaces",
    "workspaces:DescribeWorkspaces": "WorkspaceIds",
    "workspaces:DescribeWorkspacesConnectionStatus": "WorkspaceIds",
    "workspaces:StartWorkspaces": "StartWorkspaceRequests",
    "workspaces:StopWorkspaces": "StopWorkspaceRequests",
    "workspaces:RebootWorkspaces": "RebootWorkspaceRequests",
    "workspaces:RebuildWorkspaces": "RebuildWorkspaceRequests",
    "workspaces:TerminateWorkspaces": "TerminateWorkspaceRequests",
    "cloudwatch:GetMetricData": "MetricDataQueries",
}


def batch_items(operation: str, params: Mapping[str, Any]) -> int:
    """How many entries one call carries (0 for a call that is not a batch, such as a listing)."""
    if operation in _BATCH_PARAMS:
        return len(params.get(_BATCH_PARAMS[operation]) or ())
    if operation == "dynamodb:BatchGetItem":
        return sum(len(request.get("Keys", ())) for request in params.get("RequestItems", {}).values())
    if operation == "dynamodb:BatchWriteItem":
        return sum(len(requests) for requests in params.get("RequestItems", {}).values())
    return 0


@dataclass
class _Target:
    table: str
    key: dict[str, Any]
    requested: dict[str, Any] | None  # the item a Put asks for
    factor: int  # 2 inside a transaction


def _key_of(table: str, item: Mapping[str, Any]) -> dict[str, Any]:
    model = dynamodb_backends[ACCOUNT][REGION].get_table(table)
    names = [model.hash_key_attr] + ([model.range_key_attr] if model.range_key_attr else [])
    return {name: item[name] for name in names if name in item}


def _targets(operation: str, body: Mapping[str, Any]) -> list[_Target]:
    if operation == "PutItem":
        table = body["TableName"]
        return [_Target(table, _key_of(table, body["Item"]), body["Item"], 1)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [_Target(body["TableName"], body["Key"], None, 1)]
    if operation == "BatchWriteItem":
        found = []
        for table, requests in body["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    found.append(_Target(table, _key_of(table, item), item, 1))
                else:
                    found.append(_Target(table, request["DeleteRequest"]["Key"], None, 1))
        return found
    if operation == "TransactWriteItems":
        found = []
        for entry in body["TransactItems"]:
            [(kind, detail)] = entry.items()
            table = detail["TableName"]
            if kind == "Put":
                found.append(_Target(table, _key_of(table, detail["Item"]), detail["Item"], 2))
            else:
                found.append(_Target(table, detail["Key"], None, 2))
        return found
    return []


def _stored(target: _Target) -> dict[str, Any] | None:
    item = dynamodb_backends[ACCOUNT][REGION].get_item(target.table, target.key)
    return None if item is None else dict(item.to_json()["Attributes"])


def _prefix(key: Mapping[str, Any]) -> str:
    """A key as its prefixes: `{"pk": {"S": "DESK#E1"}, "sk": {"S": "HIST#2026..."}}` -> `DESK#/HIST#`."""
    parts = []
    for value in key.values():
        text = str(next(iter(value.values()))) if isinstance(value, Mapping) else str(value)
        head, sep, _ = text.partition("#")
        parts.append(head + sep if sep else (text if len(text) <= 12 else "<id>"))
    return "/".join(parts) or "-"


# --- the probe ---------------------------------------------------------------------------------------------


class Probe:
    """Per-function API calls, DynamoDB write units and handler CPU inside a LocalCloud (see the module note)."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self._running: list[Run] = []
        self._excluded_cpu = 0.0  # CPU inside moto's stubber and in the probe's own bookkeeping, cumulative
        self._stub_depth = 0

    # -- reading

    @property
    def current(self) -> Run | None:
        return self._running[-1] if self._running else None

    def select(self, *functions: str) -> list[Run]:
        """The runs of these functions (logical ids), or of every function."""
        return [run for run in self.runs if not functions or run.function in functions]

    def total(self, *functions: str) -> Totals:
        merged = Totals()
        for run in self.select(*functions):
            merged.invocations += 1
            merged.cpu_s += run.cpu_s
            merged.calls.update(run.calls)
            merged.items.update(run.items)
            merged.by_user += run.by_user
            merged.write_units += run.write_units
            merged.writes.update(run.writes)
        return merged

    def reset(self) -> None:
        self.runs.clear()

    # -- wrapping handlers

    def handlers(self) -> dict[str, lambdas.Handler]:
        """A timing wrapper for every function of the template, by logical id (for `LocalCloud(handlers=...)`)."""
        resources = expanded_template()["Resources"]
        return {
            logical_id: self.wrap(logical_id, str(resource["Properties"]["Handler"]))
            for logical_id, resource in resources.items()
            if resource.get("Type") == "AWS::Lambda::Function"
        }

    def wrap(self, logical_id: str, handler_path: str) -> lambdas.Handler:
        resolved: list[lambdas.Handler] = []

        def handler(event: Any, context: Any) -> Any:
            if not resolved:  # imported outside the measurement (cold start is measured on its own)
                resolved.append(lambdas.resolve_handler(handler_path))
            run = Run(logical_id)
            self.runs.append(run)
            self._running.append(run)
            # No garbage collection inside the measurement: a collection here would walk moto's whole state (a
            # fleet of tens of thousands of desks), which a Lambda's small heap never has.
            collecting = gc.isenabled()
            gc.disable()
            cpu, stub = time.process_time(), self._excluded_cpu
            try:
                return resolved[0](event, context)
            finally:
                run.cpu_s = (time.process_time() - cpu) - (self._excluded_cpu - stub)
                if collecting:
                    gc.enable()
                self._running.pop()

        handler.__module__ = handler_path.rpartition(".")[0]  # the world aligns Powertools by the module
        return handler

    # -- hooks

    @contextlib.contextmanager
    def installed(self) -> Iterator[Probe]:
        probe = self
        client_class: Any = botocore.client.BaseClient
        make_api_call = client_class._make_api_call
        make_request = botocore.endpoint.Endpoint.make_request
        stubber_call = BotocoreStubber.__call__

        def counted_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            run = probe.current
            if run is not None:
                operation = f"{client.meta.service_model.service_name}:{operation_name}"
                run.calls[operation] += 1
                run.items[operation] += batch_items(operation, api_params)
                if operation == "workspaces:DescribeWorkspaces" and api_params.get("UserName"):
                    run.by_user += 1
            return make_api_call(client, operation_name, api_params)

        def measured_request(endpoint: Any, operation_model: Any, request_dict: dict[str, Any]) -> Any:
            run = probe.current
            operation = operation_model.name
            if (
                run is None
                or operation_model.service_model.service_name != "dynamodb"
                or operation not in WRITE_OPERATIONS
            ):
                return make_request(endpoint, operation_model, request_dict)
            started = time.process_time()
            targets = _targets(operation, json.loads(request_dict["body"]))
            before = [_stored(target) for target in targets]
            probe._excluded_cpu += time.process_time() - started
            result = make_request(endpoint, operation_model, request_dict)
            started = time.process_time()
            for target, old in zip(targets, before, strict=True):
                new = _stored(target)
                size_new = max(item_size(new), item_size(target.requested))
                run.write_units += target.factor * write_units(item_size(old), size_new)
                run.writes[f"{operation} {_prefix(target.key)}"] += 1
            probe._excluded_cpu += time.process_time() - started
            return result

        def timed_stub(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            probe._stub_depth += 1
            start = time.process_time()
            try:
                return stubber_call(stubber, event_name, request, **kwargs)
            finally:
                probe._stub_depth -= 1
                if probe._stub_depth == 0:
                    probe._excluded_cpu += time.process_time() - start

        patches: list[tuple[Any, str, Callable[..., Any]]] = [
            (client_class, "_make_api_call", counted_api_call),
            (botocore.endpoint.Endpoint, "make_request", measured_request),
            (BotocoreStubber, "__call__", timed_stub),
        ]
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
        for owner, name, replacement in patches:
            setattr(owner, name, functools.wraps(getattr(owner, name))(replacement))
        try:
            yield self
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)
