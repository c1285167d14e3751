"""What every handler's composition root shares, so no handler imports another: the policy (refused loudly
when invalid) and its resolution, the SQS batch read at the edge, which whole-call failures a batch redelivers,
the decision log of a batch, and a report dataclass as a handler result."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser.models import SqsModel, SqsRecordModel

from autopilot.adapters.aws import client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.policy_source import load_policy
from autopilot.adapters.timers import Timers, timer_envelope
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.config import TimerSettings
from autopilot.contracts.outputs import PolicyRejected
from autopilot.contracts.timers import TimerKind
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.errors import PolicyError, TransientAwsError
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution, resolve
from autopilot.domain.kernel.timers import QueueOrTimer, QueueTarget
from autopilot.observability import logger, metrics

_resolutions: dict[int, tuple[Policy, Resolution]] = {}


def account_of(context: Any) -> str:
    """The account id, from the invoked function's ARN (no STS call)."""
    return str(context.invoked_function_arn.split(":")[4])


def current_policy(
    parameter_name: str, bus: EventBus, workspaces: WorkSpaces | None = None
) -> tuple[Policy, Resolution | None]:
    """The validated policy (and its AWS ids when `workspaces` is given).

    An invalid policy publishes `Policy Rejected` (on-call gets a `policy_error` alert) and raises, so nothing
    is acted on and the triggering event is retried or dead-lettered rather than lost."""
    try:
        policy = load_policy(parameter_name)
        if workspaces is None:
            return policy, None
        cached = _resolutions.get(id(policy))
        if cached is not None and cached[0] is policy:
            return policy, cached[1]
        resolution = resolve(policy, directories_by_name=workspaces.directories(), bundles_by_name=workspaces.bundles())
    except PolicyError as exc:
        logger.error("policy refused", extra={"parameter": parameter_name, "errors": exc.errors})
        bus.publish([PolicyRejected(parameter=parameter_name, errors=exc.errors)])
        raise
    _resolutions.clear()  # the policy object changes when Parameters' cache refreshes: keep one entry
    _resolutions[id(policy)] = (policy, resolution)
    return policy, resolution


def summarise(report: object, max_ids: int = 200) -> dict[str, Any]:
    """A report dataclass as a handler result: a count for every list, and its ids (at most `max_ids`)."""
    result: dict[str, Any] = {}
    for name, value in dataclasses.asdict(report).items():  # type: ignore[call-overload]
        if isinstance(value, list):
            result[f"{name}_count"] = len(value)
            result[name] = value[:max_ids]
        else:
            result[name] = value
    return result


# Whole-call failures that SQS redelivery absorbs (botocore has already retried throttling with backoff). The
# adapters translate botocore's errors (adapters.aws.translated): only TransientAwsError is worth a redelivery;
# an AwsRefused is reported once by the domain.
TRANSIENT: tuple[type[Exception], ...] = (TransientAwsError,)


# An SQS batch as Lambda delivers it: Powertools' parser models (every field SQS sends is required, as AWS
# documents the event; a message's body is ours and is parsed by each handler, message by message, so one bad
# body fails only its own message).
SqsBatch = SqsModel
SqsRecord = SqsRecordModel


def report(result: BatchResult, function: str) -> None:
    """Every decision, ids only, and a count per action."""
    counts: dict[str, int] = {}
    for decision in result.decisions:
        counts[decision.action] = counts.get(decision.action, 0) + 1
        logger.info(
            f"{function}: {decision.action}",
            extra={"employee_id": decision.employee_id, "action": decision.action, **decision.detail},
        )
    for action, count in counts.items():
        metrics.add_metric(name=f"{function}.{action}", unit=MetricUnit.Count, value=count)


def scheduler_timers(settings: TimerSettings, account: str) -> Timers:
    """The function's one-time timers on EventBridge Scheduler (its group, role and dead-letter queue)."""
    return Timers(
        client("scheduler"),
        group=settings.timer_group_name,
        role_arn=settings.timer_role_arn,
        dlq_arn=settings.timer_dlq_arn,
        account=account,
        region=settings.region,
    )


def queue_or_timers(settings: TimerSettings, account: str, targets: Mapping[TimerKind, QueueTarget]) -> QueueOrTimer:
    """Timers by kind: a near one is a delayed message on its kind's queue, a far one a Scheduler timer."""
    return QueueOrTimer(
        timers=scheduler_timers(settings, account),
        targets=targets,
        envelope=functools.partial(timer_envelope, account=account, region=settings.region),
    )
