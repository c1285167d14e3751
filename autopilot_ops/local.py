"""`--local SCENARIO`: run a scenario in a fresh LocalCloud and keep the world open for one CLI command.

localcloud.scenario.run_scenario closes its world when the scenario ends; the CLI needs it open afterwards, so
this runs the same steps itself. (It uses the scenario runner's step application; ask: a public
`localcloud.scenario.open_world(source, progress)` would make this module a one-liner.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from autopilot.domain.kernel.errors import PolicyError
from autopilot_ops.errors import BadInput, OpsError
from localcloud import scenario as scenarios
from localcloud.intrinsics import TemplateError
from localcloud.world import LocalCloud, LocalCloudError, RunawayError


@contextlib.contextmanager
def scenario_world(path: Path, progress: Callable[[str], None]) -> Iterator[LocalCloud]:
    """The world as the scenario leaves it; closed when the block ends."""
    try:
        scenario = scenarios.load_scenario(path)
    except scenarios.ScenarioError as exc:
        raise BadInput(str(exc)) from exc
    document = scenario.document
    try:
        cloud = LocalCloud(start=document.start, policy=scenario.policy_path)
    except PolicyError as exc:
        raise BadInput(f"{scenario.policy_path}: {'; '.join(exc.errors)}") from exc
    try:
        with cloud:
            try:
                scenarios._preflight(scenario, cloud)
            except scenarios.ScenarioError as exc:
                raise BadInput(str(exc)) from exc
            for entry in document.fleet:
                users = [entry.user] if isinstance(entry, scenarios.FleetDesk) else entry.users()
                cloud.seed_desks(users, site=entry.site, profile=entry.profile)
            cloud.settle()
            total = len(scenario.steps)
            for step in scenario.steps:
                progress(f"local cloud [{step.index + 1}/{total}] {cloud.now():%Y-%m-%d %H:%M} {step.label}")
                try:
                    scenarios._apply(cloud, step)
                except RunawayError as exc:
                    raise OpsError(f"{path}: {exc}") from exc
                except LocalCloudError as exc:
                    cloud.note("step_failed", index=step.index, step=step.label, reason=str(exc))
            progress(f"local cloud ready at {cloud.now():%Y-%m-%d %H:%M} UTC")
            yield cloud
    except TemplateError as exc:
        raise OpsError(f"template.yaml: {exc}") from exc
