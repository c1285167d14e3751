"""Attach the emulated operations to moto's WorkSpaces classes.

moto dispatches an action by looking up ``camelcase_to_underscores(action)`` on the response class at call
time, so functions set on ``WorkSpacesResponse`` serve both ``mock_aws()`` and ``ThreadedMotoServer`` without
re-registering URLs. The backend gets matching methods so Python callers (and moto's own tagging code) see
the same rules as HTTP callers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.workspaces.models import WorkSpacesBackend
from moto.workspaces.responses import WorkSpacesResponse

from localcloud import fast_moto

from .fleet import fleet_for

_MARK = "_autopilot_emulator_installed"
_LOCK = threading.Lock()

THROTTLE_BODY = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})


def _params(response: Any) -> dict[str, Any]:
    body = response.body
    if not body:
        return {}
    loaded = json.loads(body)
    return loaded if isinstance(loaded, dict) else {}


def _ids(requests: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in requests or []]


# --- backend methods (self is a WorkSpacesBackend) ------------------------------------------------------


def _b_create_workspaces(
    self: Any, workspaces: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return fleet_for(self).create(workspaces or [])


def _b_describe_workspaces(
    self: Any,
    workspace_ids: list[str] | None = None,
    directory_id: str | None = None,
    user_name: str | None = None,
    bundle_id: str | None = None,
    workspace_name: str | None = None,
    limit: int | None = None,
    next_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    return fleet_for(self).describe(
        workspace_ids, directory_id, user_name, bundle_id, workspace_name, limit, next_token
    )


def _b_terminate_workspaces(
    self: Any, terminate_workspace_requests: list[dict[str, Any]]
) -> dict[str, list[dict[str, str]]]:
    return {"FailedRequests": fleet_for(self).terminate(terminate_workspace_requests or [])}


def _b_reboot_workspaces(self: Any, reboot_workspace_requests: list[dict[str, Any]]) -> list[dict[str, str]]:
    return fleet_for(self).reboot(reboot_workspace_requests or [])


def _b_rebuild_workspaces(self: Any, rebuild_workspace_requests: list[dict[str, Any]]) -> list[dict[str, str]]:
    return fleet_for(self).rebuild(rebuild_workspace_requests or [])


def _b_start_workspaces(self: Any, start_workspace_requests: list[dict[str, Any]]) -> list[dict[str, str]]:
    return fleet_for(self).start(start_workspace_requests or [])


def _b_stop_workspaces(self: Any, stop_workspace_requests: list[dict[str, Any]]) -> list[dict[str, str]]:
    return fleet_for(self).stop(stop_workspace_requests or [])


def _b_restore_workspace(self: Any, workspace_id: str) -> None:
    fleet_for(self).restore(workspace_id)


def _b_modify_workspace_properties(self: Any, workspace_id: str, workspace_properties: dict[str, Any]) -> None:
    fleet_for(self).modify_properties(workspace_id, workspace_properties or {})


def _b_modify_workspace_state(self: Any, workspace_id: str, workspace_state: str) -> None:
    fleet_for(self).modify_state(workspace_id, workspace_state)


def _b_migrate_workspace(self: Any, source_workspace_id: str, bundle_id: str) -> str:
    return fleet_for(self).migrate(source_workspace_id, bundle_id)


def _b_describe_workspaces_connection_status(
    self: Any, workspace_ids: list[str] | None = None, next_token: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    return fleet_for(self).connection_status(workspace_ids, next_token)


def _b_describe_workspace_bundles(
    self: Any, bundle_ids: list[str] | None = None, owner: str | None = None, next_token: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    return fleet_for(self).describe_bundles(bundle_ids, owner, next_token)


def _b_describe_workspace_snapshots(self: Any, workspace_id: str) -> dict[str, list[dict[str, float]]]:
    return fleet_for(self).snapshots(workspace_id)


def _b_create_tags(self: Any, resource_id: str, tags: list[dict[str, str]]) -> None:
    fleet_for(self).create_tags(resource_id, tags or [])


def _b_delete_tags(self: Any, resource_id: str, tag_keys: list[str]) -> None:
    fleet_for(self).delete_tags(resource_id, tag_keys or [])


def _b_describe_tags(self: Any, resource_id: str) -> list[dict[str, str]]:
    return fleet_for(self).describe_tags(resource_id)


BACKEND_METHODS: dict[str, Callable[..., Any]] = {
    "create_workspaces": _b_create_workspaces,
    "describe_workspaces": _b_describe_workspaces,
    "terminate_workspaces": _b_terminate_workspaces,
    "reboot_workspaces": _b_reboot_workspaces,
    "rebuild_workspaces": _b_rebuild_workspaces,
    "start_workspaces": _b_start_workspaces,
    "stop_workspaces": _b_stop_workspaces,
    "restore_workspace": _b_restore_workspace,
    "modify_workspace_properties": _b_modify_workspace_properties,
    "modify_workspace_state": _b_modify_workspace_state,
    "migrate_workspace": _b_migrate_workspace,
    "describe_workspaces_connection_status": _b_describe_workspaces_connection_status,
    "describe_workspace_bundles": _b_describe_workspace_bundles,
    "describe_workspace_snapshots": _b_describe_workspace_snapshots,
    "create_tags": _b_create_tags,
    "delete_tags": _b_delete_tags,
    "describe_tags": _b_describe_tags,
}


# --- response methods (self is a WorkSpacesResponse) ----------------------------------------------------


def _with_token(key: str, items: list[dict[str, Any]], token: str | None) -> str:
    out: dict[str, Any] = {key: items}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


def _r_create_workspaces(self: Any) -> str:
    failed, pending = self.workspaces_backend.create_workspaces(workspaces=_params(self).get("Workspaces"))
    return json.dumps({"FailedRequests": failed, "PendingRequests": pending})


def _r_describe_workspaces(self: Any) -> str:
    p = _params(self)
    items, token = self.workspaces_backend.describe_workspaces(
        workspace_ids=p.get("WorkspaceIds"),
        directory_id=p.get("DirectoryId"),
        user_name=p.get("UserName"),
        bundle_id=p.get("BundleId"),
        workspace_name=p.get("WorkspaceName"),
        limit=p.get("Limit"),
        next_token=p.get("NextToken"),
    )
    return _with_token("Workspaces", items, token)


def _r_terminate_workspaces(self: Any) -> str:
    requests = _ids(_params(self).get("TerminateWorkspaceRequests"))
    return json.dumps(self.workspaces_backend.terminate_workspaces(terminate_workspace_requests=requests))


def _batch_response(backend_method: str, member: str) -> Callable[[Any], str]:
    def handler(self: Any) -> str:
        requests = _ids(_params(self).get(member))
        failed = getattr(self.workspaces_backend, backend_method)(requests)
        return json.dumps({"FailedRequests": failed})

    return handler


def _r_restore_workspace(self: Any) -> str:
    self.workspaces_backend.restore_workspace(workspace_id=_params(self).get("WorkspaceId", ""))
    return "{}"


def _r_modify_workspace_properties(self: Any) -> str:
    p = _params(self)
    self.workspaces_backend.modify_workspace_properties(
        workspace_id=p.get("WorkspaceId", ""), workspace_properties=p.get("WorkspaceProperties") or {}
    )
    return "{}"


def _r_modify_workspace_state(self: Any) -> str:
    p = _params(self)
    self.workspaces_backend.modify_workspace_state(
        workspace_id=p.get("WorkspaceId", ""), workspace_state=p.get("WorkspaceState", "")
    )
    return "{}"


def _r_migrate_workspace(self: Any) -> str:
    p = _params(self)
    source = p.get("SourceWorkspaceId", "")
    target = self.workspaces_backend.migrate_workspace(source_workspace_id=source, bundle_id=p.get("BundleId", ""))
    return json.dumps({"SourceWorkspaceId": source, "TargetWorkspaceId": target})


def _r_describe_workspaces_connection_status(self: Any) -> str:
    p = _params(self)
    items, token = self.workspaces_backend.describe_workspaces_connection_status(
        workspace_ids=p.get("WorkspaceIds"), next_token=p.get("NextToken")
    )
    return _with_token("WorkspacesConnectionStatus", items, token)


def _r_describe_workspace_bundles(self: Any) -> str:
    p = _params(self)
    items, token = self.workspaces_backend.describe_workspace_bundles(
        bundle_ids=p.get("BundleIds"), owner=p.get("Owner"), next_token=p.get("NextToken")
    )
    return _with_token("Bundles", items, token)


def _r_describe_workspace_snapshots(self: Any) -> str:
    return json.dumps(
        self.workspaces_backend.describe_workspace_snapshots(workspace_id=_params(self).get("WorkspaceId", ""))
    )


def _r_create_tags(self: Any) -> str:
    p = _params(self)
    self.workspaces_backend.create_tags(resource_id=p.get("ResourceId", ""), tags=p.get("Tags") or [])
    return "{}"


def _r_delete_tags(self: Any) -> str:
    p = _params(self)
    self.workspaces_backend.delete_tags(resource_id=p.get("ResourceId", ""), tag_keys=p.get("TagKeys") or [])
    return "{}"


def _r_describe_tags(self: Any) -> str:
    tags = self.workspaces_backend.describe_tags(resource_id=_params(self).get("ResourceId", ""))
    return json.dumps({"TagList": tags})


RESPONSE_METHODS: dict[str, Callable[..., Any]] = {
    "create_workspaces": _r_create_workspaces,
    "describe_workspaces": _r_describe_workspaces,
    "terminate_workspaces": _r_terminate_workspaces,
    "reboot_workspaces": _batch_response("reboot_workspaces", "RebootWorkspaceRequests"),
    "rebuild_workspaces": _batch_response("rebuild_workspaces", "RebuildWorkspaceRequests"),
    "start_workspaces": _batch_response("start_workspaces", "StartWorkspaceRequests"),
    "stop_workspaces": _batch_response("stop_workspaces", "StopWorkspaceRequests"),
    "restore_workspace": _r_restore_workspace,
    "modify_workspace_properties": _r_modify_workspace_properties,
    "modify_workspace_state": _r_modify_workspace_state,
    "migrate_workspace": _r_migrate_workspace,
    "describe_workspaces_connection_status": _r_describe_workspaces_connection_status,
    "describe_workspace_bundles": _r_describe_workspace_bundles,
    "describe_workspace_snapshots": _r_describe_workspace_snapshots,
    "create_tags": _r_create_tags,
    "delete_tags": _r_delete_tags,
    "describe_tags": _r_describe_tags,
}


def _wrap_call_action(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call_action(self: Any) -> Any:
        fleet = fleet_for(self.workspaces_backend)
        action = self._get_action()
        if fleet.record_call(action):
            # Answered before the operation runs, as AWS's front door does; botocore retries it.
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}
            return 400, headers, THROTTLE_BODY
        refused = fleet.take_refusal(action)
        if refused is not None:
            # A whole-call refusal (AccessDeniedException, a validation error...): botocore does not retry it.
            body = json.dumps({"__type": refused, "message": f"{refused} (injected by the local cloud)"})
            return 400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": refused}, body
        fleet.settle()
        return original(self)

    return call_action


_ORIGINALS: dict[tuple[type, str], Any] = {}
_ABSENT = object()


def _patch(cls: type, name: str, value: Any) -> None:
    _ORIGINALS.setdefault((cls, name), cls.__dict__.get(name, _ABSENT))
    setattr(cls, name, value)


def install() -> None:
    """Patch moto's WorkSpaces response and backend classes. Safe to call any number of times."""
    with _LOCK:
        if getattr(WorkSpacesResponse, _MARK, False):
            return
        for name, backend_fn in BACKEND_METHODS.items():
            _patch(WorkSpacesBackend, name, backend_fn)
        for name, response_fn in RESPONSE_METHODS.items():
            _patch(WorkSpacesResponse, name, response_fn)
        _patch(WorkSpacesResponse, "call_action", _wrap_call_action(WorkSpacesResponse.call_action))
        _patch(WorkSpacesResponse, _MARK, True)
    fast_moto.forget_classes()  # the response class's method list changed


def installed() -> bool:
    return bool(getattr(WorkSpacesResponse, _MARK, False))


def uninstall() -> None:
    """Give moto its own WorkSpaces back (for test isolation; fleets already created stay on their backends)."""
    with _LOCK:
        for (cls, name), original in _ORIGINALS.items():
            if original is _ABSENT:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
        _ORIGINALS.clear()
    fast_moto.forget_classes()
