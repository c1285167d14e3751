"""Dead letters: what failed, why, and where it goes back to (`dlq list`, `dlq redrive [--dry-run]`).

Five dead-letter queues, four shapes of message:
- ProvisioningDLQ / LifecycleDLQ: the queue's own message (a timer envelope) after maxReceiveCount failed
  receives; it goes back to ProvisioningQueue / LifecycleQueue.
- EventDeliveryDLQ: an event EventBridge (rule) or Scheduler (timer) could not deliver; the message attributes
  name the target (TARGET_ARN) and the error; it goes back to that target (a function, invoked asynchronously,
  or a queue). Re-putting it on its bus would deliver it again to every other rule's target too.
- AsyncFailureDLQ: Lambda's on-failure record of an asynchronous invocation ({requestContext, requestPayload,
  responsePayload}); the request payload goes back to that function. Roster rows and whole roster files the feed
  ingest rejected land here too: they are not redriven (fix the row or the file, upload the roster again).
- AlertDeliveryDLQ: an alert SNS could not deliver to a subscriber: listed, not redriven (fix the subscription).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from autopilot_ops.backend import Backend
from autopilot_ops.errors import BadInput
from autopilot_ops.stack import DEAD_LETTER_QUEUES, StackResources

RECEIVE_BATCH = 10
HIDE_SECONDS = 60  # while listing: long enough to read a queue once, short enough to be back soon after a crash
IDS = ("kind", "name", "employee_id", "workspace_id", "incident_id", "feed_id", "alarmName", "workspaceId")


@dataclass(frozen=True)
class Destination:
    kind: Literal["queue", "function"]
    target: str  # queue URL, or function name / ARN
    label: str


@dataclass(frozen=True)
class DeadLetter:
    queue: str  # logical id of the dead-letter queue
    message_id: str
    receipt_handle: str
    sent_at: dt.datetime | None
    receives: int
    what: str
    why: str
    destination: Destination | None
    payload: Any = None
    employee_id: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "message_id": self.message_id,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "receives": self.receives,
            "what": self.what,
            "why": self.why,
            "redrive_to": self.destination.label if self.destination else None,
            "note": self.note,
        }


@dataclass
class Listing:
    letters: list[DeadLetter] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # queue -> ApproximateNumberOfMessages


# --- understanding a message (pure) ---------------------------------------------------------------------
def summarise(payload: Any) -> str:
    """One line: the event's type and the ids it carries."""
    if not isinstance(payload, dict):
        return json.dumps(payload, default=str)[:200]
    if "Records" in payload:
        return f"SQS batch of {len(payload['Records'])}"
    detail: dict[str, Any] = payload["detail"] if isinstance(payload.get("detail"), dict) else payload
    ids = [f"{key}={detail[key]}" for key in IDS if key in detail]
    return " ".join([str(payload.get("detail-type") or "message"), *ids])[:200]


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _queue_destination(arn: str, resources: StackResources) -> Destination:
    name = arn.rsplit(":", 1)[-1]
    for logical_id, url in resources.queues.items():
        if url.rstrip("/").rsplit("/", 1)[-1] == name:
            return Destination("queue", url, logical_id)
    account = arn.split(":")[4]
    return Destination("queue", f"https://sqs.{resources.region}.amazonaws.com/{account}/{name}", name)


def _function_destination(arn: str) -> Destination:
    parts = arn.split(":")
    base = ":".join(parts[:7]) if len(parts) >= 7 else arn  # drop a `:$LATEST` or version qualifier
    return Destination("function", base, base.rsplit(":", 1)[-1])


def _target(arn: str, resources: StackResources) -> Destination | None:
    if ":lambda:" in arn:
        return _function_destination(arn)
    if ":sqs:" in arn:
        return _queue_destination(arn, resources)
    return None


