"""`policy check FILE [--sample EVENT_FILE ...]`: validate a policy document the way the functions load it, and
show which profile, bundle and directory each sample HR event would get (the first matching rule wins).
`policy publish FILE`: the same validation, then the compact JSON the functions read without PyYAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autopilot.contracts.hr import EmployeeHired, EmployeeTransferred
from autopilot.domain.hr.roster import describe_errors
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy, parse_policy, policy_document_json
from autopilot_ops.errors import BadInput

MAPPED: dict[str, type[EmployeeHired] | type[EmployeeTransferred]] = {
    "Employee Hired": EmployeeHired,
    "Employee Transferred": EmployeeTransferred,
}


# SSM parameter value limits (bytes): Standard tier, Advanced tier (charged per parameter and month).
SSM_TIER_LIMITS: dict[str, int] = {"Standard": 4096, "Advanced": 8192}


def _policy_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read the policy: {exc}") from exc


def read_policy(path: Path) -> tuple[Policy | None, list[str]]:
    text = _policy_text(path)
    try:
        return parse_policy(text, origin=str(path)), []
    except PolicyError as exc:
        return None, list(exc.errors)


def publishable(path: Path, *, tier: str = "Standard") -> str:
    """The policy at `path` as the compact JSON `policy publish` stores. BadInput (naming every bad key) when it is
    invalid, or when it is bigger than an SSM parameter of `tier` holds."""
    try:
        document = policy_document_json(_policy_text(path), origin=str(path))
    except PolicyError as exc:
        raise BadInput(f"{path}: " + "; ".join(exc.errors)) from exc
    size, limit = len(document.encode("utf-8")), SSM_TIER_LIMITS[tier]
    if size > limit:
        if tier == "Standard":
            remedy = (
                "shorten it (comments and layout do not count, only the JSON does), or publish it to an "
                f"Advanced-tier parameter, which holds {SSM_TIER_LIMITS['Advanced']} bytes for a monthly charge: "
                "`autopilot policy publish FILE --tier Advanced` (a parameter cannot go back to Standard)"
            )
        else:
            remedy = "no SSM tier holds more: shorten it (fewer sites, bundles, profiles or rules)"
        raise BadInput(
            f"{path}: the policy is {size} bytes as compact JSON, over the {limit} bytes of an SSM {tier}-tier "
            f"parameter: {remedy}"
        )
    return document


def sample_files(references: tuple[Path, ...]) -> list[Path]:
    """Event files; a directory stands for the JSON files in it."""
    files: list[Path] = []
    for reference in references:
        if reference.is_dir():
            files += sorted(reference.glob("*.json"))
        elif reference.is_file():
            files.append(reference)
        else:
            raise BadInput(f"--sample {reference}: no such file or directory")
    return files


def _events(path: Path) -> list[dict[str, Any]]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"--sample {path}: not a JSON event file: {exc}") from exc
    events = content if isinstance(content, list) else [content]
    shaped = []
    for event in events:
        if not isinstance(event, dict):
            raise BadInput(f"--sample {path}: an event is a JSON object")
        if "DetailType" in event:  # a PutEvents entry
            detail = event.get("Detail")
            shaped.append(
                {
                    "detail-type": event["DetailType"],
                    "detail": json.loads(detail) if isinstance(detail, str) else detail,
                }
            )
        else:
            shaped.append(event)
    return shaped


def map_sample(policy: Policy, path: Path, event: dict[str, Any]) -> dict[str, Any]:
    kind = str(event.get("detail-type", ""))
    row: dict[str, Any] = {"file": str(path), "detail_type": kind}
    model = MAPPED.get(kind)
    if model is None:
        return {**row, "note": "not a hire or a transfer: no desk to decide"}
    try:
        detail = model.model_validate(event.get("detail"))
    except ValidationError as exc:
        return {**row, "error": "; ".join(f"detail.{line}" for line in describe_errors(exc))}
    row |= {
        "employee_id": detail.employee_id,
        "department": detail.department,
        "role": detail.role,
        "site": detail.site,
    }
    name, profile = policy.profile_for(department=detail.department, role=detail.role, site=detail.site)
    row |= {
        "profile": name,
        "bundle": profile.bundle,
        "compute": profile.compute,
        "running_mode": profile.running_mode,
        "autostop_hours": profile.autostop_hours if profile.running_mode == "AUTO_STOP" else None,
        "prewarm": profile.prewarm,
    }
    if detail.site not in policy.sites:
        known = ", ".join(sorted(policy.sites))
        return {**row, "error": f"detail.site: {detail.site!r} is not in the policy's sites ({known}): refused"}
    return {**row, "directory": policy.sites[detail.site].directory}


def check(path: Path, samples: tuple[Path, ...]) -> dict[str, Any]:
    files = sample_files(samples)
    policy, errors = read_policy(path)
    result: dict[str, Any] = {"file": str(path), "valid": policy is not None, "errors": errors, "samples": []}
    if policy is None:
        return result
    result["summary"] = {
        "dry_run": policy.dry_run,
        "sites": sorted(policy.sites),
        "bundles": sorted(policy.bundles),
        "profiles": sorted(policy.profiles),
        "rules": len(policy.rules),
    }
    for file in files:
        for event in _events(file):
            result["samples"].append(map_sample(policy, file, event))
    return result
