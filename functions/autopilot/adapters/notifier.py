"""Publishes alerts on the on-call SNS topic: one message, two bodies (MessageStructure=json) — the chat
notification JSON as `default` (Amazon Q Developer in chat applications, HTTPS, SQS, Lambda subscribers) and
plain text for `email` — and message attributes subscriptions filter on (kind, severity, ids, thread)."""

from __future__ import annotations

import json
from typing import Any


class Notifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, *, subject: str, default: str, email: str, attributes: dict[str, str]) -> str:
        response = self._client.publish(
            TopicArn=self._topic_arn,
            Subject=subject,
            MessageStructure="json",
            Message=json.dumps({"default": default, "email": email}),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in sorted(attributes.items())
            },
        )
        return str(response["MessageId"])