def understand(queue: str, message: Mapping[str, Any], resources: StackResources) -> DeadLetter:
    """What a dead-letter message is, why it is there, and where a redrive sends it."""
    body_text = str(message.get("Body", ""))
    body = _json(body_text)
    attributes = {
        name: str(value.get("StringValue", "")) for name, value in message.get("MessageAttributes", {}).items()
    }
    system = message.get("Attributes", {})
    sent_ms = system.get("SentTimestamp")
    base = DeadLetter(
        queue=queue,
        message_id=str(message["MessageId"]),
        receipt_handle=str(message["ReceiptHandle"]),
        sent_at=dt.datetime.fromtimestamp(int(sent_ms) / 1000, dt.UTC) if sent_ms else None,
        receives=int(system.get("ApproximateReceiveCount", 0)),
        what=body_text[:200],
        why="",
        destination=None,
    )
    source = DEAD_LETTER_QUEUES.get(queue)
    detail = body.get("detail") if isinstance(body, dict) and isinstance(body.get("detail"), dict) else {}
    employee = detail.get("employee_id") if isinstance(detail, dict) else None
    if source is not None:
        destination = Destination("queue", resources.queues[source], source) if source in resources.queues else None
        return replace(
            base,
            what=summarise(body) if body is not None else body_text[:200],
            why=f"{source} could not process it after every retry (maxReceiveCount exceeded)",
            destination=destination,
            payload=body_text,
            employee_id=str(employee) if employee else None,
        )
    if "TARGET_ARN" in attributes or "ERROR_CODE" in attributes:
        via = attributes.get("SCHEDULE_ARN") or attributes.get("RULE_ARN") or ""
        origin = f" ({via.rsplit('/', 1)[-1]})" if via else ""
        error = attributes.get("ERROR_MESSAGE") or attributes.get("ErrorMessage") or ""
        destination = _target(attributes.get("TARGET_ARN", ""), resources)
        return replace(
            base,
            what=summarise(body) if body is not None else body_text[:200],
            why=f"not delivered{origin}: {attributes.get('ERROR_CODE', 'error')}" + (f": {error}" if error else ""),
            destination=destination,
            payload=body if destination is not None and destination.kind == "function" else body_text,
            employee_id=str(employee) if employee else None,
        )
    if isinstance(body, dict) and "requestContext" in body:
        context = body["requestContext"] or {}
        response = body.get("responsePayload") or {}
        function_arn = str(context.get("functionArn", ""))
        destination = _function_destination(function_arn) if function_arn else None
        why = f"{context.get('condition', 'failed')} after {context.get('approximateInvokeCount', '?')} attempts"
        if isinstance(response, dict) and response.get("errorType"):
            why += f": {response['errorType']}: {response.get('errorMessage', '')}"
        payload = body.get("requestPayload")
        target = destination.label if destination else "?"
        inner = payload.get("detail") if isinstance(payload, dict) else None
        employee = inner.get("employee_id") if isinstance(inner, dict) else None
        return replace(
            base,
            what=f"{target} <- {summarise(payload)}",
            why=why,
            destination=destination,
            payload=payload,
            employee_id=str(employee) if employee else None,
        )
    if isinstance(body, dict) and body.get("kind") == "roster_row_rejected":
        return replace(
            base,
            what=f"roster row rejected: {body.get('key')} line {body.get('line')} (feed {body.get('feed_id')})",
            why="; ".join(str(error) for error in body.get("errors", [])) or "rejected",
            destination=None,
            employee_id=body.get("employee_id"),
            note="not redriven: fix the row and upload the roster again",
        )
    if isinstance(body, dict) and body.get("kind") == "roster_rejected":
        return replace(
            base,
            what=f"roster file rejected: {body.get('key')} (feed {body.get('feed_id')})",
            why=str(body.get("reason") or "rejected"),
            destination=None,
            note="not redriven: have the file exported again as the reason says and upload it",
        )
    if isinstance(body, dict) and body.get("Type") == "Notification":
        return replace(
            base,
            what=f"alert: {body.get('Subject') or summarise(body)}",
            why="SNS could not deliver it to a subscriber",
            destination=None,
            note="not redriven: fix the subscription; the alert text is in the message",
        )
    return replace(
        base,
        what=summarise(body) if body is not None else body_text[:200],
        why="unknown shape of dead letter",
        destination=None,
        note="not redriven: unknown shape",
    )


