"""Running the functions: asynchronous invocations with Lambda's retries and on-failure destination, and SQS
event source mappings (batch size, batching window, partial batch responses, visibility timeout, redrive)."""

from __future__ import annotations

import datetime as dt
import heapq
import json
import uuid
from typing import Any

from moto.sqs.models import sqs_backends

from localcloud import lambdas, shapes
from localcloud.world_types import (
    ASYNC_RETRY_DELAYS,
    CREDENTIALS,
    AsyncInvoke,
    Invocation,
    QueueMapping,
    WorldParts,
    iso,
)


class WorldLambdas(WorldParts):
    """Lambda: invoking a function, its async retries and its SQS event source mappings."""

    def _queue_async(
        self,
        function: str,
        event: Any,
        trigger: str,
        attempt: int = 1,
        first_at: dt.datetime | None = None,
        due: dt.datetime | None = None,
    ) -> None:
        copies = 1
        if self.hostile is not None and attempt == 1:
            # A new event in Lambda's async queue: delivered at least once, after the queue's own delay. Retries
            # keep Lambda's documented delays (ASYNC_RETRY_DELAYS).
            copies = self.hostile.copies("async")
        for _ in range(copies):
            at = due or self.now()
            if self.hostile is not None and attempt == 1:
                at += self.hostile.delay("async")
            self._seq += 1
            item = AsyncInvoke(function, event, trigger, attempt, first_at or self.now())  # run() copies the event
            heapq.heappush(self._async, (at, self._seq, item))

    def _run_async(self, item: AsyncInvoke) -> None:
        spec = self.functions[item.function]
        invocation = self._run(spec, item.event, item.trigger, attempt=item.attempt)
        if invocation.ok:
            if spec.on_success:
                self._send_record(spec, item, invocation, "Success")
            return
        now = self.now()
        if item.attempt <= spec.max_retry_attempts:
            due = now + ASYNC_RETRY_DELAYS[min(item.attempt - 1, len(ASYNC_RETRY_DELAYS) - 1)]
            if (due - item.first_at).total_seconds() <= spec.max_event_age_s:
                self._queue_async(item.function, item.event, item.trigger, item.attempt + 1, item.first_at, due)
                return
            condition = "EventAgeExceeded"
        else:
            condition = "RetriesExhausted"
        if spec.on_failure:
            self._send_record(spec, item, invocation, condition)
        if spec.dead_letter and ":sqs:" in spec.dead_letter:
            self._send_to_queue(
                spec.dead_letter,
                item.event,
                attributes={"RequestID": invocation.request_id, "ErrorCode": "200", "ErrorMessage": invocation.error},
            )
        self.note("async_failed", function=spec.logical_id, condition=condition, error=invocation.error)

    def _send_record(
        self, spec: lambdas.FunctionSpec, item: AsyncInvoke, invocation: Invocation, condition: str
    ) -> None:
        """Lambda's invocation record for an async destination."""
        destination = spec.on_success if condition == "Success" else spec.on_failure
        assert destination is not None
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": self.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": item.attempt,
            },
            "requestPayload": item.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": invocation.result,
        }
        if not invocation.ok:
            record["responseContext"]["functionError"] = "Unhandled"
            record["responsePayload"] = invocation.result
        if self._destination_refused(spec.logical_id, destination):  # IAM (localcloud.world_iam)
            return
        if ":sqs:" in destination:
            self._send_to_queue(destination, record)
        elif ":sns:" in destination:
            self.client("sns").publish(TopicArn=destination, Message=json.dumps(record))
        elif ":lambda:" in destination:
            self._queue_async(self._function_by_any(destination).logical_id, record, f"destination:{spec.logical_id}")

    def _run(self, spec: lambdas.FunctionSpec, event: Any, trigger: str, *, attempt: int = 1) -> Invocation:
        self._seq += 1
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud/{self._seed}/request/{self._seq}"))
        handler = self._handler_overrides.get(spec.logical_id)
        if self.hostile is not None:
            self.hostile.invocation_started(self.now())
        self._current = spec.logical_id
        try:
            outcome = lambdas.run(spec, event, request_id, base_env=CREDENTIALS, handler=handler)
        finally:
            self._current = None
        invocation = Invocation(
            function=spec.logical_id,
            trigger=trigger,
            ok=outcome.ok,
            error=outcome.error,
            time=iso(self.now()),
            request_id=request_id,
            attempt=attempt,
            result=outcome.result if outcome.ok else outcome.error_payload(request_id),
            logs=outcome.logs,
        )
        self.invocations.append(invocation)
        self.note(
            "invocation",
            function=spec.logical_id,
            trigger=trigger,
            ok=outcome.ok,
            error=outcome.error,
            attempt=attempt,
        )
        self._collect()
        return invocation

    def _poll_one_mapping(self) -> bool:
        now = self.now()
        backend = sqs_backends[self.account_id][self.region]
        for mapping in self.mappings:
            if not mapping.enabled:
                continue
            queue = backend.queues.get(mapping.queue_name)
            visible = len(queue.messages) if queue is not None else 0
            if visible == 0:
                mapping.first_seen = None
                continue
            if visible < mapping.batch_size and mapping.window_s > 0:
                if mapping.first_seen is None:
                    mapping.first_seen = now
                if now < mapping.first_seen + dt.timedelta(seconds=mapping.window_s):
                    continue
            mapping.first_seen = None
            if self._invoke_batch(mapping):
                return True
        return False

    def _invoke_batch(self, mapping: QueueMapping) -> bool:
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < mapping.batch_size:
            response = sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages += received
        if not messages:
            return False  # every visible message went to the dead-letter queue on this receive
        if self.hostile is not None:
            messages = self.hostile.shuffled("sqs", messages)  # standard queues: best-effort ordering
        records = [shapes.sqs_record(message, mapping.queue_arn, self.region) for message in messages]
        spec = self.functions[mapping.function]
        invocation = self._run(spec, {"Records": records}, f"sqs:{mapping.queue_logical_id}")
        failed = shapes.failed_items(
            invocation.ok, invocation.result, mapping.report_failures, {m["MessageId"] for m in messages}
        )
        done = [m for m in messages if m["MessageId"] not in failed]
        if self.hostile is not None:
            # At-least-once: a delete that does not take leaves the message to come back after its visibility timeout.
            done = [m for m in done if not self.hostile.keep_for_redelivery()]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return True

    def _next_visible(self, queue_name: str, now: dt.datetime) -> dt.datetime | None:
        queue = sqs_backends[self.account_id][self.region].queues.get(queue_name)
        if queue is None:
            return None
        moment = now.timestamp() * 1000
        later = [
            max(message.visible_at, message.delayed_until)
            for message in queue._messages
            if max(message.visible_at, message.delayed_until) >= moment
        ]
        # moto compares milliseconds as floats with `>`: step a little past visible_at so it really is visible.
        return dt.datetime.fromtimestamp(min(later) / 1000 + 0.01, dt.UTC) if later else None
