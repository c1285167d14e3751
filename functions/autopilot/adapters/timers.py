"""One-time timers as EventBridge Scheduler `at(...)` schedules. Names are deterministic, so setting the same
timer twice is a no-op; schedules delete themselves after they fire."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.exceptions import ClientError

from autopilot.adapters.aws import translate
from autopilot.contracts.timers import TimerFired


def timer_envelope(timer: TimerFired, *, account: str, region: str) -> dict[str, Any]:
    """The event the target receives: the same envelope shape as every other trigger."""
    return {
        "version": "0",
        "id": timer.name,
        "detail-type": "Timer Fired",
        "source": "autopilot.timers",
        "account": account,
        "time": timer.due.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": json.loads(timer.model_dump_json(exclude_none=True)),
    }


class Timers:
    def __init__(self, client: Any, *, group: str, role_arn: str, dlq_arn: str, account: str, region: str) -> None:
        self._client = client
        self._group = group
        self._role_arn = role_arn
        self._dlq_arn = dlq_arn
        self._account = account
        self._region = region

    def set(self, timer: TimerFired, *, target_arn: str) -> bool:
        """Create the schedule; False when a timer of that name already exists (a duplicate request)."""
        at = timer.due.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
        try:
            self._client.create_schedule(
                Name=timer.name,
                GroupName=self._group,
                ScheduleExpression=f"at({at.isoformat()})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": target_arn,
                    "RoleArn": self._role_arn,
                    "Input": json.dumps(timer_envelope(timer, account=self._account, region=self._region)),
                    "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
                    "DeadLetterConfig": {"Arn": self._dlq_arn},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConflictException":
                return False
            raise translate(exc, "scheduler:CreateSchedule") from exc
        return True

    def cancel(self, name: str) -> bool:
        """Delete a pending timer; False when it does not exist (already fired or never set)."""
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise translate(exc, "scheduler:DeleteSchedule") from exc
        return True

    def exists(self, name: str) -> bool:
        try:
            self._client.get_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise translate(exc, "scheduler:GetSchedule") from exc
        return True
