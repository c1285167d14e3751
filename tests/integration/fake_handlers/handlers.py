"""Test-only Lambda handlers: each does one small thing the world tests can observe."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import boto3


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Returns what it received (the test reads it from the invocation's result)."""
    return {"event": event, "function": context.function_name}


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError(f"cannot handle {event.get('detail-type')}")


def batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports `{"fail": true}` messages as failed items; raises on `{"raise": true}`."""
    failures = []
    for record in event["Records"]:
        body = json.loads(record["body"])
        if body.get("raise"):
            raise RuntimeError("the whole batch fails")
        if body.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures, "size": len(event["Records"])}


def chain(event: dict[str, Any], context: Any) -> None:
    """Publishes a follow-up event on the same bus, like a domain function does."""
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": os.environ["BUS_NAME"],
                "Source": "test.app",
                "DetailType": "Thing Happened",
                "Detail": json.dumps({"because": event["id"]}),
            }
        ]
    )


def notify(event: dict[str, Any], context: Any) -> None:
    """One alert on the topic and one e-mail."""
    boto3.client("sns").publish(
        TopicArn=os.environ["TOPIC_ARN"],
        Subject="Desk ws-abc12345 is sick",
        Message=json.dumps({"title": "sick desk"}),
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "connection_failure"},
            "severity": {"DataType": "String", "StringValue": "warning"},
            "workspace_id": {"DataType": "String", "StringValue": "ws-abc12345"},
        },
    )
    boto3.client("sesv2").send_email(
        FromEmailAddress="it-desk@example.com",
        Destination={"ToAddresses": ["new.hire@example.com"]},
        Content={"Simple": {"Subject": {"Data": "Your WorkSpace"}, "Body": {"Text": {"Data": "Welcome"}}}},
    )


def busy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A few AWS calls (counted by the world), some output on stdout and through logging."""
    print("printed by the function")
    logging.getLogger("fake").warning("logged by the function")
    sqs = boto3.client("sqs")
    sqs.list_queues()
    sqs.list_queues()
    boto3.client("workspaces").describe_workspaces()
    return {
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "env": {
            key: os.environ.get(key)
            for key in ("AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED", "BUS_NAME", "STAGE")
        },
    }
