"""Reading an event AWS sends (S3, WorkSpaces, CloudWatch) at a handler's door.

An event that is not the AWS event the function subscribes to (another source or detail-type, not an object)
never came from AWS through our rules: it is refused (InvalidInput), so a wiring mistake fails loudly. An AWS
event of the right kind that cannot be acted on (the id we need missing or not a string, a time that is not a
time) is dropped: logged with its event id, counted as `AwsEventDropped` (dimension `kind`) and answered
normally. Failing would only retry it three times, dead-letter it and page on-call for an event no retry can
fix. The payload is never logged: a login event carries the client's IP address (docs/operations.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import ValidationError

from autopilot.contracts.common import AwsEnvelope
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.observability import NAMESPACE, logger

DROPPED_METRIC = "AwsEventDropped"

E = TypeVar("E", bound=AwsEnvelope)


@dataclass(frozen=True)
class Dropped:
    """An AWS event that was logged, counted and not acted on."""

    kind: str
    event_id: str | None

    def as_response(self) -> dict[str, Any]:
        return {"dropped": self.kind, "event_id": self.event_id}


def read(event: Any, model: type[E], kind: str) -> E | Dropped:
    """The event parsed with `model` (a tolerant AWS event model), or how it was dropped."""
    if not model.identifies(event):
        raise InvalidInput(f"{kind}: not the AWS event this function subscribes to")
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        # Where and what kind of error only: pydantic's message would quote the offending value.
        problems = sorted(
            {f"{'.'.join(str(part) for part in error['loc'])}: {error['type']}" for error in exc.errors()}
        )
        return drop(event, kind, problems)


def drop(event: Any, kind: str, problems: list[str]) -> Dropped:
    """Log the event's id and why it cannot be acted on, count it, and say so in the function's response."""
    event_id = event.get("id") if isinstance(event, dict) else None
    event_id = event_id if isinstance(event_id, str) else None
    logger.warning("aws event dropped", extra={"event_id": event_id, "kind": kind, "problems": problems})
    with single_metric(name=DROPPED_METRIC, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="kind", value=kind)
    return Dropped(kind=kind, event_id=event_id)
