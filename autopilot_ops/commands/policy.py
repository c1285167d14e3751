"""`policy check|publish FILE`: validate a policy (samples mapped, names resolved) and store it in SSM."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.resolution import resolve as resolve_policy
from autopilot_ops.commands.output import PROG, emit, json_option, table
from autopilot_ops.commands.session import current_session
from autopilot_ops.errors import BAD_INPUT, BadInput
from autopilot_ops.policy_check import SSM_TIER_LIMITS, publishable, read_policy
from autopilot_ops.policy_check import check as check_policy


@click.group("policy")
def policy_group() -> None:
    """The policy document."""


@policy_group.command("check")
@click.argument("policy_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE")
@click.option(
    "--sample", "samples", multiple=True, type=click.Path(path_type=Path), help="HR event file or folder (repeatable)."
)
@click.option("--resolve", "resolve", is_flag=True, help="Also resolve sites and bundles against the stack's account.")
@json_option
def policy_check(policy_file: Path, samples: tuple[Path, ...], resolve: bool, as_json: bool) -> None:
    """Validate a policy (errors name the key) and show the profile and site each sample hire maps to."""
    if not policy_file.is_file():
        raise BadInput(f"{policy_file}: no such policy file")
    data = check_policy(policy_file, samples)
    if data["valid"] and resolve:
        policy, _ = read_policy(policy_file)
        assert policy is not None
        workspaces = current_session().backend().workspaces
        try:
            resolve_policy(policy, directories_by_name=workspaces.directories(), bundles_by_name=workspaces.bundles())
        except PolicyError as exc:
            data["valid"], data["errors"] = False, list(exc.errors)
    sample_errors = [s for s in data["samples"] if s.get("error")]

    def render(out: Console) -> None:
        if data["valid"]:
            summary = data["summary"]
            out.print(
                f"[green]{escape(str(policy_file))}: valid[/green] ({len(summary['sites'])} sites, "
                f"{len(summary['bundles'])} bundles, {len(summary['profiles'])} profiles, {summary['rules']} rules"
                f"{', dry run' if summary['dry_run'] else ''})"
            )
        mapped = [sample for sample in data["samples"] if "note" not in sample]
        if mapped:
            columns = [
                "file",
                "employee",
                "department",
                "role",
                "site",
                "profile",
                "bundle",
                "mode",
                "directory",
                "problem",
            ]
            keys = [
                "employee_id",
                "department",
                "role",
                "site",
                "profile",
                "bundle",
                "running_mode",
                "directory",
                "error",
            ]
            rows = [(Path(s["file"]).name, *(s.get(key) or "" for key in keys)) for s in mapped]
            out.print(table("Samples", columns, rows))
        skipped = len(data["samples"]) - len(mapped)
        if skipped:
            out.print(f"{skipped} sample events are neither hires nor transfers: skipped")

    emit(as_json, data, render)
    if not data["valid"]:
        if not as_json:
            for error in data["errors"]:
                click.echo(f"{PROG}: {policy_file}: {error}", err=True)
        sys.exit(BAD_INPUT)
    if sample_errors:
        if not as_json:
            for sample in sample_errors:
                click.echo(f"{PROG}: {sample['file']}: {sample['error']}", err=True)
        sys.exit(BAD_INPUT)


@policy_group.command("publish")
@click.argument("policy_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Validate and show what would be written; write nothing.")
@click.option(
    "--tier",
    type=click.Choice(list(SSM_TIER_LIMITS)),
    default="Standard",
    show_default=True,
    help="SSM parameter tier: Standard holds 4 KB; Advanced 8 KB, charged monthly, and cannot go back.",
)
@json_option
def policy_publish(policy_file: Path, dry_run: bool, tier: str, as_json: bool) -> None:
    """Validate a policy (as `check`) and store it, as compact JSON, in the stack's policy parameter."""
    if not policy_file.is_file():
        raise BadInput(f"{policy_file}: no such policy file")
    document = publishable(policy_file, tier=tier)  # refused here (exit 2) before any stack is read
    session = current_session()
    backend = session.backend()
    data: dict[str, Any] = {
        "file": str(policy_file),
        "parameter": backend.resources.policy_parameter,
        "bytes": len(document.encode("utf-8")),
        "tier": tier,
        "version": None,
        "dry_run": dry_run,
    }
    if not dry_run:
        session.progress(f"writing {data['parameter']} ({data['bytes']} bytes)")
        data |= backend.publish_policy(document, tier=None if tier == "Standard" else tier)

    def render(out: Console) -> None:
        size = f"{data['bytes']} bytes of JSON, {data['tier']} tier"
        if dry_run:
            out.print(f"[green]{escape(str(policy_file))}: valid[/green]; nothing written (--dry-run)")
            out.print(f"  would write {escape(data['parameter'])}: {size}")
        else:
            out.print(f"[green]Published {escape(str(policy_file))}[/green]")
            out.print(f"  {escape(data['parameter'])} version {data['version']}: {size}")
            out.print("  the functions read it within 5 minutes (they cache the policy)")

    emit(as_json, data, render)
