"""The scenario file's format: the document, fleet and step models (pydantic), durations, and the parsed
`Scenario` the runner executes (localcloud.scenario)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from localcloud.clock import parse_instant
from localcloud.emulator.model import STATES as WORKSPACE_STATES

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


Progress = Callable[[str], None]


class ScenarioError(ValueError):
    """Bad input: one line that names the file and the step or field."""


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `2h`, `2d`, `1d6h`, `90s` -> timedelta."""
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration (use d, h, m, s: 30m, 2h, 1d6h)")
    days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


Duration = Annotated[str, Field(description="30m, 2h, 2d, 1d6h")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Desk(_Model):
    user: str = Field(min_length=1)
    site: str | None = None


class LoginStep(_Desk):
    pass


class DisconnectStep(_Desk):
    pass


class ConnectionFailuresStep(_Desk):
    count: int = Field(ge=1)


class SetStateStep(_Desk):
    state: Literal[WORKSPACE_STATES]  # type: ignore[valid-type]
    settle: bool = False


class MissingUserStep(_Desk):
    for_: Duration | None = Field(default=None, alias="for")

    @field_validator("for_")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class ThrottleStep(_Model):
    operation: str = Field(min_length=1)
    times: int = Field(default=1, ge=1)


class RefuseStep(_Model):
    operation: str = Field(min_length=1)
    error_code: str = Field(min_length=1)
    times: int = Field(default=1, ge=1)


class FailRequestsStep(_Model):
    operation: str = Field(min_length=1)
    users: list[str] = Field(min_length=1)
    error_code: str = Field(min_length=1)
    error_message: str | None = None
    times: int = Field(default=1, ge=1)


class CrashStep(_Model):
    function: str = Field(min_length=1)
    after: str = Field(min_length=1)
    times: int = Field(default=1, ge=1)


class InvokeStep(_Model):
    function: str = Field(min_length=1)
    event: Any = Field(default_factory=dict)  # a file name, or the payload itself


class PublishStep(_Model):
    """`publish: {event, account?, principal?, bus?}`: the event (a file or inline) put through PutEvents by
    `account` (a principal of it, or `principal`, an IAM ARN in it) onto `bus` (logical id, name or ARN)."""

    event: Any
    account: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    principal: str | None = Field(default=None, pattern=r"^arn:aws:(iam|sts)::[0-9]{12}:.+$")
    bus: str | None = Field(default=None, min_length=1)


class RosterStep(_Model):
    file: str = Field(min_length=1)
    key: str | None = None


STEP_MODELS: dict[str, type[BaseModel]] = {
    "login": LoginStep,
    "disconnect": DisconnectStep,
    "connection_failures": ConnectionFailuresStep,
    "set_state": SetStateStep,
    "missing_user": MissingUserStep,
    "throttle": ThrottleStep,
    "refuse": RefuseStep,
    "fail_requests": FailRequestsStep,
    "crash": CrashStep,
    "invoke": InvokeStep,
}


STEP_NAMES = ("publish", "upload_roster", "policy", "advance", *STEP_MODELS)


class FleetDesk(_Model):
    user: str = Field(min_length=1)
    site: str
    profile: str
    # The HR id of the desk's owner, as the AutopilotEmployeeId tag adoption reads (so HR events can name it).
    employee_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class FleetBulk(_Model):
    count: int = Field(ge=1, le=100_000)
    user_prefix: str = Field(min_length=1)
    site: str
    profile: str

    def users(self) -> list[str]:
        width = max(3, len(str(self.count)))
        return [f"{self.user_prefix}{number:0{width}d}" for number in range(1, self.count + 1)]


class ScenarioDocument(_Model):
    name: str = Field(min_length=1)
    description: str | None = None
    start: dt.datetime
    policy: str | None = None
    # Stack parameters (template.yaml's Parameters), e.g. {HrAccountId: "210987654321"}; defaults otherwise.
    parameters: dict[str, str] = Field(default_factory=dict)
    fleet: list[FleetDesk | FleetBulk] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return parse_instant(value)


class Step:
    """One validated step, ready to apply to a LocalCloud."""

    def __init__(self, index: int, name: str, argument: Any, label: str) -> None:
        self.index = index
        self.name = name
        self.argument = argument
        self.label = label


class Scenario:
    """A validated scenario: every file it names has been read and parsed."""

    def __init__(self, origin: str, document: ScenarioDocument, policy_path: Path | None, steps: list[Step]) -> None:
        self.origin = origin
        self.document = document
        self.policy_path = policy_path
        self.steps = steps

    @property
    def name(self) -> str:
        return self.document.name
