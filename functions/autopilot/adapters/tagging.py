"""Desk tags in bulk, through the Resource Groups Tagging API (GetResources), never one DescribeTags per desk.

- `tagged_with(key)`: every WorkSpace carrying a tag key (TagFilters + ResourceTypeFilters, 100 a page). The
  AutoStop override is read this way: one call per sweep while fewer than 100 desks carry it.
- `tags_of(ids)`: the tags of given desks (ResourceARNList, 100 ARNs a call), for the few desks adoption looks
  at. A desk without any tag is simply absent from the answer.

IAM: `tag:GetResources` (resource `*`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autopilot.adapters.aws import translated

ARNS_PER_CALL = 100
RESOURCES_PER_PAGE = 100
RESOURCE_TYPE = "workspaces:workspace"


def _workspace_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _tags(mapping: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in mapping.get("Tags", [])}


class Tagging:
    def __init__(self, client: Any, *, account_id: str, partition: str = "aws") -> None:
        self._client = client
        self._account_id = account_id
        self._partition = partition

    def arn(self, workspace_id: str) -> str:
        region = self._client.meta.region_name
        return f"arn:{self._partition}:workspaces:{region}:{self._account_id}:workspace/{workspace_id}"

    def tagged_with(self, key: str) -> dict[str, dict[str, str]]:
        """Every desk with a tag `key` (any value): workspace id -> all its tags."""
        found: dict[str, dict[str, str]] = {}
        kwargs: dict[str, Any] = {
            "TagFilters": [{"Key": key}],
            "ResourceTypeFilters": [RESOURCE_TYPE],
            "ResourcesPerPage": RESOURCES_PER_PAGE,
        }
        while True:
            with translated("tag:GetResources"):
                response = self._client.get_resources(**kwargs)
            for mapping in response.get("ResourceTagMappingList", []):
                found[_workspace_id(mapping["ResourceARN"])] = _tags(mapping)
            token = response.get("PaginationToken")
            if not token:
                return found
            kwargs["PaginationToken"] = token

    def tags_of(self, workspace_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The tags of each given desk (desks without tags are left out)."""
        found: dict[str, dict[str, str]] = {}
        ids = list(workspace_ids)
        for start in range(0, len(ids), ARNS_PER_CALL):
            arns = [self.arn(ws) for ws in ids[start : start + ARNS_PER_CALL]]
            kwargs: dict[str, Any] = {"ResourceARNList": arns}
            while True:
                with translated("tag:GetResources"):
                    response = self._client.get_resources(**kwargs)
                for mapping in response.get("ResourceTagMappingList", []):
                    found[_workspace_id(mapping["ResourceARN"])] = _tags(mapping)
                # AWS answers an ARN list in one page; moto pages it by 50, so follow a token if one comes.
                token = response.get("PaginationToken")
                if not token:
                    break
                kwargs["PaginationToken"] = token
        return found
