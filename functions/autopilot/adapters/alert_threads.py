"""One alert thread per incident (or per feed, employee, alarm…), in the state table.

Item `pk=THREAD#<thread_id>, sk=THREAD` with the string set `sent` of the message keys already delivered.
`claim` adds a key with a conditional update: the first key of a thread is `new` (it may page), a later one is
an `update` (same chat thread, never a page), a key already there is a `duplicate` (not sent again: a repeated
alarm, a redelivered event). Threads expire 30 days after their last message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from autopilot.adapters.aws import translate, translated
from autopilot.domain.oncall.ports import ThreadState

KEEP = dt.timedelta(days=30)


def thread_key(thread_id: str) -> dict[str, str]:
    return {"pk": f"THREAD#{thread_id}", "sk": "THREAD"}


class AlertThreads:
    def __init__(self, table: Any) -> None:
        self._table = table

    def claim(self, thread_id: str, key: str, at: dt.datetime) -> ThreadState:
        try:
            response = self._table.update_item(
                Key=thread_key(thread_id),
                UpdateExpression="ADD sent :key SET first_at = if_not_exists(first_at, :at), last_at = :at, "
                "expires_at = :expires",
                ConditionExpression="attribute_not_exists(sent) OR NOT contains(sent, :one)",
                ExpressionAttributeValues={
                    ":key": {key},
                    ":one": key,
                    ":at": at.isoformat(),
                    ":expires": int((at + KEEP).timestamp()),
                },
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return "duplicate"
            raise translate(exc, "dynamodb:UpdateItem") from exc
        return "update" if response.get("Attributes", {}).get("sent") else "new"

    def release(self, thread_id: str, key: str) -> None:
        """Forget a key whose message could not be sent, so the retry sends it."""
        with translated("dynamodb:UpdateItem"):
            self._table.update_item(
                Key=thread_key(thread_id),
                UpdateExpression="DELETE sent :key",
                ExpressionAttributeValues={":key": {key}},
            )
