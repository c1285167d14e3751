"""Reading the fleet: DescribeWorkspaces (paged), connection status, bundles and snapshots, and the tags of desks
and bundles."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .fleet_common import (
    PAGE_SIZE,
    FleetParts,
    _decode_token,
    _matcher,
    _page,
    _user_key,
)
from .model import (
    MAX_BATCH,
    MAX_TAGS,
    Desk,
    InvalidParameterValues,
    ResourceLimitExceeded,
    ResourceNotFound,
    ValidationError,
    now_epoch,
    too_many,
)


class FleetQueries(FleetParts):
    """The Describe* operations and tags."""

    def describe(
        self,
        workspace_ids: Sequence[str] | None = None,
        directory_id: str | None = None,
        user_name: str | None = None,
        bundle_id: str | None = None,
        workspace_name: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            self._now()
            if workspace_ids is not None and len(workspace_ids) > MAX_BATCH:
                raise too_many("workspaceIds", MAX_BATCH)
            if limit is not None and not 1 <= limit <= MAX_BATCH:
                raise ValidationError(
                    f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                    f"Member must have value less than or equal to {MAX_BATCH}"
                )
            filters = [bool(workspace_ids), bool(directory_id), bool(bundle_id), bool(workspace_name)]
            if sum(filters) > 1:
                raise InvalidParameterValues(
                    "An invalid number of parameters provided with DescribeWorkspaces. Only one of the "
                    "following are allowed to be specified: BundleId, DirectoryId, WorkSpaceIds, WorkspaceName."
                )
            if user_name and not directory_id:
                raise InvalidParameterValues("The DirectoryId parameter is required when UserName is used.")
            after = _decode_token(next_token) if next_token else None
            desks = self.desks
            source: Sequence[str]
            keep: Callable[[str], bool] | None = None
            if workspace_ids:
                source = sorted(set(workspace_ids))
                keep = desks.__contains__
            elif directory_id and user_name:
                source = sorted(self.by_user.get(_user_key(directory_id, user_name), []))
            elif directory_id:
                source = self.by_directory.get(directory_id, [])
            elif bundle_id:
                source = self.sorted_ids
                keep = _matcher(desks, "bundle_id", bundle_id)
            elif workspace_name:
                source = self.sorted_ids
                keep = _matcher(desks, "workspace_name", workspace_name)
            else:
                source = self.sorted_ids
            if self.hidden:
                keep = self._visible(keep)
            page, token = _page(source, after, limit or MAX_BATCH, keep)
            return [desks[wid].to_api() for wid in page], token

    def _visible(self, keep: Callable[[str], bool] | None) -> Callable[[str], bool]:
        """`keep`, minus the desks created too recently to be described yet."""
        now = now_epoch()
        for wid in [w for w, at in self.hidden.items() if at <= now]:
            del self.hidden[wid]
        hidden = self.hidden
        return lambda wid: wid not in hidden and (keep is None or keep(wid))

    def connection_status(
        self, workspace_ids: Sequence[str] | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            now = self._now()
            if workspace_ids is not None and len(workspace_ids) > MAX_BATCH:
                raise too_many("workspaceIds", MAX_BATCH)
            after = _decode_token(next_token) if next_token else None
            if workspace_ids:
                page, token = _page(sorted(set(workspace_ids)), after, MAX_BATCH, self.desks.__contains__)
            else:
                page, token = _page(self.sorted_ids, after, PAGE_SIZE, None)
            return [self._connection(self.desks[wid], now) for wid in page], token

    @staticmethod
    def _connection(desk: Desk, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "WorkspaceId": desk.workspace_id,
            "ConnectionState": desk.connection_state(),
            "ConnectionStateCheckTimestamp": now,
        }
        if desk.connected:
            out["LastKnownUserConnectionTimestamp"] = now
        elif desk.last_connected_at is not None:
            out["LastKnownUserConnectionTimestamp"] = desk.last_connected_at
        return out

    def describe_bundles(
        self, bundle_ids: Sequence[str] | None, owner: str | None, next_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            if bundle_ids is not None and len(bundle_ids) > MAX_BATCH:
                raise too_many("bundleIds", MAX_BATCH)
            if bundle_ids and owner:
                raise InvalidParameterValues(
                    "An invalid number of parameters provided with DescribeWorkspaceBundles. Only one of the "
                    "following are allowed to be specified: BundleIds, Owner."
                )
            after = _decode_token(next_token) if next_token else None
            if bundle_ids:
                wanted = set(bundle_ids)
                source = sorted(b for b in self.bundles if b in wanted)
            else:
                expected = self.account_id if owner in (None, "", self.account_id) else owner
                source = sorted(b.bundle_id for b in self.bundles.values() if b.owner == expected)
            page, token = _page(source, after, PAGE_SIZE, None)
            return [self.bundles[b].to_api() for b in page], token

    def snapshots(self, wid: str) -> dict[str, list[dict[str, float]]]:
        with self.lock:
            now = self._now()
            latest = self._desk(wid).latest_snapshot(now)
            snaps = [] if latest is None else [{"SnapshotTime": latest}]
            return {"RebuildSnapshots": list(snaps), "RestoreSnapshots": list(snaps)}

    def _tag_list(self, resource_id: str) -> list[dict[str, str]] | None:
        """The Key/Value list moto keeps for directories and images (desks keep a dict)."""
        if resource_id in self.backend.workspace_directories:
            tags: list[dict[str, str]] = self.backend.workspace_directories[resource_id].tags
            return tags
        image = self.backend.workspace_images.get(resource_id)
        if image is not None:
            if image.tags is None:
                image.tags = []
            image_tags: list[dict[str, str]] = image.tags
            return image_tags
        return None

    def _tags_of(self, resource_id: str) -> dict[str, str]:
        desk = self.desks.get(resource_id)
        if desk is not None:
            return dict(desk.tag_map)
        listed = self._tag_list(resource_id)
        if listed is None:
            raise ResourceNotFound(f"The resource {resource_id} could not be found.")
        return {t["Key"]: t["Value"] for t in listed}

    def _store_tags(self, resource_id: str, tags: dict[str, str]) -> None:
        desk = self.desks.get(resource_id)
        if desk is not None:
            desk.tag_map = tags
            return
        listed = self._tag_list(resource_id)
        if listed is not None:
            listed[:] = [{"Key": k, "Value": v} for k, v in tags.items()]

    def create_tags(self, resource_id: str, tags: Iterable[Mapping[str, Any]]) -> None:
        with self.lock:
            self._now()
            merged = self._tags_of(resource_id)
            for tag in tags:
                key = str(tag.get("Key", ""))
                if not 1 <= len(key) <= 127 or len(str(tag.get("Value", ""))) > 255:
                    raise InvalidParameterValues(f"The tag {key!r} is not valid.")
                merged[key] = str(tag.get("Value", ""))
            if len(merged) > MAX_TAGS:
                raise ResourceLimitExceeded(f"Each WorkSpaces resource can have a maximum of {MAX_TAGS} tags.")
            self._store_tags(resource_id, merged)

    def delete_tags(self, resource_id: str, keys: Iterable[str]) -> None:
        with self.lock:
            self._now()
            current = self._tags_of(resource_id)
            for key in keys:
                current.pop(key, None)
            self._store_tags(resource_id, current)

    def describe_tags(self, resource_id: str) -> list[dict[str, str]]:
        with self.lock:
            self._now()
            return [{"Key": k, "Value": v} for k, v in self._tags_of(resource_id).items()]
