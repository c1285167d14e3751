"""Sends messages to an SQS queue, 10 per SendMessageBatch (the API's maximum)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autopilot.adapters.aws import translated
from autopilot.domain.kernel.errors import TransientAwsError

MAX_BATCH = 10


class Queue:
    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self._url = url

    def send(self, bodies: Sequence[dict[str, Any]], *, delay_seconds: int = 0) -> None:
        for start in range(0, len(bodies), MAX_BATCH):
            chunk = bodies[start : start + MAX_BATCH]
            with translated("sqs:SendMessage"):  # IAM authorises SendMessageBatch as sqs:SendMessage
                response = self._client.send_message_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {"Id": str(index), "MessageBody": json.dumps(body), "DelaySeconds": delay_seconds}
                        for index, body in enumerate(chunk)
                    ],
                )
            if response.get("Failed"):
                codes = sorted({failure["Code"] for failure in response["Failed"]})
                raise TransientAwsError(f"SendMessageBatch failed for {len(response['Failed'])} messages: {codes}")
