"""The WorkSpaces adapter seen as the remediation runbook's fleet port (domain/incidents/ports.py): reads passed
through, actions returned as per-desk refusals rather than raised, rebuild and restore one desk a call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from autopilot.adapters.workspaces import WorkSpaces
from autopilot.domain.incidents.ports import Action, ActionFailure
from autopilot.domain.kernel.workspace import ConnectionInfo, WorkspaceInfo, WorkSpacesError


class RunbookFleet:
    """The WorkSpaces adapter seen as the runbook's Fleet port: refusals as values, per desk."""

    def __init__(self, workspaces: WorkSpaces) -> None:
        self._workspaces = workspaces

    def in_directory(self, directory_id: str) -> Iterable[WorkspaceInfo]:
        return self._workspaces.in_directory(directory_id)

    def describe(self, workspace_ids: Sequence[str]) -> Sequence[WorkspaceInfo]:
        return self._workspaces.describe(workspace_ids)

    def connection_status(self, workspace_ids: Sequence[str]) -> Mapping[str, ConnectionInfo]:
        return self._workspaces.connection_status(workspace_ids)

    def act_many(self, action: Action, workspace_ids: Sequence[str]) -> dict[str, ActionFailure]:
        """Reboots 25 a call (the adapter batches them); rebuild and restore take one desk a call."""
        if action == "reboot":
            return {f.key: ActionFailure(f.code) for f in self._workspaces.reboot(workspace_ids)}
        refused: dict[str, ActionFailure] = {}
        for workspace_id in workspace_ids:
            failure = self._act_on_one(action, workspace_id)
            if failure is not None:
                refused[workspace_id] = failure
        return refused

    def _act_on_one(self, action: Action, workspace_id: str) -> ActionFailure | None:
        if action == "rebuild":
            failure = self._workspaces.rebuild(workspace_id)
            return ActionFailure(failure.code) if failure else None
        try:
            self._workspaces.restore(workspace_id)
        except WorkSpacesError as exc:
            return ActionFailure(exc.code)
        return None
