"""Shared building blocks of the event contracts.

Whose input is it? Our own contracts (HR events, timers, the autopilot bus) are strict: an unknown field or a
malformed id is refused with the field's name. Events AWS sends (S3, WorkSpaces, CloudWatch) are read
tolerantly: AWS adds fields and its own documentation shows ids that botocore's patterns refuse (`ws-xyskdga`),
so we read only what we act on, check the ids we use loosely, and ignore the rest (docs/architecture.md)."""

from __future__ import annotations

from typing import Annotated, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# Ids only: these are what logs, alerts and idempotency records may carry.
EmployeeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
WorkspaceId = Annotated[str, StringConstraints(pattern=r"^ws-[0-9a-z]{8,63}$")]
DirectoryId = Annotated[str, StringConstraints(pattern=r"^(d-[0-9a-f]{8,63})|(wsd-[0-9a-z]{8,63})$")]
BundleId = Annotated[str, StringConstraints(pattern=r"^wsb-[0-9a-z]{8,63}$")]
# The same ids as AWS writes them in its events: a loose shape (prefix and token characters, bounded), not
# botocore's request patterns. AWS's own sample login event carries `ws-xyskdga`, seven characters where
# botocore's WorkspaceId pattern wants eight or more (events/aws/README.md).
AwsWorkspaceId = Annotated[str, StringConstraints(pattern=r"^ws-[0-9A-Za-z]{1,63}$")]
# A directory user name (sAMAccountName-like); WorkSpaces accepts 1..63 characters.
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
# A label chosen by HR (department, role, site): lower-case words, never a raw AWS id.
Label = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9 _-]{0,63}$", to_lower=True)]


def _known_timezone(value: str) -> str:
    # Checked against the zone database the functions use (zoneinfo), not a spelling: Europe/Pariss would fail
    # every hire, shift and stop time at that site with ZoneInfoNotFoundError.
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


# An IANA time zone name that zoneinfo knows (a shift's zone, a site's zone in the policy).
TimeZoneName = Annotated[str, AfterValidator(_known_timezone)]


class StrictModel(BaseModel):
    """A detail we own: unknown fields are refused, values are not coerced across types."""

    # Built on first use, not at import: a handler uses a few of the catalogue's models (cold start).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, str_strip_whitespace=True, defer_build=True)


class AwsModel(BaseModel):
    """A nested object AWS owns: we read what we need and tolerate what AWS adds inside it."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)


class AwsDetail(AwsModel):
    """The `detail` of an event AWS sends: the fields we act on, nothing else is looked at."""


class Envelope(EventBridgeModel):
    """The EventBridge envelope of our own events (HR, timers, the autopilot bus), exactly as we put them."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)


class AwsEnvelope(BaseModel):
    """The EventBridge envelope of an event AWS sends. Only what we use: the event id (the one thing a dropped
    event is logged with), and source and detail-type (which event this is). EventBridge may add envelope
    fields (it added `replay-name`); they are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    id: str
    source: str
    detail_type: str = Field(alias="detail-type")

    @classmethod
    def identifies(cls, event: object) -> bool:
        """Whether `event` says it is this kind of AWS event (its source and detail-type), whatever its detail:
        the line between an AWS event we cannot act on (dropped) and an event that was never ours (refused)."""
        if not isinstance(event, dict):
            return False
        sources = get_args(cls.model_fields["source"].annotation)
        detail_types = get_args(cls.model_fields["detail_type"].annotation)
        return event.get("source") in sources and event.get("detail-type") in detail_types
