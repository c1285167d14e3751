"""Scenarios: a YAML (or JSON) file that seeds a fleet, then drives the local cloud step by step.

    name: first shift
    start: 2026-12-01T05:00:00Z
    policy: scenarios/policies/paris.yaml      # optional; the packaged default policy otherwise
    parameters: {HrAccountId: "210987654321"}   # optional stack parameters; the template's defaults otherwise
    fleet:
      - {user: jdoe, site: paris-hq, profile: office}
      - {count: 100, user_prefix: agent, site: amiens-cc, profile: agent}
    steps:
      - publish: events/hr_employee_hired.json
      - publish: {event: events/hr_employee_hired.json, account: "210987654321", bus: HrEventBus}
      - advance: 2h
      - login: {user: jdoe}
      - policy: scenarios/policies/paris_live.yaml   # publish a new policy mid-run (`autopilot policy publish`)

`run_scenario(path_or_dict)` returns the report (see docs/local-cloud.md). Everything wrong with the input
(unknown step, malformed file, unknown site, profile or function, missing event file, invalid policy) is a
ScenarioError whose message names the file and the step index or field; a function failing inside the
scenario is not an error: it is in the report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.workspace import EMPLOYEE_TAG
from localcloud.intrinsics import TemplateError
from localcloud.scenario_format import (
    FleetBulk,
    FleetDesk,
    Progress,
    Scenario,
    ScenarioError,
    Step,
    parse_duration,
)
from localcloud.scenario_loading import (
    load_scenario,
    read_events,
    read_payload,
)
from localcloud.world import LocalCloud, LocalCloudError, RunawayError

__all__ = [
    "FleetBulk",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "open_world",
    "parse_duration",
    "read_events",
    "read_payload",
    "run_scenario",
]


# ====================================================================== running


def _apply(cloud: LocalCloud, step: Step) -> None:
    name, value = step.name, step.argument
    if name == "publish" and isinstance(value, tuple):
        events, options = value
        for event in events:
            account = options.account or cloud.account_id
            cloud.publish_from(account, event, bus=options.bus or "default", principal=options.principal)
    elif name == "publish":
        for event in value:
            cloud.publish(event)
    elif name == "upload_roster":
        path, key = value
        cloud.put_object(key, path.read_bytes())
    elif name == "policy":
        cloud.publish_policy(value)
    elif name == "advance":
        cloud.advance(value)
    elif name == "login":
        cloud.login(value.user, value.site)
    elif name == "disconnect":
        cloud.disconnect(value.user, value.site)
    elif name == "connection_failures":
        cloud.connection_failures(value.user, value.count, site=value.site)
    elif name == "set_state":
        cloud.set_state(value.user, value.state, site=value.site, settle=value.settle)
    elif name == "missing_user":
        duration = parse_duration(value.for_) if value.for_ else None
        cloud.missing_user(value.user, site=value.site, duration=duration)
    elif name == "throttle":
        cloud.throttle(value.operation, value.times)
    elif name == "refuse":
        cloud.refuse(value.operation, value.error_code, value.times)
    elif name == "fail_requests":
        ids = (
            value.users
            if value.operation == "CreateWorkspaces"
            else [desk.workspace_id for user in value.users for desk in cloud.desks_of(user)]
        )
        cloud.fail_requests(value.operation, ids, value.error_code, value.error_message, value.times)
    elif name == "crash":
        cloud.crash(value.function, value.after, value.times)
    elif name == "invoke":
        cloud.invoke(value.function, value.event)


def _preflight(scenario: Scenario, cloud: LocalCloud) -> None:
    """Names that only the template can check: functions of invoke and crash steps."""
    for step in scenario.steps:
        function = getattr(step.argument, "function", None)
        if function is None:
            continue
        try:
            cloud.function(function)
        except LocalCloudError as exc:
            raise ScenarioError(f"{scenario.origin}: steps[{step.index}] ({step.name}): function: {exc}") from exc


@contextlib.contextmanager
def open_world(
    source: str | Path | Mapping[str, Any] | Scenario,
    *,
    progress: Progress | None = None,
    template: Path | None = None,
    parameters: Mapping[str, str] | None = None,
    hostile: int | None = None,
    iam: bool = True,
) -> Iterator[LocalCloud]:
    """Run a scenario in a fresh local cloud and yield the world as the scenario leaves it (closed on exit):
    for callers that want to look around afterwards (an operator CLI, a test reading the state table,
    `autopilot-local invoke --scenario`, which may name another template and its parameters).
    `hostile=SEED` runs it in hostile mode (localcloud.hostile)."""
    scenario = source if isinstance(source, Scenario) else load_scenario(source)
    say = progress or (lambda _message: None)
    document = scenario.document
    try:
        # The scenario's own stack parameters, overridden by the caller's (`invoke --parameter-overrides`).
        extra: dict[str, Any] = {"parameters": {**(document.parameters or {}), **(parameters or {})}}
        if template is not None:
            extra["template"] = template
        if hostile is not None:
            extra["hostile"] = hostile
        cloud = LocalCloud(start=document.start, policy=scenario.policy_path, iam=iam, **extra)
    except PolicyError as exc:  # checked at load already; kept for a policy changed in between
        raise ScenarioError(f"{scenario.policy_path}: {'; '.join(exc.errors)}") from exc
    try:
        with cloud:
            _preflight(scenario, cloud)
            seeded = 0
            for entry in document.fleet:
                users = [entry.user] if isinstance(entry, FleetDesk) else entry.users()
                created = cloud.seed_desks(users, site=entry.site, profile=entry.profile)
                if isinstance(entry, FleetDesk) and entry.employee_id is not None:
                    cloud.client("workspaces").create_tags(
                        ResourceId=created[0], Tags=[{"Key": EMPLOYEE_TAG, "Value": entry.employee_id}]
                    )
                seeded += len(users)
            if seeded:
                cloud.note("fleet", desks=seeded)
            cloud.settle()
            total = len(scenario.steps)
            for step in scenario.steps:
                say(f"[{step.index + 1}/{total}] {cloud.now():%Y-%m-%d %H:%M} {step.label}")
                cloud.note("step", index=step.index, step=step.label)
                try:
                    _apply(cloud, step)
                except RunawayError:
                    raise
                except LocalCloudError as exc:
                    # A user without a desk (yet), a fault the emulator refuses: recorded, the scenario goes on.
                    cloud.note("step_failed", index=step.index, step=step.label, reason=str(exc))
            yield cloud
    except TemplateError as exc:
        where = "parameters" if "parameter" in str(exc) else "template.yaml"
        raise ScenarioError(f"{scenario.origin}: {where}: {exc}") from exc


def run_scenario(
    source: str | Path | Mapping[str, Any] | Scenario,
    *,
    progress: Progress | None = None,
    hostile: int | None = None,
    iam: bool = True,
) -> dict[str, Any]:
    """Run a scenario in a fresh local cloud and return its report (`hostile=SEED`: in hostile mode; `iam=False`:
    debugging only)."""
    with open_world(source, progress=progress, hostile=hostile, iam=iam) as cloud:
        return cloud.report()
