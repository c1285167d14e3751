"""Python facade over the emulated WorkSpaces of one account and region.

It works on moto's in-process backends, so the same object drives a ``mock_aws()`` test and a
``ThreadedMotoServer`` running in the same process. It never caches a backend: moto's reset replaces them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from moto.ds.models import ds_backends
from moto.ec2.models import ec2_backends
from moto.workspaces.models import WorkSpacesBackend, workspaces_backends

from .fleet import Fleet, fleet_for
from .model import DEFAULT_ACCOUNT_ID, EmulatorError, LoginResult, Transition, dt, ts
from .patch import install

DEFAULT_DIRECTORY_PASSWORD = "Local-Cloud-2026"  # noqa: S105 - a fake directory in a fake cloud


class Emulator:
    """Drive the emulated WorkSpaces of ``account_id`` in ``region``.

    >>> emu = Emulator(region="eu-west-1")
    >>> directory_id = emu.create_directory("corp.example.com")
    >>> ws_id = emu.seed_workspace(directory_id, "jdoe", emu.create_bundle("Standard with Windows 10"))
    """

    def __init__(self, region: str | None = None, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        install()
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.account_id = account_id

    # ------------------------------------------------------------------ plumbing

    @property
    def backend(self) -> WorkSpacesBackend:
        backend: WorkSpacesBackend = workspaces_backends[self.account_id][self.region]
        return backend

    @property
    def fleet(self) -> Fleet:
        return fleet_for(self.backend)

    def reset(self) -> None:
        """Forget every desk, bundle, directory registration and injected fault of this account and region."""
        self.backend.reset()

    # ------------------------------------------------------------------ world building

    def create_directory(
        self,
        name: str,
        *,
        short_name: str | None = None,
        password: str = DEFAULT_DIRECTORY_PASSWORD,
        size: str = "Small",
        cidr: str = "10.0.0.0/16",
    ) -> str:
        """A Simple AD directory in a new moto VPC (two subnets in two AZs), registered with WorkSpaces."""
        ec2 = ec2_backends[self.account_id][self.region]
        vpc = ec2.create_vpc(cidr_block=cidr)
        base = cidr.split("/")[0].rsplit(".", 2)[0]
        subnets = [
            ec2.create_subnet(vpc_id=vpc.id, cidr_block=f"{base}.{n}.0/24", availability_zone=f"{self.region}{az}")
            for n, az in ((1, "a"), (2, "b"))
        ]
        directory_id = ds_backends[self.account_id][self.region].create_directory(
            region=self.region,
            name=name,
            short_name=short_name or name.split(".")[0].upper(),
            password=password,
            description=f"{name} (local cloud)",
            size=size,
            vpc_settings={"VpcId": vpc.id, "SubnetIds": [s.id for s in subnets]},
            tags=[],
        )
        self.register_directory(directory_id)
        return directory_id

    def register_directory(self, directory_id: str) -> None:
        """Register an existing moto ds directory with WorkSpaces (what RegisterWorkspaceDirectory does)."""
        self.backend.register_workspace_directory(
            directory_id=directory_id, subnet_ids=[], enable_self_service=False, tenancy="SHARED", tags=[]
        )

    def create_bundle(
        self,
        name: str,
        compute: str = "STANDARD",
        root_gb: int = 80,
        user_gb: int = 50,
        description: str | None = None,
    ) -> str:
        """An account-owned bundle; DescribeWorkspaceBundles (Owner omitted) lists it."""
        return self.fleet.add_bundle(name, compute, root_gb, user_gb, description or name)

    def bundle_id(self, name: str) -> str | None:
        """The id of the bundle called ``name`` (account bundles first, then AMAZON ones)."""
        fleet = self.fleet
        with fleet.lock:
            ranked = sorted(fleet.bundles.values(), key=lambda b: b.owner == "AMAZON")
            return next((b.bundle_id for b in ranked if b.name == name), None)

    def seed_workspace(
        self,
        directory_id: str,
        user: str,
        bundle_id: str,
        running_mode: str = "AUTO_STOP",
        autostop_minutes: int | None = 60,
        compute: str | None = None,
        tags: Mapping[str, str] | None = None,
        state: str = "AVAILABLE",
        *,
        launched_at: datetime | None = None,
        connected: bool = False,
    ) -> str:
        """A desk that already exists. It counts as launched 30 days ago unless ``launched_at`` says otherwise.

        A transient ``state`` (PENDING, STARTING, REBOOTING, ...) completes on its normal schedule; an
        AVAILABLE AUTO_STOP desk that nobody logs in to stops after its AutoStop timeout.
        """
        return self.seed_workspaces(
            directory_id,
            [user],
            bundle_id,
            running_mode=running_mode,
            autostop_minutes=autostop_minutes,
            compute=compute,
            tags=tags,
            state=state,
            launched_at=launched_at,
            connected=connected,
        )[0]

    def seed_workspaces(
        self,
        directory_id: str,
        users: Iterable[str],
        bundle_id: str,
        running_mode: str = "AUTO_STOP",
        autostop_minutes: int | None = 60,
        compute: str | None = None,
        tags: Mapping[str, str] | None = None,
        state: str = "AVAILABLE",
        *,
        launched_at: datetime | None = None,
        connected: bool = False,
    ) -> list[str]:
        """Bulk seed, one desk per user, same settings for all (50,000 desks in a few seconds)."""
        return self.fleet.seed(
            directory_id,
            users,
            bundle_id,
            running_mode=running_mode,
            autostop_minutes=autostop_minutes,
            compute=compute,
            tags=tags,
            state=state,
            launched_at=ts(launched_at) if launched_at is not None else None,
            connected=connected,
        )

    def set_user_missing(self, directory_id: str, user: str, missing: bool = True) -> None:
        """AD sync lag: while missing, CreateWorkspaces for this user fails per item (ResourceNotFound.User)."""
        self.fleet.set_missing(directory_id, user, missing)

    # ------------------------------------------------------------------ users and faults

    def login(self, workspace_id: str) -> LoginResult:
        """A successful client login. On a STOPPED AutoStop desk it starts the desk (STARTING, ~90 s)."""
        return self.fleet.login(workspace_id)

    def disconnect(self, workspace_id: str) -> bool:
        """The user closes the session; the AutoStop idle timer starts. False if nobody was connected."""
        return self.fleet.disconnect(workspace_id)

    def set_state(
        self,
        workspace_id: str,
        state: str,
        *,
        error_code: str = "InternalError",
        error_message: str = "The WorkSpace failed to respond to health checks.",
        settle: bool = False,
    ) -> None:
        """Force a state (fault injection). The desk stays there (stuck) unless ``settle`` is True, in which
        case a transient state completes on its normal schedule. AVAILABLE re-arms AutoStop.
        """
        self.fleet.force_state(workspace_id, state, error_code, error_message, settle)

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` ("*" for any) answer HTTP 400 ThrottlingException."""
        self.fleet.add_throttle(operation, times)

    def refuse(self, operation: str, error_code: str, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` ("*" for any) answer HTTP 400 with ``error_code`` (e.g.
        AccessDeniedException): a refusal of the whole call, which botocore does not retry."""
        self.fleet.add_refusal(operation, error_code, times)

    def fail_requests(
        self,
        operation: str,
        ids: Iterable[str],
        error_code: str = "InternalError",
        error_message: str = "An internal error occurred. Try again later.",
        times: int = 1,
    ) -> None:
        """The next ``times`` requests of ``operation`` for each id fail.

        Batch operations report it per item in FailedRequests (HTTP 200); for CreateWorkspaces the ids are user
        names. Single-desk operations (RestoreWorkspace, ModifyWorkspaceProperties, ModifyWorkspaceState,
        MigrateWorkspace) answer HTTP 400 with ``error_code`` as the error type.
        """
        self.fleet.inject_failures(operation, ids, error_code, error_message, times)

    # ------------------------------------------------------------------ time

    def advance(self) -> list[Transition]:
        """Settle every transition due at the current process time; return them in time order."""
        return self.fleet.settle()

    def next_due(self) -> datetime | None:
        """When the next transition is due (for a clock that jumps to the next event), or None."""
        due = self.fleet.next_due()
        return dt(due) if due is not None else None

    @property
    def transitions(self) -> list[Transition]:
        fleet = self.fleet
        with fleet.lock:
            return list(fleet.transitions)

    # ------------------------------------------------------------------ reading

    def workspace(self, workspace_id: str) -> dict[str, Any]:
        fleet = self.fleet
        with fleet.lock:
            fleet.settle()
            desk = fleet.desks.get(workspace_id)
            if desk is None:
                raise EmulatorError(f"unknown WorkSpace {workspace_id}")
            return desk.to_report()

    def all_workspaces(self) -> list[dict[str, Any]]:
        fleet = self.fleet
        with fleet.lock:
            fleet.settle()
            return [fleet.desks[wid].to_report() for wid in fleet.sorted_ids]

    def connection(self, workspace_id: str) -> dict[str, Any]:
        """Connection state as DescribeWorkspacesConnectionStatus reports it, with datetimes."""
        fleet = self.fleet
        with fleet.lock:
            status, _ = fleet.connection_status([workspace_id])
            if not status:
                raise EmulatorError(f"unknown WorkSpace {workspace_id}")
            return {key: dt(value) if key.endswith("Timestamp") else value for key, value in status[0].items()}

    def find(self, directory_id: str, user: str) -> str | None:
        """The user's desk in the directory (a live one rather than one being terminated), or None."""
        return self.fleet.find(directory_id, user)

    @property
    def api_calls(self) -> dict[str, int]:
        """WorkSpaces API calls received per operation (throttled ones included)."""
        fleet = self.fleet
        with fleet.lock:
            return dict(fleet.api_calls)
