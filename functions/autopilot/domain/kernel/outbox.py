"""What leaves the domain as a fact: domain events on the autopilot bus (and the dry-run marking of them), raw
events, and the audit trail of a desk. Every capability publishes through these ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from autopilot.contracts.outputs import DomainEvent


@dataclass(frozen=True)
class AuditEntry:
    """One line of a desk's audit trail (DeskRecords.record_event's arguments), for batched writes."""

    employee_id: str
    at: dt.datetime
    kind: str
    detail: dict[str, Any]


class DomainEventPublisher(Protocol):
    """The autopilot bus (adapters.bus.EventBus)."""

    def publish(self, events: Sequence[DomainEvent]) -> None: ...


@dataclass(frozen=True)
class DryRunMarking:
    """A DomainEventPublisher that marks the events of a dry run (`dry_run: true`, contracts/outputs.py)."""

    bus: DomainEventPublisher
    dry_run: bool

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.dry_run:
            events = [event.model_copy(update={"dry_run": True}) for event in events]
        self.bus.publish(events)


class RawEventSink(Protocol):
    """A bus taking entries already shaped for PutEvents (adapters.bus.EventBus.put_raw): the HR bus."""

    def put_raw(self, entries: Sequence[dict[str, str]]) -> None: ...
