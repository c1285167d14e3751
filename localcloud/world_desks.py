"""The fleet's people: seeding desks, finding a user's desk, logins (with the access events they cause),
disconnects, forced states, connection failures and users missing from the directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from localcloud.world_types import (
    PROFILE_TAG,
    Desk,
    LocalCloudError,
    WorldParts,
    iso,
)


class WorldDesks(WorldParts):
    """Desks and their users, as a scenario drives them."""

    def desks_of(self, user: str) -> list[Desk]:
        found = []
        for directory_id in sorted(set(self.directories.values())):
            workspace_id = self.emulator.find(directory_id, user)
            if workspace_id is not None:
                found.append(Desk(workspace_id, directory_id, user))
        return found

    def desk_of(self, user: str, site: str | None = None) -> Desk:
        """The user's WorkSpace; `site` disambiguates a user with desks in several directories."""
        desks = self.desks_of(user)
        if site is not None:
            directory_id = self._directory_of(site)
            desks = [desk for desk in desks if desk.directory_id == directory_id]
        if not desks:
            raise LocalCloudError(f"user {user!r} has no WorkSpace" + (f" at site {site}" if site else ""))
        if len(desks) > 1:
            raise LocalCloudError(f"user {user!r} has WorkSpaces in several directories: name the site")
        return desks[0]

    def _directory_of(self, site: str) -> str:
        if site not in self.directories:
            raise LocalCloudError(f"unknown site {site!r} (policy sites: {', '.join(sorted(self.directories))})")
        return self.directories[site]

    def seed_desks(self, users: Iterable[str], *, site: str, profile: str) -> list[str]:
        """Desks that already exist when the scenario starts: AVAILABLE, tagged as managed, per the profile."""
        if profile not in self.policy.profiles:
            raise LocalCloudError(f"unknown profile {profile!r} (policy profiles: {', '.join(self.policy.profiles)})")
        chosen = self.policy.profiles[profile]
        bundle_id = self.bundles[chosen.bundle]
        compute = chosen.compute
        tags = {**self.policy.tags, PROFILE_TAG: profile}
        autostop = chosen.autostop_hours * 60 if chosen.running_mode == "AUTO_STOP" else None
        created = self.emulator.seed_workspaces(
            self._directory_of(site),
            list(users),
            bundle_id,
            running_mode=chosen.running_mode,
            autostop_minutes=autostop,
            compute=compute,
            tags=tags,
        )
        self._collect()
        self.meter.observe(everything=True)
        return created

    def emulator_directory_names(self) -> list[str]:
        return list(self._directory_ids)

    def login(self, user: str, site: str | None = None) -> dict[str, Any]:
        """A user connects: the emulator opens the session (starting a stopped AutoStop desk first) and
        WorkSpaces sends `WorkSpaces Access` once the login succeeds."""
        desk = self.desk_of(user, site)
        result = self.emulator.login(desk.workspace_id)
        self._collect()
        self.meter.observe(workspace_ids=[desk.workspace_id])
        if not result.ok:
            self.note("login_refused", workspace_id=desk.workspace_id, user=user, reason=result.reason)
        elif result.connected_at is not None and result.connected_at > self.now():
            self._pending_logins.append((result.connected_at, desk.workspace_id))
        else:
            self._emit_access(desk.workspace_id, self.now())
        self._drain()
        return {"workspace_id": desk.workspace_id, "ok": result.ok, "state": result.state, "reason": result.reason}

    def _emit_access(self, workspace_id: str, at: dt.datetime) -> None:
        desk = self.emulator.workspace(workspace_id)
        self._events.append(
            (
                "default",
                self._complete_envelope(
                    {
                        "detail-type": "WorkSpaces Access",
                        "source": "aws.workspaces",
                        "time": iso(at),
                        "resources": [f"arn:aws:workspaces:{self.region}:{self.account_id}:workspace/{workspace_id}"],
                        "detail": {
                            "clientIpAddress": "198.51.100.10",
                            "actionType": "successfulLogin",
                            "workspacesClientProductName": "WorkSpaces Desktop client",
                            "loginTime": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "clientPlatform": "Windows",
                            "directoryId": f"domain/{desk['directory_id']}",
                            "clientVersion": "5.22.0",
                            "workspaceId": workspace_id,
                        },
                    }
                ),
            )
        )
        self.note("login", workspace_id=workspace_id, user=desk["user"])

    def _complete_logins(self) -> None:
        now = self.now()
        still: list[tuple[dt.datetime, str]] = []
        for at, workspace_id in self._pending_logins:
            if at > now:
                still.append((at, workspace_id))
                continue
            connection = self.emulator.connection(workspace_id)
            if connection.get("ConnectionState") == "CONNECTED":
                self._emit_access(workspace_id, at)
            else:
                self.note(
                    "login_failed", workspace_id=workspace_id, state=self.emulator.workspace(workspace_id)["state"]
                )
        self._pending_logins = still

    def disconnect(self, user: str, site: str | None = None) -> bool:
        desk = self.desk_of(user, site)
        was_connected = self.emulator.disconnect(desk.workspace_id)
        self.meter.observe(workspace_ids=[desk.workspace_id])
        self.note("disconnect", workspace_id=desk.workspace_id, user=user, was_connected=was_connected)
        self._drain()
        return was_connected

    def set_state(self, user: str, state: str, *, site: str | None = None, settle: bool = False) -> None:
        desk = self.desk_of(user, site)
        self.emulator.set_state(desk.workspace_id, state, settle=settle)
        self._drain()

    def connection_failures(self, user: str, count: int, *, site: str | None = None) -> None:
        """Failed connection attempts, as WorkSpaces publishes them in AWS/WorkSpaces: ConnectionAttempt and
        ConnectionFailure for the desk (dimension WorkspaceId) and for its directory (dimension DirectoryId)."""
        desk = self.desk_of(user, site)
        now = self.now()
        data = [
            {"MetricName": metric, "Dimensions": [dimension], "Value": float(count), "Unit": "Count", "Timestamp": now}
            for dimension in (
                {"Name": "WorkspaceId", "Value": desk.workspace_id},
                {"Name": "DirectoryId", "Value": desk.directory_id},
            )
            for metric in ("ConnectionAttempt", "ConnectionFailure")
        ]
        self.client("cloudwatch").put_metric_data(Namespace="AWS/WorkSpaces", MetricData=data)
        self.note("connection_failures", workspace_id=desk.workspace_id, user=user, count=count)
        self._drain()

    def missing_user(self, user: str, *, site: str | None = None, duration: dt.timedelta | None = None) -> None:
        """The user is not (yet) in the directory: CreateWorkspaces fails for them. With `duration`, the
        directory sync catches up after that long."""
        directories = [self._directory_of(site)] if site else sorted(set(self.directories.values()))
        for directory_id in directories:
            self.emulator.set_user_missing(directory_id, user)
        if duration is not None:

            def appear() -> None:
                for directory_id in directories:
                    self.emulator.set_user_missing(directory_id, user, missing=False)
                self.note("user_synced", user=user)

            self._at(self.now() + duration, f"user {user} appears", appear)
