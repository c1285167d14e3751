"""The policy document: which desk each employee gets, and the guard-rails of every automated action.
Validated once at load; a bad policy is refused whole, with errors that name the key.

PyYAML is imported lazily, only for a YAML document: `autopilot policy publish` stores the policy as compact JSON,
which the standard library parses, so a cold start does not pay for PyYAML (a YAML parameter is still accepted).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from autopilot.contracts.common import TimeZoneName
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.running_mode_policy import Optimizer

RunningMode = Literal["AUTO_STOP", "ALWAYS_ON"]
Compute = Literal[
    "VALUE",
    "STANDARD",
    "PERFORMANCE",
    "POWER",
    "POWERPRO",
    "GRAPHICS",
    "GRAPHICSPRO",
    "GENERALPURPOSE_4XLARGE",
    "GENERALPURPOSE_8XLARGE",
    "GRAPHICS_G4DN",
    "GRAPHICSPRO_G4DN",
]
# Order of compute sizes, so a transfer knows whether it is an upsize (6 h rule) or a downsize (30 days).
COMPUTE_RANK: dict[str, int] = {
    "VALUE": 0,
    "STANDARD": 1,
    "PERFORMANCE": 2,
    "POWER": 3,
    "POWERPRO": 4,
    "GENERALPURPOSE_4XLARGE": 5,
    "GENERALPURPOSE_8XLARGE": 6,
    "GRAPHICS": 7,
    "GRAPHICS_G4DN": 7,
    "GRAPHICSPRO": 8,
    "GRAPHICSPRO_G4DN": 8,
}
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# DirectoryId (botocore workspaces service-2.json, shape DirectoryId).
_DIRECTORY_ID = re.compile(r"^((d-[0-9a-f]{8,63})|(wsd-[0-9a-z]{8,63}))$")
# A sender SES accepts: `address` or `Display Name <address>` (SES SendEmail, FromEmailAddress).
_SENDER = re.compile(r"^([^<>]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?$")


class Site(_Section):
    directory: str = Field(min_length=1, description="Directory by DNS name or by id (d-…)")
    timezone: TimeZoneName = "UTC"

    @field_validator("directory")
    @classmethod
    def _directory_id_shape(cls, value: str) -> str:
        # An id is sent to the WorkSpaces API as is; a malformed one fails every hire with a ValidationException.
        if value.startswith(("d-", "wsd-")) and not _DIRECTORY_ID.match(value):
            raise ValueError(f"{value!r} is not a directory id (d- or wsd- and 8 or more hex characters)")
        return value


class Bundle(_Section):
    name: str | None = None
    id: str | None = Field(default=None, pattern=r"^wsb-[0-9a-z]{8,63}$")
    monthly_price: float | None = Field(default=None, ge=0)
    hourly_price: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _name_or_id(self) -> Bundle:
        if (self.name is None) == (self.id is None):
            raise ValueError("give exactly one of name or id")
        return self


class Profile(_Section):
    bundle: Name
    compute: Compute | None = None
    running_mode: RunningMode = "AUTO_STOP"
    autostop_hours: int = Field(default=1, ge=1, le=48)
    root_volume_gb: int | None = Field(default=None, ge=80)
    user_volume_gb: int | None = Field(default=None, ge=10)
    prewarm: bool = False


class Match(_Section):
    department: str | None = None
    role: str | None = None
    site: str | None = None


class Rule(_Section):
    match: Match = Field(default_factory=Match)
    profile: Name


class Onboarding(_Section):
    lead_days: int = Field(default=2, ge=0, le=60)
    welcome_email: bool = True
    sender: str = "it-desk@example.com"
    max_create_attempts: int = Field(default=5, ge=1, le=20)
    client_download_url: str = "https://clients.amazonworkspaces.com/"
    # A roster file that would hire more people than this is held whole, like a mass departure (feed_hold.py).
    max_hires_per_feed: int = Field(default=500, ge=1)

    @field_validator("sender")
    @classmethod
    def _sender_is_an_address(cls, value: str) -> str:
        if not _SENDER.match(value.strip()):
            raise ValueError("not an e-mail address (SES refuses it when the first welcome e-mail is sent)")
        return value

    @field_validator("client_download_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        if not re.match(r"^https://[^\s/]+", value):
            raise ValueError("must be an https:// URL (it is a link in the welcome e-mail)")
        return value


class Offboarding(_Section):
    retention_days: int = Field(default=30, ge=0, le=365)
    max_departures_per_feed: int = Field(default=25, ge=1)
    stop_at_local: dt.time = dt.time(23, 0)

    @field_validator("stop_at_local", mode="before")
    @classmethod
    def _time_written_as_text(cls, value: object) -> object:
        # Unquoted, YAML 1.1 reads 22:30 as the base-60 integer 1350, which would mean 00:22:30.
        if isinstance(value, int):
            raise ValueError(f'write the time in quotes, e.g. "22:30" (unquoted, YAML reads it as the number {value})')
        return value


class Prewarm(_Section):
    minutes_before_shift: int = Field(default=20, ge=0, le=240)
    start_timeout_minutes: int = Field(default=15, ge=5, le=120)
    holidays: list[dt.date] = Field(default_factory=list)
    rebuild_failed_starts: bool = True


class Systemic(_Section):
    percent: float = Field(default=20, gt=0, le=100)
    min_desks: int = Field(default=5, ge=1)


class Remediation(_Section):
    failures_to_act: int = Field(default=3, ge=1)
    recheck_minutes: int = Field(default=15, ge=1, le=1440)
    max_reboots_per_day: int = Field(default=2, ge=0)
    rebuild: bool = True
    restore: bool = False
    cooldown_hours: int = Field(default=24, ge=1)
    systemic: Systemic = Field(default_factory=Systemic)


class Usage(_Section):
    unused_days: int = Field(default=30, ge=1)


class Alerts(_Section):
    # Off by default (docs/security.md "Personal data"): alerts reach chat channels and mailing lists, a wider
    # audience than the operators; the desk and employee ids are enough to look the person up with the CLI.
    user_names: bool = False


class Policy(_Section):
    version: Literal[1] = 1
    dry_run: bool = False
    sites: dict[Name, Site] = Field(min_length=1)
    bundles: dict[Name, Bundle] = Field(min_length=1)
    profiles: dict[Name, Profile] = Field(min_length=1)
    rules: list[Rule] = Field(min_length=1)
    onboarding: Onboarding = Field(default_factory=Onboarding)
    offboarding: Offboarding = Field(default_factory=Offboarding)
    prewarm: Prewarm = Field(default_factory=Prewarm)
    remediation: Remediation = Field(default_factory=Remediation)
    usage: Usage = Field(default_factory=Usage)
    alerts: Alerts = Field(default_factory=Alerts)
    optimizer: Optimizer = Field(default_factory=Optimizer)
    tags: dict[str, str] = Field(default_factory=lambda: {"ManagedBy": "workspaces-autopilot"})

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        errors = [
            f"profiles.{name}.bundle: unknown bundle {profile.bundle!r}"
            for name, profile in self.profiles.items()
            if profile.bundle not in self.bundles
        ]
        errors += [
            f"rules.{index}.profile: unknown profile {rule.profile!r}"
            for index, rule in enumerate(self.rules)
            if rule.profile not in self.profiles
        ]
        errors += [
            f"rules.{index}.match.site: unknown site {rule.match.site!r}"
            for index, rule in enumerate(self.rules)
            if rule.match.site is not None and rule.match.site not in self.sites
        ]
        if self.rules[-1].match != Match():
            errors.append("rules: the last rule must match everyone (a rule without `match`)")
        if "ManagedBy" not in self.tags:
            errors.append("tags.ManagedBy: required (IAM scopes every destructive action to it)")
        elif not self.tags["ManagedBy"]:
            errors.append("tags.ManagedBy: must not be empty (IAM scopes every destructive action to its value)")
        errors += _tag_errors(self.tags)
        if errors:
            raise ValueError("; ".join(errors))
        return self

    def profile_for(self, *, department: str, role: str, site: str) -> tuple[str, Profile]:
        """First matching rule wins; the last rule always matches."""
        for rule in self.rules:
            wanted = rule.match
            if (
                (wanted.department is None or wanted.department == department)
                and (wanted.role is None or wanted.role == role)
                and (wanted.site is None or wanted.site == site)
            ):
                return rule.profile, self.profiles[rule.profile]
        raise AssertionError("unreachable: the last rule matches everyone")

    @property
    def managed_tag(self) -> tuple[str, str]:
        return "ManagedBy", self.tags["ManagedBy"]


# WorkSpaces tags (botocore TagKey 1-127, TagValue up to 255 characters; `aws:` is reserved for AWS, and a
# resource carries at most 50 tags: Tagging AWS resources, "Tag naming limits and requirements").
MAX_TAGS = 50


def _tag_errors(tags: dict[str, str]) -> list[str]:
    errors = [f"tags: {len(tags)} tags, at most {MAX_TAGS}"] if len(tags) > MAX_TAGS else []
    for key, value in tags.items():
        if not 1 <= len(key) <= 127:
            errors.append(f"tags.{key}: a key is 1 to 127 characters")
        elif key.lower().startswith("aws:"):
            errors.append(f"tags.{key}: the aws: prefix is reserved for AWS")
        if len(value) > 255:
            errors.append(f"tags.{key}: a value is at most 255 characters")
    return errors


def parse_policy(text: str, *, origin: str = "policy") -> Policy:
    """Parse and validate a policy document (JSON or YAML). Raises PolicyError naming each bad key."""
    return _validate(_load_document(text, origin))


def policy_document_json(policy_text: str, *, origin: str = "policy") -> str:
    """The document, validated, as compact JSON (what `policy publish` stores): the keys as written, no defaults
    filled in, dates as ISO strings. Raises PolicyError when it is invalid or would not read back the same."""
    document = _load_document(policy_text, origin)
    policy = _validate(document)
    try:
        compact = json.dumps(
            document, separators=(",", ":"), sort_keys=False, ensure_ascii=False, allow_nan=False, default=_json_value
        )
    except (TypeError, ValueError) as exc:
        raise PolicyError([f"{origin}: cannot be written as JSON: {exc}"]) from exc
    if _validate(json.loads(compact)) != policy:
        raise PolicyError([f"{origin}: its JSON form does not read back as the same policy (a YAML-only value?)"])
    return compact


def _load_document(text: str, origin: str) -> dict[str, Any]:
    """JSON (the first non-blank character is `{`) with the standard library; anything else with PyYAML."""
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            # A YAML flow mapping (`{version: 1, ...}`) starts with `{` too, and was always accepted.
            document = _yaml_document(text, origin, fallback_error=exc)
    else:
        document = _yaml_document(text, origin)
    if not isinstance(document, dict):
        raise PolicyError([f"{origin}: the policy must be a mapping, got {type(document).__name__}"])
    return document


def _yaml_document(text: str, origin: str, *, fallback_error: json.JSONDecodeError | None = None) -> Any:
    import yaml  # lazily: see the module docstring

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        if fallback_error is not None:  # it looked like JSON: the JSON error is the one that helps
            error = fallback_error
            message = f"{origin}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            raise PolicyError([message]) from error
        raise PolicyError([f"{origin}: not valid YAML: {exc}"]) from exc


def _validate(document: Any) -> Policy:
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(describe_validation_errors(exc)) from exc


def _json_value(value: object) -> str:
    """YAML's dates and times (`holidays: [2026-12-25]`) as the ISO strings the model reads back."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} value {value!r} has no JSON form")


def describe_validation_errors(exc: ValidationError) -> list[str]:
    """One line per error, led by the dotted key path (`profiles.agent.autostop_hours: …`)."""
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:
            # Cross-reference checks already lead each message with its key path.
            lines += message.split("; ")
            continue
        path = ".".join(str(part) for part in error["loc"])
        lines.append(f"{path}: {message}")
    return lines
