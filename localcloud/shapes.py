"""The shapes the local cloud exchanges with functions and puts in its report: the input a rule target gets,
the Lambda SQS event record, the partial batch response, and the report entries read from moto (alerts from
SNS, e-mails from SES, dead letters from SQS)."""

from __future__ import annotations

import email
import json
from collections.abc import Mapping
from typing import Any

from moto.events.utils import EventTemplateParser


def target_input(target: Mapping[str, Any], envelope: dict[str, Any]) -> Any:
    """Input, InputPath or InputTransformer of a rule target (the whole event otherwise)."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        value: Any = envelope
        for part in str(target["InputPath"]).removeprefix("$").strip(".").split("."):
            if part:
                value = value.get(part) if isinstance(value, dict) else None
        return value
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        text = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=envelope,  # type: ignore[arg-type]
        )
        return text
    return envelope


def sqs_record(message: Mapping[str, Any], arn: str, region: str) -> dict[str, Any]:
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_items(ok: bool, result: Any, report_failures: bool, batch: set[str]) -> set[str]:
    """Messages to leave on the queue: all of them on a function error, the reported ones with partial
    batch responses (an invalid response fails the whole batch, as Lambda does)."""
    if not ok:
        return set(batch)
    if not report_failures:
        return set()
    if result is None or result == {}:
        return set()
    if not isinstance(result, dict) or not isinstance(result.get("batchItemFailures", []), list):
        return set(batch)
    failed: set[str] = set()
    for item in result.get("batchItemFailures", []):
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch:
            return set(batch)
        failed.add(str(identifier))
    return failed


def alert_of(notification: tuple[Any, ...]) -> dict[str, Any]:
    _, message, subject, attributes, _ = notification
    values = {name: value.get("Value") for name, value in (attributes or {}).items()}
    return {
        "kind": values.get("kind"),
        "severity": values.get("severity"),
        "workspace_id": values.get("workspace_id"),
        "employee_id": values.get("employee_id"),
        "incident_id": values.get("incident_id"),
        "subject": subject,
        "message": message,
    }


def email_of(message: Any) -> dict[str, Any]:
    if hasattr(message, "raw_data"):
        parsed = email.message_from_string(message.raw_data)
        body = parsed.get_payload(decode=False)
        if parsed.is_multipart():
            parts = [p for p in parsed.walk() if p.get_content_type() == "text/plain"]
            body = parts[0].get_payload() if parts else ""
        return {
            "from": message.source or parsed.get("From"),
            "to": list(message.destinations),
            "subject": parsed.get("Subject"),
            "body": str(body),
        }
    destinations = message.destinations if isinstance(message.destinations, dict) else {}
    return {
        "from": message.source,
        "to": list(destinations.get("ToAddresses", [])),
        "subject": getattr(message, "subject", None) or getattr(message, "template", None),
        "body": getattr(message, "body", None) or getattr(message, "template_data", None),
    }


def dead_letter_of(queue: str, message: Any) -> dict[str, Any]:
    """A message on a dead-letter queue: which queue, what it is about, and why it is there."""
    body_text = message.body
    reason = ""
    summary = body_text[:200]
    attributes = {name: value.get("StringValue") for name, value in message.message_attributes.items()}
    try:
        body = json.loads(body_text)
    except ValueError:
        body = None
    if isinstance(body, dict) and "requestContext" in body:
        context = body["requestContext"]
        error = body.get("responsePayload") or {}
        function = str(context.get("functionArn", "")).split(":")[6] if context.get("functionArn") else "?"
        reason = f"{context.get('condition')} after {context.get('approximateInvokeCount')} attempts"
        if isinstance(error, dict) and error.get("errorType"):
            reason += f": {error.get('errorType')}: {error.get('errorMessage')}"
        summary = f"{function} <- {describe_event(body.get('requestPayload'))}"
    elif "ERROR_CODE" in attributes or "ErrorMessage" in attributes:
        code = attributes.get("ERROR_CODE") or "FunctionError"
        reason = f"{code}: {attributes.get('ERROR_MESSAGE') or attributes.get('ErrorMessage')}"
        summary = describe_event(body) if body is not None else summary
    elif message.approximate_receive_count:
        count = message.approximate_receive_count
        reason = f"redriven after {count} receives (maxReceiveCount exceeded)"
        summary = describe_event(body) if body is not None else summary
    else:
        # Put on the queue by a function (its own dead-letter path): say what the message says is wrong.
        told = body.get("reason") or body.get("error") or body.get("errors") if isinstance(body, dict) else None
        told_text = "; ".join(map(str, told)) if isinstance(told, list) else told
        reason = f"sent by a function: {told_text}" if told_text else "sent by a function"
        summary = describe_event(body) if body is not None else summary
    return {"queue": queue, "body": summary, "reason": reason}


def describe_event(payload: Any) -> str:
    """A one-line summary of an event or message body: its type and the ids it carries."""
    if not isinstance(payload, dict):
        return json.dumps(payload)[:200]
    if "Records" in payload:
        return f"SQS batch of {len(payload['Records'])}"
    detail: dict[str, Any] = payload["detail"] if isinstance(payload.get("detail"), dict) else payload
    keys = ("kind", "name", "employee_id", "workspace_id", "incident_id", "alarmName", "workspaceId", "line")
    ids = [f"{key}={detail[key]}" for key in keys if key in detail]
    return " ".join([str(payload.get("detail-type") or "message"), *ids])[:200]
