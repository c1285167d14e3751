"""Events from the HR system (custom source, default `hr.feed`). They never name a bundle, directory,
running mode or tag: the policy decides those."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from autopilot.contracts.common import EmployeeId, Envelope, Label, StrictModel, TimeZoneName, Username

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY_NAMES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}


def _day_name(value: object) -> object:
    """HR systems write days as `mon`, `MON`, `Mon`, `Monday` or `monday`: all become `mon`. Anything else is
    left as it came, for the Literal below to refuse with the day names it accepts."""
    if not isinstance(value, str):
        return value
    day = value.strip().lower()
    return FULL_DAY_NAMES.get(day, day) if day in WEEKDAYS or day in FULL_DAY_NAMES else value


# The canonical form is the three-letter lower-case name (domain/fleet/shifts.py).
Weekday = Annotated[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], BeforeValidator(_day_name)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[A-Za-z]{2,63}$")]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Shift(StrictModel):
    """When a shift worker works, in the site's local time."""

    timezone: TimeZoneName
    days: list[Weekday] = Field(
        min_length=1,
        max_length=7,
        description="Days worked: mon..sun; MON, Mon, Monday and monday are accepted and stored as mon.",
    )
    start: dt.time
    end: dt.time


class EmployeeHired(StrictModel):
    schema_version: Literal[1] = 1
    employee_id: EmployeeId
    username: Username
    email: Email
    given_name: PersonName
    family_name: PersonName
    department: Label
    role: Label
    site: Label
    start_date: dt.date
    end_date: dt.date | None = None
    manager_id: EmployeeId | None = None
    cost_center: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,32}$")] | None = None
    shift: Shift | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> EmployeeHired:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class EmployeeDeparted(StrictModel):
    schema_version: Literal[1] = 1
    employee_id: EmployeeId
    last_day: dt.date
    reason: ShortText | None = None


class EmployeeTransferred(StrictModel):
    schema_version: Literal[1] = 1
    employee_id: EmployeeId
    department: Label
    role: Label
    site: Label
    effective_date: dt.date
    shift: Shift | None = None


class EmployeeHiredEvent(Envelope):
    detail_type: Literal["Employee Hired"] = Field(alias="detail-type")
    detail: EmployeeHired


class EmployeeDepartedEvent(Envelope):
    detail_type: Literal["Employee Departed"] = Field(alias="detail-type")
    detail: EmployeeDeparted


class EmployeeTransferredEvent(Envelope):
    detail_type: Literal["Employee Transferred"] = Field(alias="detail-type")
    detail: EmployeeTransferred


HrEvent = EmployeeHiredEvent | EmployeeDepartedEvent | EmployeeTransferredEvent
