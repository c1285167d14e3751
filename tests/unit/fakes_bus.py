"""The one fake event publisher (adapters.bus.EventBus's port) every unit test uses: what was published, in
order, and how many publish calls were made. tests/integration/test_port_contracts_bus.py runs it and EventBus on
moto through the same cases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autopilot.contracts.outputs import DomainEvent
from autopilot.domain.kernel.errors import TransientAwsError


class FakeBus:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.publishes = 0  # publish calls, failed ones included
        self.fail_next = 0  # the next publish calls that fail as a whole

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.publishes += 1
        if self.fail_next:
            self.fail_next -= 1
            # What EventBus raises when PutEvents reports failed entries.
            raise TransientAwsError("PutEvents failed for 1 entries: ['InternalFailure']")
        self.events.extend(events)

    def of(self, detail_type: str) -> list[Any]:
        return [event for event in self.events if detail_type == event.DETAIL_TYPE]
