"""The outcome of one SQS batch: which messages to redeliver (the `batchItemFailures` wire format of Lambda's
partial batch response) and what was decided for each employee (ids only). Every queue-fed capability returns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Decision:
    employee_id: str
    action: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchResult:
    """Per-message outcome of a queue batch: which messages to redeliver, and what was decided (ids only)."""

    failed: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def decide(self, employee_id: str, action: str, **detail: Any) -> None:
        self.decisions.append(Decision(employee_id, action, detail))

    def as_batch_response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in dict.fromkeys(self.failed)]}
