"""Typed settings, read once per handler from its environment. The domain never reads os.environ."""

from __future__ import annotations

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigurationError(RuntimeError):
    """A function was deployed without a variable it needs: fail at once, naming the variable."""


class Settings(BaseModel):
    """Variables every function gets from the template's Globals."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    stage: str = Field(alias="STAGE", default="dev")
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    policy_parameter_name: str = Field(alias="POLICY_PARAMETER_NAME", min_length=1)
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", default="")
    region: str = Field(alias="AWS_REGION", default="eu-west-1")

    @classmethod
    def from_env(cls) -> Self:
        try:
            return cls.model_validate(dict(os.environ))
        except ValidationError as exc:
            missing = ", ".join(str(error["loc"][0]) for error in exc.errors())
            raise ConfigurationError(f"{cls.__name__}: missing or invalid environment variables: {missing}") from exc


class TimerSettings(Settings):
    """Functions that set one-time timers (EventBridge Scheduler)."""

    timer_group_name: str = Field(alias="TIMER_GROUP_NAME", min_length=1)
    timer_role_arn: str = Field(alias="TIMER_ROLE_ARN", min_length=1)
    timer_dlq_arn: str = Field(alias="TIMER_DLQ_ARN", min_length=1)
