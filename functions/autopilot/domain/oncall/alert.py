"""What an alert is: its kinds and their severity (listed once here), the links it carries, and the formatting
that keeps personal data and markdown out of a page."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import quote

from autopilot.contracts.outputs import Severity
from autopilot.domain.oncall.ports import ThreadState

Kind = Literal[
    "connection_failure",
    "remediation_step",
    "escalation",
    "systemic_outage",
    "incident_resolved",
    "provisioning_failed",
    "policy_error",
    "feed_held",
    "feed_rejected",
    "unused_desks",
    "fleet_report",
    "running_modes",
    "automation_failure",
]


KINDS: tuple[Kind, ...] = get_args(Kind)


SEVERITY: dict[Kind, Severity] = {
    "connection_failure": "warning",
    "remediation_step": "info",
    "escalation": "critical",
    "systemic_outage": "critical",
    "incident_resolved": "info",
    "provisioning_failed": "warning",
    "policy_error": "critical",
    "feed_held": "warning",
    "feed_rejected": "warning",
    "unused_desks": "info",
    "fleet_report": "info",
    "running_modes": "info",
    "automation_failure": "critical",
}


# The template parameter RunbookBaseUrl's default; set it to where your copy of the repository is browsable.
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/workspaces-autopilot/workspaces-autopilot/blob/main"


SUBJECT_LIMIT = 100  # SNS Subject: at most 100 ASCII characters, no line breaks


LIST_LIMIT = 20


# template.yaml's UnroutedHrEventsAlarm: HR events no rule routes wait in UnroutedHrEventsQueue (nothing to redrive).
UNROUTED_HR_EVENTS_ALARM_SUFFIX = "-automation-unrouted-hr-events"


_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,63}")


@dataclass(frozen=True)
class Links:
    """Where an alert points: the runbook where on-call can open it, the console of the account's region."""

    region: str
    account: str
    # Where the repository is browsable (template parameter RunbookBaseUrl): links are absolute, so they can be
    # clicked in chat and e-mail; `docs/runbook.md#<kind>` is appended.
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL

    def runbook_for(self, kind: Kind) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/docs/runbook.md#{kind}"

    def desk_console(self, workspace_id: str) -> str:
        return (
            f"https://{self.region}.console.aws.amazon.com/workspaces/v2/workspaces/{workspace_id}?region={self.region}"
        )

    def directory_console(self, directory_id: str) -> str:
        return (
            f"https://{self.region}.console.aws.amazon.com/workspaces/v2/directories/{directory_id}"
            f"?region={self.region}"
        )

    def alarm_console(self, alarm_name: str) -> str:
        return (
            f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}"
            f"#alarmsV2:alarm/{quote(alarm_name, safe='')}"
        )

    def desk_arn(self, workspace_id: str) -> str:
        return f"arn:aws:workspaces:{self.region}:{self.account}:workspace/{workspace_id}"

    def directory_arn(self, directory_id: str) -> str:
        return f"arn:aws:workspaces:{self.region}:{self.account}:directory/{directory_id}"

    def alarm_arn(self, alarm_name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{alarm_name}"


# --- the alert -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alert:
    kind: Kind
    severity: Severity
    title: str
    description: str  # client-markdown
    next_steps: list[str]
    thread_id: str
    key: str  # what makes this message distinct within its thread
    event_type: str
    workspace_id: str | None = None
    employee_id: str | None = None
    incident_id: str | None = None
    directory_id: str | None = None
    related_resources: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        return hashlib.sha256(f"{self.thread_id}|{self.key}".encode()).hexdigest()[:32]

    @property
    def subject(self) -> str:
        text = f"[{self.severity.upper()}] {self.title}"
        text = "".join(c for c in text if 32 <= ord(c) < 127)
        return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."

    def chat_body(self) -> dict[str, Any]:
        """Amazon Q Developer in chat applications custom notification (version 1.0, source custom)."""
        return {
            "version": "1.0",
            "source": "custom",
            "id": self.alert_id,
            "content": {
                "textType": "client-markdown",
                "title": self.title,
                "description": self.description,
                "nextSteps": self.next_steps,
                "keywords": [self.kind, self.severity],
            },
            "metadata": {
                "threadId": self.thread_id,
                "summary": self.subject,
                "eventType": self.kind,
                "relatedResources": self.related_resources,
                "additionalContext": {"kind": self.kind, "severity": self.severity, **self.context},
            },
        }

    def plain_text(self) -> str:
        """The e-mail variant: the same facts without markdown."""
        lines = [f"{self.severity.upper()} - {self.kind}", "", self.title, "", _unmarkdown(self.description), ""]
        lines.append("Next steps:")
        lines += [f"  {n}. {_unmarkdown(step)}" for n, step in enumerate(self.next_steps, start=1)]
        lines.append("")
        lines += [f"{name}: {value}" for name, value in sorted(self.context.items())]
        return "\n".join(lines).strip() + "\n"

    def attributes(self, thread: ThreadState) -> dict[str, str]:
        values = {
            "kind": self.kind,
            "severity": self.severity,
            "workspace_id": self.workspace_id,
            "employee_id": self.employee_id,
            "incident_id": self.incident_id,
            "directory_id": self.directory_id,
            "thread": thread,
        }
        return {name: value for name, value in values.items() if value}


# --- formatting ------------------------------------------------------------------------------------------
def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "unknown"
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _scrub(text: str) -> str:
    """Defence in depth: an e-mail address that slipped into an error text never reaches on-call."""
    return _EMAIL.sub("<redacted>", text)


def _unmarkdown(text: str) -> str:
    return text.replace("**", "").replace("`", "")


def _context(**values: object) -> dict[str, str]:
    return {name: _when(v) if isinstance(v, dt.datetime) else str(v) for name, v in values.items() if v is not None}
