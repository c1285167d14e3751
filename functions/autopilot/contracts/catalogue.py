"""The event catalogue: every input and output event model (schemas, contract tests, fuzzing)."""

from autopilot.contracts.aws import (
    AlarmStateChangeEvent,
    ObjectCreatedEvent,
    ScheduledTickEvent,
    WorkSpacesAccessEvent,
)
from autopilot.contracts.hr import EmployeeDepartedEvent, EmployeeHiredEvent, EmployeeTransferredEvent
from autopilot.contracts.outputs import OUTPUT_EVENTS, AutopilotEvent
from autopilot.contracts.timers import TimerFiredEvent

INPUT_EVENTS = (
    EmployeeHiredEvent,
    EmployeeDepartedEvent,
    EmployeeTransferredEvent,
    ObjectCreatedEvent,
    WorkSpacesAccessEvent,
    AlarmStateChangeEvent,
    ScheduledTickEvent,
    TimerFiredEvent,
    AutopilotEvent,
)

__all__ = [
    "INPUT_EVENTS",
    "OUTPUT_EVENTS",
    "AlarmStateChangeEvent",
    "AutopilotEvent",
    "EmployeeDepartedEvent",
    "EmployeeHiredEvent",
    "EmployeeTransferredEvent",
    "ObjectCreatedEvent",
    "ScheduledTickEvent",
    "TimerFiredEvent",
    "WorkSpacesAccessEvent",
]
