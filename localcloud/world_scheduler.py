"""Time-driven work: EventBridge Scheduler's recurring and one-time schedules (with its retries and dead-letter
queue) and the world's own timers (a fault or a login due at a later instant)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import heapq
import json
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from moto.scheduler.models import scheduler_backends

from localcloud.schedules import Expression
from localcloud.world_types import (
    SCHEDULER_FIRST_RETRY,
    LocalCloudError,
    WorldParts,
    _as_datetime,
    _SchedulerAttempt,
    _Track,
    iso,
)


class WorldScheduler(WorldParts):
    """EventBridge Scheduler and the world's timers."""

    def _refresh_schedules(self) -> None:
        if not self._schedules_dirty:
            return
        self._schedules_dirty = False
        backend = scheduler_backends[self.account_id][self.region]
        seen: set[str] = set()
        for group_name in sorted(backend.schedule_groups):
            group = backend.schedule_groups[group_name]
            for name in sorted(group.schedules):
                schedule = group.schedules[name]
                seen.add(schedule.arn)
                version = (
                    schedule.creation_date,
                    schedule.last_modified_date,
                    schedule.schedule_expression,
                    schedule.state,
                )
                track = self._tracks.get(schedule.arn)
                if track is not None and track.version == version:
                    continue
                expression = Expression.parse(schedule.schedule_expression, schedule.schedule_expression_timezone)
                anchor = dt.datetime.fromtimestamp(float(schedule.creation_date), dt.UTC)
                if schedule.start_date:
                    anchor = _as_datetime(schedule.start_date)
                if (schedule.arn, schedule.creation_date) in self._fired_once:
                    next_fire = None
                elif expression.kind == "at":
                    next_fire = expression.at
                else:
                    next_fire = expression.next_after(max(self.now(), anchor) - dt.timedelta(microseconds=1), anchor)
                if schedule.state == "DISABLED":
                    next_fire = None
                if next_fire is not None and schedule.end_date and next_fire > _as_datetime(schedule.end_date):
                    next_fire = None
                self._tracks[schedule.arn] = _Track(version, expression, anchor, next_fire)
        for arn in set(self._tracks) - seen:
            del self._tracks[arn]

    def _fire_one_schedule(self) -> bool:
        self._refresh_schedules()
        now = self.now()
        due = sorted(
            (track.next_fire, arn) for arn, track in self._tracks.items() if track.next_fire and track.next_fire <= now
        )
        if not due:
            return False
        scheduled, arn = due[0]
        backend = scheduler_backends[self.account_id][self.region]
        _, _, rest = arn.partition(":schedule/")
        group_name, _, name = rest.partition("/")
        schedule = backend.schedule_groups[group_name].schedules[name]
        track = self._tracks[arn]
        assert scheduled is not None
        self._fire(schedule, scheduled, one_time=track.expression.kind == "at")
        if track.expression.kind == "at":
            self._fired_once.add((arn, schedule.creation_date))
            track.next_fire = None
            if schedule.action_after_completion == "DELETE":
                backend.delete_schedule(group_name, name)
                self._schedules_dirty = True
        else:
            track.next_fire = track.expression.next_after(scheduled, track.anchor)
            if track.next_fire is not None and schedule.end_date and track.next_fire > _as_datetime(schedule.end_date):
                track.next_fire = None
        return True

    def _fire(self, schedule: Any, scheduled: dt.datetime, *, one_time: bool) -> None:
        attempt = _SchedulerAttempt(
            schedule.arn,
            schedule.name,
            schedule.group_name,
            copy.deepcopy(dict(schedule.target)),
            scheduled,
            one_time,
            1,
            self.now(),
        )
        if self.hostile is not None:
            # FlexibleTimeWindow OFF: fired a little after the scheduled time (the delay is hostile mode's choice).
            self._seq += 1
            heapq.heappush(self._scheduler_retries, (self.now() + self.hostile.delay("scheduler"), self._seq, attempt))
            return
        self._invoke_schedule_target(attempt)

    def _invoke_schedule_target(self, attempt: _SchedulerAttempt) -> None:
        """One attempt at a schedule's target; a failure is retried by the target's RetryPolicy, then dead-lettered."""
        target = attempt.target
        execution_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{attempt.arn}@{attempt.scheduled.isoformat()}"))
        payload = str(target.get("Input", "{}"))
        for placeholder, value in (
            ("<aws.scheduler.scheduled-time>", iso(attempt.scheduled)),
            ("<aws.scheduler.execution-id>", execution_id),
            ("<aws.scheduler.schedule-arn>", attempt.arn),
            ("<aws.scheduler.attempt-number>", str(attempt.attempt)),
        ):
            payload = payload.replace(placeholder, value)
        trigger = f"{'timer' if attempt.one_time else 'schedule'}:{attempt.name}"
        arn = str(target.get("Arn", ""))
        try:
            self._authorize_schedule_target(target)  # as the schedule's role (localcloud.world_iam)
            if ":lambda:" in arn:
                spec = self._function_by_any(arn)
                self._queue_async(spec.logical_id, json.loads(payload), trigger)
                label = spec.logical_id
            elif ":sqs:" in arn:
                self._send_to_queue(arn, payload, target.get("SqsParameters", {}).get("MessageGroupId"))
                label = self._queue_label(arn)
            else:
                raise LocalCloudError(f"target {arn} is not modelled")
        except (LocalCloudError, ClientError, json.JSONDecodeError) as exc:
            self._schedule_target_failed(attempt, payload, str(exc))
            return
        if attempt.one_time or ":lambda:" not in arn:
            self.note("timer" if attempt.one_time else "schedule", name=attempt.name, group=attempt.group, target=label)

    def _schedule_target_failed(self, attempt: _SchedulerAttempt, payload: str, reason: str) -> None:
        self.note("delivery_failed", schedule=attempt.name, reason=reason, attempt=attempt.attempt)
        policy = attempt.target.get("RetryPolicy") or {}
        retries = int(policy.get("MaximumRetryAttempts", 185))
        max_age = dt.timedelta(seconds=int(policy.get("MaximumEventAgeInSeconds", 86400)))
        due = self.now() + SCHEDULER_FIRST_RETRY * 2 ** (attempt.attempt - 1)
        if attempt.attempt > retries:
            condition = "MaximumRetryAttempts"
        elif due - attempt.first_at > max_age:
            condition = "MaximumEventAgeInSeconds"
        else:
            self._seq += 1
            retry = dataclasses.replace(attempt, attempt=attempt.attempt + 1)
            heapq.heappush(self._scheduler_retries, (due, self._seq, retry))
            return
        self._scheduler_dead_letter(attempt, payload, reason, condition)

    def _scheduler_dead_letter(self, attempt: _SchedulerAttempt, payload: str, reason: str, condition: str) -> None:
        dlq = attempt.target.get("DeadLetterConfig", {}).get("Arn")
        if dlq and ":sqs:" in dlq:
            self._send_to_queue(
                dlq,
                payload,
                attributes={
                    "ERROR_CODE": "TargetNotFound",
                    "ERROR_MESSAGE": reason,
                    "EXHAUSTED_RETRY_CONDITION": condition,
                    "SCHEDULE_ARN": attempt.arn,
                    "TARGET_ARN": attempt.target.get("Arn", ""),
                },
            )

    def _at(self, moment: dt.datetime, label: str, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._world_timers, (moment, self._seq, label, action))

    def _run_world_timers(self) -> None:
        while self._world_timers and self._world_timers[0][0] <= self.now():
            _, _, _, action = heapq.heappop(self._world_timers)
            action()
