"""What the group's options chose, and the backend a command talks to (built on first use: policy check needs
none). `--local SCENARIO` runs the scenario with the local cloud's own runner (localcloud.scenario.open_world)
and keeps its world open until the command ends."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from autopilot_ops.backend import Backend, aws_backend, endpoint_backend, world_backend
from autopilot_ops.errors import BadInput, OpsError
from localcloud.scenario import ScenarioError, open_world
from localcloud.world import LocalCloud, RunawayError


class Session:
    """What the group's options chose; the backend is built on first use (policy check needs none)."""

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        stage: str = "dev",
        stack: str | None = None,
        local: Path | None = None,
        quiet: bool = False,
        backend: Backend | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.profile, self.region, self.stage, self.stack, self.local = profile, region, stage, stack, local
        self.endpoint_url = endpoint_url
        self.quiet = quiet
        self._backend = backend
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = Console(highlight=False, soft_wrap=False, width=160)

    def progress(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[dim]{escape(message)}[/dim]")

    def backend(self) -> Backend:
        if self._backend is None:
            if self.local is not None:
                self._backend = world_backend(self._local_world(self.local))
            elif self.endpoint_url is not None:
                self.progress(f"local cloud at {self.endpoint_url}")
                self._backend = endpoint_backend(self.endpoint_url)
            else:
                self.progress(f"reading stack {self.stack or f'workspaces-autopilot-{self.stage}'}")
                self._backend = aws_backend(
                    profile=self.profile, region=self.region, stage=self.stage, stack=self.stack
                )
        return self._backend

    def _local_world(self, scenario: Path) -> LocalCloud:
        """The world as the scenario leaves it, open until the command ends (the root context closes it)."""
        root = click.get_current_context().find_root()
        world = open_world(scenario, progress=lambda line: self.progress(f"local cloud {line}"))
        try:
            cloud = root.with_resource(world)
        except ScenarioError as exc:  # the scenario, its policy, its parameters or the template: bad input
            raise BadInput(str(exc)) from exc
        except RunawayError as exc:  # the world did not settle: a failure, not bad input
            raise OpsError(f"{scenario}: {exc}") from exc
        self.progress(f"local cloud ready at {cloud.now():%Y-%m-%d %H:%M} UTC")
        return cloud


def current_session() -> Session:
    session = click.get_current_context().find_object(Session)
    assert session is not None
    return session
