"""What the running-mode optimiser reads from AWS: the managed desks, and the hours their users were connected.

- `UsageMetrics.connected_hours`: AWS/WorkSpaces `UserConnected` (dimension WorkspaceId, Maximum over 1-hour
  periods) through GetMetricData, 500 series a call (the API's maximum), following NextToken when the answer
  holds more than one page of datapoints.
- `UsageMetrics.running_hours`: AWS/WorkSpaces `Stopped` (Minimum over 1-hour periods; 0 = the desk ran during
  that hour, however it was started: a session, a pre-warm start, maintenance), the same way. The optimiser reads
  it for AUTO_STOP desks and `UserConnected` for the others: one series per desk either way.
  10,000 desks over a day cost ceil(10,000 / 500) = 20 calls where one
  call per desk (what AWS's Cost Optimizer for WorkSpaces does) costs 10,000.
- `ManagedFleet.managed_desks`: DescribeWorkspaces per directory (pages of 25, the API's maximum), joined with
  the tags of every desk carrying the ManagedBy tag, read in bulk from the Resource Groups Tagging API
  (GetResources, 100 desks a call, filtered on the tag key server-side) instead of one DescribeTags per desk:
  10,000 desks cost 100 tag calls instead of 10,000. IAM: `tag:GetResources` (resource `*`).
- `ManagedFleet.set_running_mode`: ModifyWorkspaceProperties (RunningMode, and the AutoStop timeout when going
  hourly); WorkSpaces' refusals become `ModeChangeRefused` (reported per desk), anything else propagates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from autopilot.adapters.aws import translated_pages
from autopilot.adapters.tagging import Tagging
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.domain.cost.ports import ManagedDesk, ModeChangeRefused
from autopilot.domain.cost.usage import HOUR, floor_hour
from autopilot.domain.kernel.errors import TransientAwsError
from autopilot.domain.kernel.workspace import WorkSpacesError

NAMESPACE = "AWS/WorkSpaces"
METRIC = "UserConnected"
STOPPED = "Stopped"
MAX_QUERIES = 500  # GetMetricData: at most 500 MetricDataQuery structures a call
PERIOD_SECONDS = 3600
DESCRIBE_PAGE = 25


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class UsageMetrics:
    def __init__(self, client: Any, *, namespace: str = NAMESPACE, metric: str = METRIC) -> None:
        self._client = client
        self._namespace = namespace
        self._metric = metric

    def connected_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        """Per desk, the start of every UTC hour in [its start, end) in which a user was connected.

        Desks are sorted by start before they are batched, so a batch reads no further back than it must."""
        return self._hours(starts, end, self._metric, "Maximum", running=False)

    def running_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        """Per desk, the start of every UTC hour in [its start, end) in which the desk was not stopped all along."""
        return self._hours(starts, end, STOPPED, "Minimum", running=True)

    def _hours(
        self, starts: Mapping[str, dt.datetime], end: dt.datetime, metric: str, stat: str, *, running: bool
    ) -> dict[str, list[dt.datetime]]:
        end = floor_hour(end) if end == floor_hour(end) else floor_hour(end) + HOUR
        order = sorted(starts, key=lambda workspace_id: (starts[workspace_id], workspace_id))
        found: dict[str, list[dt.datetime]] = {workspace_id: [] for workspace_id in order}
        for chunk in _chunks(order, MAX_QUERIES):
            start = floor_hour(min(starts[workspace_id] for workspace_id in chunk))
            if start >= end:
                continue
            for workspace_id, stamps in self._batch(chunk, start, end, metric, stat, running).items():
                since = floor_hour(starts[workspace_id])
                found[workspace_id] = sorted(stamp for stamp in stamps if since <= stamp < end)
        return found

    def _batch(
        self,
        workspace_ids: Sequence[str],
        start: dt.datetime,
        end: dt.datetime,
        metric: str,
        stat: str,
        running: bool,
    ) -> dict[str, set[dt.datetime]]:
        queries = [
            {
                "Id": f"u{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": self._namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                    },
                    "Period": PERIOD_SECONDS,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
            for index, workspace_id in enumerate(workspace_ids)
        ]
        stamps: dict[str, set[dt.datetime]] = {workspace_id: set() for workspace_id in workspace_ids}
        # botocore's paginator (cloudwatch paginators-1.json: NextToken until none comes back), one call a page
        pages = self._client.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
        )
        for page in pages:
            for result in page.get("MetricDataResults", []):
                status = result.get("StatusCode", "Complete")
                if status in ("InternalError", "Forbidden"):
                    # Raise: a desk silently read as unused would be switched the wrong way.
                    raise TransientAwsError(f"GetMetricData {status} for {metric} (query {result.get('Id')})")
                workspace_id = workspace_ids[int(str(result["Id"])[1:])]
                for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    # UserConnected: someone connected that hour; Stopped: not stopped for the whole hour.
                    if (value < 1) if running else (value > 0):
                        stamps[workspace_id].add(floor_hour(stamp))
        return stamps


def pair_role(workspace: Mapping[str, Any]) -> Literal["standby", "primary"] | None:
    """The desk's place in a Multi-Region Resilience pair, from DescribeWorkspaces.

    `RelatedWorkspaces` lists the *other* desk of the pair with its Type: a desk whose related desk is the
    PRIMARY is itself a standby; a desk with a related STANDBY (or `StandbyWorkspacesProperties`) is a primary."""
    types = {related.get("Type") for related in workspace.get("RelatedWorkspaces") or []}
    if "PRIMARY" in types:
        return "standby"
    if "STANDBY" in types or workspace.get("StandbyWorkspacesProperties"):
        return "primary"
    return None


def managed_desk(workspace: Mapping[str, Any], tags: Mapping[str, str]) -> ManagedDesk:
    properties = workspace.get("WorkspaceProperties", {})
    return ManagedDesk(
        workspace_id=workspace["WorkspaceId"],
        directory_id=workspace["DirectoryId"],
        state=workspace["State"],
        running_mode=properties.get("RunningMode", "ALWAYS_ON"),
        autostop_minutes=properties.get("RunningModeAutoStopTimeoutInMinutes"),
        compute=properties.get("ComputeTypeName"),
        tags=dict(tags),
        pair_role=pair_role(workspace),
    )


class ManagedFleet:
    def __init__(self, workspaces_client: Any, tagging: Tagging) -> None:
        self._client = workspaces_client
        self._tagging = tagging
        self._workspaces = WorkSpaces(workspaces_client)

    def managed_desks(self, directory_ids: Sequence[str], tag_key: str, tag_value: str) -> list[ManagedDesk]:
        """Desks of the directories that carry `tag_key=tag_value`, with all their tags."""
        tags = {
            ws: found for ws, found in self._tagging.tagged_with(tag_key).items() if found.get(tag_key) == tag_value
        }
        desks: list[ManagedDesk] = []
        for directory_id in directory_ids:
            for workspace in self._describe(directory_id):
                # The tagging API also lists desks terminated a short while ago: DescribeWorkspaces has the last word.
                if workspace["WorkspaceId"] in tags and workspace["State"] not in ("TERMINATING", "TERMINATED"):
                    desks.append(managed_desk(workspace, tags[workspace["WorkspaceId"]]))
        return desks

    def _describe(self, directory_id: str) -> Iterator[dict[str, Any]]:
        # botocore's paginator (workspaces paginators-1.json: NextToken until none comes back; Limit 25 a call)
        pages = self._client.get_paginator("describe_workspaces").paginate(
            DirectoryId=directory_id, PaginationConfig={"PageSize": DESCRIBE_PAGE}
        )
        for page in translated_pages(pages, "workspaces:DescribeWorkspaces"):
            yield from page.get("Workspaces", [])

    def set_running_mode(self, workspace_id: str, running_mode: str, autostop_minutes: int | None) -> None:
        try:
            self._workspaces.modify(workspace_id, running_mode=running_mode, autostop_minutes=autostop_minutes)
        except WorkSpacesError as refused:
            raise ModeChangeRefused(workspace_id, refused.code, str(refused)) from refused
