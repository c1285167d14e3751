"""Fault injection and the hooks localcloud.patches calls around every AWS call a function makes: throttles,
refusals, per-item failures and crashes, and the count of calls."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from localcloud.world_types import (
    METERED_CHANGES,
    WorldParts,
)


class WorldFaults(WorldParts):
    """Faults a scenario injects, and the per-call hooks that apply them."""

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next `times` calls of a WorkSpaces operation answer ThrottlingException (botocore retries)."""
        self.emulator.throttle(operation, times)

    def refuse(self, operation: str, error_code: str, times: int = 1) -> None:
        """The next `times` calls of a WorkSpaces operation answer HTTP 400 `error_code` (AccessDeniedException,
        ValidationException...): a permanent refusal, which botocore does not retry."""
        self.emulator.refuse(operation, error_code, times)

    def fail_requests(
        self, operation: str, ids: Iterable[str], error_code: str, error_message: str | None = None, times: int = 1
    ) -> None:
        """Per-item failures (FailedRequests) for these workspace ids (user names for CreateWorkspaces)."""
        message = error_message or f"{error_code} (injected by the local cloud)"
        self.emulator.fail_requests(operation, list(ids), error_code, message, times)

    def crash(self, function: str, after: str, times: int = 1) -> None:
        """Make `function` raise RuntimeError right after its next `times` successful `after` calls
        (`CreateWorkspaces` or `workspaces:CreateWorkspaces`): a crash or timeout mid-flight."""
        spec = self._function_by_any(function)
        self._crashes.append({"function": spec.logical_id, "operation": after, "remaining": int(times)})

    def before_api_call(self, service: str, operation: str) -> bool:
        if service == "scheduler":
            self._schedules_dirty = True
        if self._current is None:
            return False
        self.api_calls[f"{service}:{operation}"] += 1
        return True

    def after_api_call(self, service: str, operation: str, result: Any) -> None:
        if service == "workspaces" and operation in METERED_CHANGES:
            self.meter.observe(everything=True)
        if (service, operation) == ("workspaces", "CreateWorkspaces"):
            for created in result.get("PendingRequests", []):
                self.note(
                    "created", workspace_id=created["WorkspaceId"], user=created["UserName"], state=created["State"]
                )
        elif (service, operation) == ("workspaces", "MigrateWorkspace") and result.get("TargetWorkspaceId"):
            self.note("created", workspace_id=result["TargetWorkspaceId"], source=result.get("SourceWorkspaceId"))
        for plan in self._crashes:
            wanted = plan["operation"]
            if (
                plan["function"] == self._current
                and plan["remaining"] > 0
                and wanted in (operation, f"{service}:{operation}")
            ):
                plan["remaining"] -= 1
                raise RuntimeError(f"injected crash in {self._current} after {service}:{operation}")
