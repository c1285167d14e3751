"""`autopilot`: the operator CLI. Against a deployed stack (`--profile`, `--region`, `--stage` or `--stack`) or the
local cloud (`--local SCENARIO`: the scenario runs in-process first, then the command runs against its world).

    autopilot status E10234                 autopilot desks --state READY --site paris-hq
    autopilot incidents --open              autopilot incident ack|resolve INC_ID
    autopilot feed held                     autopilot feed release|discard FEED_ID
    autopilot dlq list                      autopilot dlq redrive [--dry-run]
    autopilot plan roster.csv               autopilot policy check policy.yaml --sample events/
    autopilot report --html fleet.html      autopilot policy publish policy.yaml [--dry-run]

Every command takes --json (one JSON document on stdout). Progress goes to stderr. Exit status: 0 done,
1 failed (AWS, the stack, the world), 2 bad input (the message says which file, id or option).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from autopilot.domain.kernel.errors import AutopilotError, InvalidInput, PolicyError
from autopilot_ops.commands import dead_letters, desks, feeds, incidents, plan, policy, report, running_modes
from autopilot_ops.commands.output import PROG
from autopilot_ops.commands.session import Session
from autopilot_ops.errors import BAD_INPUT, FAILED, BadInput, OpsError

__all__ = ["Session", "main"]


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"{PROG}: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


class OpsGroup(click.Group):
    """Every error is one line on stderr and an exit status: 2 bad input, 1 anything else."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            _fail(f"{exc.format_message()}{hint}", BAD_INPUT)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("aborted", FAILED)
        except OpsError as exc:
            _fail(exc.message, exc.exit_code)
        except PolicyError as exc:
            _fail("; ".join(exc.errors), BAD_INPUT)
        except InvalidInput as exc:
            _fail(str(exc), BAD_INPUT)
        except NoCredentialsError:
            _fail("no AWS credentials: give --profile, or set AWS_PROFILE or credentials in the environment", FAILED)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            _fail(f"AWS {exc.operation_name}: {error.get('Code')}: {error.get('Message')}", FAILED)
        except (BotoCoreError, AutopilotError) as exc:
            _fail(str(exc), FAILED)
        if isinstance(result, int) and result:
            sys.exit(result)
        return result


@click.group(cls=OpsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile of the deployed stack.")
@click.option("--region", envvar="AWS_REGION", help="AWS region of the deployed stack.")
@click.option(
    "--stage",
    envvar="AUTOPILOT_STAGE",
    default="dev",
    show_default=True,
    help="Stage: the stack is workspaces-autopilot-<stage>.",
)
@click.option("--stack", envvar="AUTOPILOT_STACK", help="Stack name, when it is not workspaces-autopilot-<stage>.")
@click.option(
    "--local",
    "local",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Run SCENARIO_FILE in the local cloud first, then the command against its world (no AWS account).",
    metavar="SCENARIO_FILE",
)
@click.option(
    "--endpoint-url",
    help="A local cloud served by `autopilot-local serve` (http://127.0.0.1:4599): commands answer at once.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress messages on stderr.")
@click.pass_context
def main(
    ctx: click.Context,
    profile: str | None,
    region: str | None,
    stage: str,
    stack: str | None,
    local: Path | None,
    endpoint_url: str | None,
    quiet: bool,
) -> None:
    """Operate WorkSpaces Autopilot: desks, incidents, held feeds, dead letters, plans, policy, reports."""
    if isinstance(ctx.obj, Session):  # a caller (a test) gave a ready session
        return
    if local is not None and not local.is_file():
        raise BadInput(f"--local {local}: no such scenario file")
    if local is not None and endpoint_url is not None:
        raise BadInput("--local and --endpoint-url: give one (a scenario to run here, or a served local cloud)")
    ctx.obj = Session(
        profile=profile, region=region, stage=stage, stack=stack, local=local, quiet=quiet, endpoint_url=endpoint_url
    )


for command in (
    desks.status,
    desks.desks,
    incidents.incidents,
    incidents.incident,
    feeds.feed,
    dead_letters.dead_letters,
    plan.plan,
    policy.policy_group,
    report.report,
    running_modes.running_modes,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
