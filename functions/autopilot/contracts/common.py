"""Shared building blocks of the event contracts."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, StringConstraints

# Ids only: these are what logs, alerts and idempotency records may carry.
EmployeeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
WorkspaceId = Annotated[str, StringConstraints(pattern=r"^ws-[0-9a-z]{8,63}$")]
DirectoryId = Annotated[str, StringConstraints(pattern=r"^(d-[0-9a-f]{8,63})|(wsd-[0-9a-z]{8,63})$")]
BundleId = Annotated[str, StringConstraints(pattern=r"^wsb-[0-9a-z]{8,63}$")]
# A directory user name (sAMAccountName-like); WorkSpaces accepts 1..63 characters.
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
# A label chosen by HR (department, role, site): lower-case words, never a raw AWS id.
Label = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9 _-]{0,63}$", to_lower=True)]


class StrictModel(BaseModel):
    """A detail we own: unknown fields are refused, values are not coerced across types."""

    # Built on first use, not at import: a handler uses a few of the catalogue's models (cold start).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, str_strip_whitespace=True, defer_build=True)


class AwsModel(BaseModel):
    """A nested object AWS owns: we read what we need and tolerate what AWS adds inside it."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)


class Envelope(EventBridgeModel):
    """The EventBridge envelope exactly as delivered to a Lambda target."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)