# --- reading and redriving (SQS) ------------------------------------------------------------------------
def _queues(backend: Backend, only: str | None) -> dict[str, str]:
    queues = backend.resources.dead_letter_queues
    if only is None:
        return dict(queues)
    matches = {k: v for k, v in queues.items() if only.lower() in (k.lower(), k.lower().removesuffix("dlq"))}
    if not matches:
        raise BadInput(f"--queue {only}: not a dead-letter queue (one of: {', '.join(queues)})")
    return matches


def _receive_all(
    backend: Backend, url: str, queue: str, limit: int, wait: int, progress: Callable[[str], None] | None
) -> list[DeadLetter]:
    sqs = backend.client("sqs")
    seen: dict[str, DeadLetter] = {}
    while len(seen) < limit:
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(RECEIVE_BATCH, limit - len(seen)),
            VisibilityTimeout=HIDE_SECONDS,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen.setdefault(message["MessageId"], understand(queue, message, backend.resources))
        if progress is not None and len(seen) % 100 == 0:
            progress(f"{queue}: {len(seen)} messages read")
    return list(seen.values())


def _release(backend: Backend, url: str, letters: list[DeadLetter]) -> None:
    """Make listed messages visible again at once (listing must not hide them from a redrive)."""
    if not letters:
        return
    sqs = backend.client("sqs")
    for start in range(0, len(letters), RECEIVE_BATCH):
        chunk = letters[start : start + RECEIVE_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                for i, letter in enumerate(chunk)
            ],
        )
    backend.tick()


def _enrich(backend: Backend, letter: DeadLetter) -> DeadLetter:
    """A provisioning or lifecycle failure: the desk record says what went wrong last."""
    if not letter.employee_id:
        return letter
    desk = backend.desks.get(letter.employee_id)
    if desk is None or not desk.last_error:
        return letter
    return replace(letter, why=f"{letter.why}; desk {desk.lifecycle.value}: {desk.last_error}")


def list_letters(
    backend: Backend,
    *,
    queue: str | None,
    limit: int,
    wait: int,
    progress: Callable[[str], None] | None = None,
) -> Listing:
    listing = Listing()
    sqs = backend.client("sqs")
    for name, url in _queues(backend, queue).items():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        listing.counts[name] = int(attributes["Attributes"].get("ApproximateNumberOfMessages", 0))
        if listing.counts[name] == 0:
            continue
        letters = _receive_all(backend, url, name, limit, wait, progress)
        _release(backend, url, letters)
        listing.letters += [_enrich(backend, letter) for letter in letters]
    return listing


@dataclass
class RedriveResult:
    sent: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "sent": self.sent, "kept": self.kept}


def redrive(
    backend: Backend,
    *,
    queue: str | None,
    limit: int,
    wait: int,
    dry_run: bool,
    progress: Callable[[str], None] | None = None,
) -> RedriveResult:
    """Send each redrivable dead letter back where it was going, then delete it; the others stay."""
    result = RedriveResult(dry_run=dry_run)
    sqs = backend.client("sqs")
    for name, url in _queues(backend, queue).items():
        letters = _receive_all(backend, url, name, limit, wait, progress)
        keep: list[DeadLetter] = []
        for letter in letters:
            entry = letter.as_dict()
            if letter.destination is None or dry_run:
                (result.sent if dry_run and letter.destination else result.kept).append(entry)
                keep.append(letter)
                continue
            entry["outcome"] = _send(backend, letter)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
            result.sent.append(entry)
            if progress is not None and len(result.sent) % 25 == 0:
                progress(f"{len(result.sent)} dead letters sent back")
        _release(backend, url, keep)
    if not dry_run:
        backend.settle()
    return result


def _send(backend: Backend, letter: DeadLetter) -> str:
    assert letter.destination is not None
    if letter.destination.kind == "queue":
        body = letter.payload if isinstance(letter.payload, str) else json.dumps(letter.payload)
        backend.client("sqs").send_message(QueueUrl=letter.destination.target, MessageBody=body)
        return f"sent to {letter.destination.label}"
    return backend.invoke(letter.destination.target, letter.payload)
