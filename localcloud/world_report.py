"""What the world shows: queue and WorkSpaces metrics and alarm evaluation (CloudWatch), the timeline collected
from the emulator, SNS and SES, and the report a scenario returns."""

from __future__ import annotations

from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from localcloud import shapes
from localcloud.world_types import (
    _REGION_NAMES,
    WorldParts,
    iso,
)


class WorldReport(WorldParts):
    """CloudWatch metrics and alarms, the timeline and the report."""

    def _publish_queue_metrics(self) -> None:
        """AWS/SQS ApproximateNumberOfMessagesVisible per queue, each minute while the queue is active."""
        backend = sqs_backends[self.account_id][self.region]
        data = []
        for logical_id in sorted(self.queues):
            name = self.queues[logical_id]["name"]
            queue = backend.queues.get(name)
            depth = len(queue.messages) if queue is not None else 0
            if depth == 0 and self._queue_depth_published.get(name, 0) == 0:
                continue
            self._queue_depth_published[name] = depth
            data.append(
                {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": name}],
                    "Value": float(depth),
                    "Unit": "Count",
                    "Timestamp": self.now().replace(tzinfo=None),  # moto keeps naive UTC timestamps
                }
            )
        if data:
            # CloudWatch receives these from SQS itself, not through the API: straight into moto's backend.
            cloudwatch_backends[self.account_id][self.region].put_metric_data("AWS/SQS", data)

    def _put_workspaces_metrics(self, data: list[dict[str, Any]]) -> None:
        # CloudWatch receives these from WorkSpaces itself, not through the API: straight into moto's backend.
        cloudwatch_backends[self.account_id][self.region].put_metric_data("AWS/WorkSpaces", data)

    def _evaluate_alarms(self) -> None:
        backend = cloudwatch_backends[self.account_id][self.region]
        region_name = _REGION_NAMES.get(self.region, self.region)
        for change in self._alarms.evaluate(backend, self.now().timestamp()):
            self.note(
                "alarm", alarm=change.alarm.name, previous=change.previous["value"], state=change.current["value"]
            )
            envelope = {
                "detail-type": "CloudWatch Alarm State Change",
                "source": "aws.cloudwatch",
                "resources": [change.alarm.alarm_arn],
                "detail": change.detail,
            }
            self._events.append(("default", self._complete_envelope(envelope)))
            for topic in change.actions():
                if self._alarm_action_refused(change.alarm.name, change.alarm.alarm_arn, topic):
                    continue
                subject, message = change.notification(self.account_id, region_name)
                self.client("sns").publish(TopicArn=topic, Subject=subject, Message=message)
        self._collect()

    def _collect(self) -> None:
        """Move new desk transitions, alerts and e-mails into the timeline."""
        self.meter.observe()
        transitions = self.emulator.fleet.transitions
        for transition in transitions[self._cursor.transitions :]:
            self.timeline.append(
                {
                    "time": iso(transition.at),
                    "kind": "transition",
                    "workspace_id": transition.workspace_id,
                    "from": transition.from_state,
                    "to": transition.to_state,
                }
            )
        self._cursor.transitions = len(transitions)
        backend = sns_backends[self.account_id][self.region]
        for arn in sorted(backend.topics):
            sent = backend.topics[arn].sent_notifications
            for notification in sent[self._cursor.sns.get(arn, 0) :]:
                alert = shapes.alert_of(notification)
                self.note(
                    "alert",
                    alert_kind=alert["kind"],
                    severity=alert["severity"],
                    subject=alert["subject"],
                    workspace_id=alert["workspace_id"],
                    incident_id=alert["incident_id"],
                )
            self._cursor.sns[arn] = len(sent)
        messages = ses_backends[self.account_id][self.region].sent_messages
        for message in messages[self._cursor.ses :]:
            mail = shapes.email_of(message)
            self.note("email", to=mail["to"], subject=mail["subject"])
        self._cursor.ses = len(messages)

    def alerts(self) -> list[dict[str, Any]]:
        backend = sns_backends[self.account_id][self.region]
        return [
            shapes.alert_of(notification)
            for arn in sorted(backend.topics)
            for notification in backend.topics[arn].sent_notifications
        ]

    def emails(self) -> list[dict[str, Any]]:
        return [shapes.email_of(message) for message in ses_backends[self.account_id][self.region].sent_messages]

    def dead_letters(self) -> list[dict[str, Any]]:
        backend = sqs_backends[self.account_id][self.region]
        letters = []
        for logical_id in sorted(set(self.dead_letter_queues.values())):
            queue = backend.queues.get(self.queues[logical_id]["name"])
            for message in list(queue._messages) if queue is not None else []:
                letters.append(shapes.dead_letter_of(logical_id, message))
        return letters

    def workspaces(self) -> list[dict[str, Any]]:
        return self.emulator.all_workspaces()

    def sorted_timeline(self) -> list[dict[str, Any]]:
        return sorted(self.timeline, key=lambda entry: entry["time"])

    def report(self) -> dict[str, Any]:
        """The report of a run (docs/local-cloud.md, "The report"), with the timeline."""
        report = {
            "clock": iso(self.now()),
            "workspaces": self.workspaces(),
            "alerts": self.alerts(),
            "emails": self.emails(),
            "dead_letters": self.dead_letters(),
            "invocations": [invocation.to_report() for invocation in self.invocations],
            "api_calls": dict(sorted(self.api_calls.items())),
            "timeline": self.sorted_timeline(),
        }
        if self.hostile is not None:
            report["hostile"] = self.hostile.summary()
        return report
