"""The samples in events/ and what each one is (events/index.yaml): the function that receives it, whether it
is a message body that reaches its function inside an SQS batch, and the world it needs."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from localcloud.world import ROOT

EVENTS = ROOT / "events"
INDEX = EVENTS / "index.yaml"


@dataclass(frozen=True)
class Sample:
    name: str
    function: str
    body_of: str | None = None
    scenario: str | None = None
    object: str | None = None  # an S3 notification: the file whose put the sample announces

    @property
    def path(self) -> Path:
        return EVENTS / self.name


@functools.lru_cache(maxsize=1)
def index() -> dict[str, Sample]:
    raw = yaml.safe_load(INDEX.read_text(encoding="utf-8")) or {}
    return {name: Sample(name=name, **entry) for name, entry in raw.items()}


def sample_at(path: Path) -> Sample | None:
    """The sample a path names, if it is one of events/ (not events/aws/)."""
    try:
        resolved = path.resolve()
    except OSError:
        return None
    if resolved.parent != EVENTS.resolve():
        return None
    return index().get(resolved.name)


def samples_for(logical_id: str) -> list[str]:
    """The samples a function receives, as paths relative to the repository root."""
    return [f"events/{sample.name}" for sample in index().values() if sample.function == logical_id]


def sqs_batch(bodies: list[Any], queue_arn: str, now: dt.datetime) -> dict[str, Any]:
    """Message bodies as the SQS event source mapping hands them to a function: one record each, with the
    fields AWS documents for an SQS event (Lambda developer guide, "Using Lambda with Amazon SQS")."""
    region = queue_arn.split(":")[3]
    sent = str(int(now.timestamp() * 1000))
    records = []
    for number, body in enumerate(bodies, 1):
        text = body if isinstance(body, str) else json.dumps(body)
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud/invoke/{number}/{text}"))
        records.append(
            {
                "messageId": message_id,
                "receiptHandle": f"AQEB{hashlib.sha256(message_id.encode()).hexdigest()}",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AROAEXAMPLEID:autopilot-local",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}
