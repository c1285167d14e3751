"""Publishes domain events on the autopilot bus, 10 entries per PutEvents (the API's maximum)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autopilot.adapters.aws import translated
from autopilot.contracts.outputs import SOURCE, DomainEvent
from autopilot.domain.kernel.errors import TransientAwsError

MAX_ENTRIES = 10


class EventBus:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: Sequence[DomainEvent], *, source: str = SOURCE) -> None:
        for start in range(0, len(events), MAX_ENTRIES):
            chunk = events[start : start + MAX_ENTRIES]
            entries = [
                {
                    "EventBusName": self._bus_name,
                    "Source": source,
                    "DetailType": event.DETAIL_TYPE,
                    "Detail": event.model_dump_json(),
                }
                for event in chunk
            ]
            self._put(entries)

    def put_raw(self, entries: Sequence[dict[str, str]]) -> None:
        """Entries already shaped for PutEvents (the roster ingest publishes HR events this way)."""
        for start in range(0, len(entries), MAX_ENTRIES):
            self._put([{**entry, "EventBusName": self._bus_name} for entry in entries[start : start + MAX_ENTRIES]])

    def _put(self, entries: list[dict[str, str]]) -> None:
        with translated("events:PutEvents"):
            response = self._client.put_events(Entries=entries)
        if response.get("FailedEntryCount"):
            codes = sorted({entry.get("ErrorCode", "?") for entry in response["Entries"] if "ErrorCode" in entry})
            # Raise so the invocation fails and is retried: a lost domain event is a lost alert.
            raise TransientAwsError(f"PutEvents failed for {response['FailedEntryCount']} entries: {codes}")
