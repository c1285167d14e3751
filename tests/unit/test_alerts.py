"""The on-call contract: every kind, its severity, attributes, the chat-notification body, the e-mail text,
one thread per incident, and no repeat pages."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from autopilot.contracts.outputs import (
    DomainEvent,
    FeedHeld,
    FeedRejected,
    FleetReportPublished,
    IncidentEscalated,
    IncidentOpened,
    IncidentResolved,
    PolicyRejected,
    ProvisioningFailed,
    RemediationStep,
    RunningModesOptimised,
    StepRecord,
    UnusedDesk,
    UnusedDesksFound,
    WorkSpaceReady,
)
from autopilot.domain.incidents.incidents import open_desk_incident
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.domain.oncall import alerts
from autopilot.domain.oncall.alert import KINDS, SEVERITY, Kind, Links
from autopilot.domain.oncall.alerts import AutomationAlarm, EventTrigger
from autopilot.domain.oncall.ports import NotifyPorts
from tests.unit.fakes_remediation import FakeIncidents, FakeNotifier, FakeThreads

pytestmark = pytest.mark.usefixtures("socket_disabled")

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
LINKS = Links(region="eu-west-1", account="123456789012")
WS = "ws-abcdefgh1"
EMP = "e-1001"
DIR = "d-0123456789"
INC = "inc-ws-abcdefgh1-20261201090000"
STEP = StepRecord(action="reboot", outcome="requested", at=NOW)


class Harness:
    def __init__(self) -> None:
        self.incidents = FakeIncidents()
        self.threads = FakeThreads()
        self.notifier = FakeNotifier()
        self.ports = NotifyPorts(incidents=self.incidents, threads=self.threads, notifier=self.notifier)

    def send(self, trigger: alerts.AlertTrigger) -> alerts.Delivery:
        return alerts.notify(trigger, self.ports, LINKS, NOW)

    def event(self, event: DomainEvent) -> alerts.Delivery:
        return self.send(EventTrigger(event=event, time=NOW))

    def body(self, n: int = -1) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.notifier.messages[n]["default"])
        return body


def opened(**changes: Any) -> IncidentOpened:
    fields: dict[str, Any] = {
        "incident_id": INC,
        "scope": "desk",
        "cause": "connection_failure",
        "directory_id": DIR,
        "workspace_id": WS,
        "employee_id": EMP,
        "failures": 6,
        "opened_at": NOW,
    }
    return IncidentOpened.model_validate(fields | changes)


EVENTS: dict[str, DomainEvent] = {
    "connection_failure": opened(),
    "systemic_outage": opened(
        incident_id="inc-d-0123456789-20261201090000",
        scope="directory",
        workspace_id=None,
        employee_id=None,
        failing_desks=30,
        desks_in_directory=100,
    ),
    "remediation_step": RemediationStep(
        incident_id=INC, directory_id=DIR, workspace_id=WS, employee_id=EMP, step=STEP, next_check_at=NOW
    ),
    "escalation": IncidentEscalated(
        incident_id=INC,
        scope="desk",
        directory_id=DIR,
        workspace_id=WS,
        employee_id=EMP,
        reason="tried all",
        steps=[STEP],
    ),
    "incident_resolved": IncidentResolved(
        incident_id=INC,
        scope="desk",
        directory_id=DIR,
        workspace_id=WS,
        employee_id=EMP,
        resolved_by="login",
        opened_at=NOW - dt.timedelta(minutes=20),
        resolved_at=NOW,
        steps=[STEP],
    ),
    "provisioning_failed": ProvisioningFailed(
        employee_id=EMP, directory_id=DIR, error_code="ResourceNotFound.User", reason="user not found", attempts=5
    ),
    "policy_error": PolicyRejected(parameter="/workspaces-autopilot/dev/policy", errors=["sites: required"]),
    "feed_held": FeedHeld(feed_id="roster-2026-12-01.csv", departures=40, threshold=25, held_at=NOW),
    "feed_rejected": FeedRejected(
        feed_id="feed-0123456789abcdef01234567",
        reason="roster rosters/staff.csv: bad header: the delimiter is a semicolon",
        rejected_at=NOW,
    ),
    "unused_desks": UnusedDesksFound(
        unused_days=30, desks=[UnusedDesk(workspace_id=WS, employee_id=EMP, last_login=None, idle_days=45)]
    ),
    "running_modes": RunningModesOptimised(
        month="2026-12",
        dry_run=False,
        desks=412,
        to_always_on=3,
        to_auto_stop=0,
        changed=3,
        failed=0,
        deferred=0,
        skipped=2,
        estimated_monthly_saving=42.5,
        changed_workspace_ids=[WS],
        ran_at=NOW,
    ),
    "fleet_report": FleetReportPublished(
        report_key="reports/2026-12-01.html",
        url="https://reports.s3.eu-west-1.amazonaws.com/reports/2026-12-01.html?X-Amz-Expires=604800",
        desks=412,
        generated_at=NOW,
    ),
}
ALARM = AutomationAlarm(
    alarm_name="workspaces-autopilot-dev-automation-provisioning-dlq",
    state="ALARM",
    previous_state="OK",
    reason="Threshold Crossed: 1 datapoint [2.0] was greater than the threshold (0.0).",
    description="Hires that could not be provisioned after every retry are waiting in the DLQ.",
    at=NOW,
)


def deliver(kind: str) -> Harness:
    harness = Harness()
    if kind == "automation_failure":
        harness.send(ALARM)
    else:
        harness.event(EVENTS[kind])
    return harness


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_a_chat_notification_with_the_documented_schema(kind: str) -> None:
    harness = deliver(kind)
    body = harness.body()
    assert (body["version"], body["source"]) == ("1.0", "custom")
    assert body["id"]
    assert body["content"]["textType"] == "client-markdown"
    assert body["content"]["title"]
    assert body["content"]["description"]
    assert all(isinstance(step, str) for step in body["content"]["nextSteps"])
    metadata = body["metadata"]
    assert metadata["eventType"] == kind
    assert metadata["threadId"]
    assert metadata["summary"]
    assert all(isinstance(v, str) for v in metadata["additionalContext"].values())
    assert f"docs/runbook.md#{kind}" in " ".join(body["content"]["nextSteps"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_message_carries_kind_and_severity_attributes(kind: Kind) -> None:
    attributes = deliver(kind).notifier.messages[0]["attributes"]
    assert attributes["kind"] == kind
    assert attributes["severity"] == SEVERITY[kind]
    assert attributes["thread"] == "new"
    assert all(attributes.values())


@pytest.mark.parametrize("kind", KINDS)
def test_the_email_variant_is_plain_text_with_the_same_facts(kind: str) -> None:
    message = deliver(kind).notifier.messages[0]
    assert "**" not in message["email"]
    assert "`" not in message["email"]
    assert json.loads(message["default"])["content"]["title"] in message["email"]
    assert len(message["subject"]) <= 100
    assert message["subject"].isascii()
    assert "\n" not in message["subject"]


def test_a_desk_alert_names_desk_employee_directory_and_links_the_console() -> None:
    harness = deliver("connection_failure")
    attributes = harness.notifier.messages[0]["attributes"]
    assert (attributes["workspace_id"], attributes["employee_id"], attributes["incident_id"]) == (WS, EMP, INC)
    body = harness.body()
    text = body["content"]["description"] + " ".join(body["content"]["nextSteps"])
    for fact in (WS, EMP, DIR):
        assert fact in text
    assert f"https://eu-west-1.console.aws.amazon.com/workspaces/v2/workspaces/{WS}?region=eu-west-1" in text
    assert body["metadata"]["threadId"] == INC
    assert f"arn:aws:workspaces:eu-west-1:123456789012:workspace/{WS}" in body["metadata"]["relatedResources"]


def test_the_first_alert_says_what_the_automation_already_did_and_when() -> None:
    harness = Harness()
    incident = open_desk_incident(
        workspace_id=WS, directory_id=DIR, employee_id=EMP, cause="connection_failure", at=NOW
    )
    incident = incident.model_copy(update={"incident_id": INC}).with_step(STEP)
    harness.incidents.items[INC] = incident.awaiting_recheck(NOW, NOW + dt.timedelta(minutes=15))
    harness.event(EVENTS["connection_failure"])
    description = harness.body()["content"]["description"]
    assert "2026-12-01 09:00 UTC: reboot requested" in description
    assert "re-checks the desk at 2026-12-01 09:15 UTC" in description


def test_systemic_outage_and_escalation_page_as_critical() -> None:
    assert SEVERITY["systemic_outage"] == SEVERITY["escalation"] == "critical"
    body = deliver("systemic_outage").body()
    assert "30 of 100 desks" in body["content"]["title"]


def test_a_pre_warm_escalation_tells_on_call_to_start_the_desk_not_to_wait_for_a_login() -> None:
    harness = Harness()
    event = EVENTS["escalation"].model_copy(update={"incident_id": f"inc-start-{WS}-20261201"})
    harness.event(event)
    prewarm_steps = harness.body()["content"]["nextSteps"]
    remediation_steps = deliver("escalation").body()["content"]["nextSteps"]

    assert any("start it from the console" in step for step in prewarm_steps)
    assert not any("next successful login" in step for step in prewarm_steps)
    assert any("next successful login" in step for step in remediation_steps)


def test_one_thread_per_incident_repeats_are_not_sent_again() -> None:
    harness = Harness()
    assert harness.event(EVENTS["connection_failure"]).thread == "new"
    assert harness.event(EVENTS["connection_failure"]).thread == "duplicate"
    assert harness.event(EVENTS["remediation_step"]).thread == "update"
    assert harness.event(EVENTS["incident_resolved"]).thread == "update"
    assert harness.event(EVENTS["incident_resolved"]).thread == "duplicate"
    assert [m["attributes"]["thread"] for m in harness.notifier.messages] == ["new", "update", "update"]
    assert {json.loads(m["default"])["metadata"]["threadId"] for m in harness.notifier.messages} == {INC}


def test_an_alert_that_could_not_be_sent_is_sent_by_the_retry() -> None:
    harness = Harness()
    harness.notifier.fail_next = 1
    with pytest.raises(RuntimeError):
        harness.event(EVENTS["escalation"])
    assert harness.event(EVENTS["escalation"]).thread == "new"
    assert len(harness.notifier.messages) == 1


def test_an_automation_alarm_pages_and_its_recovery_is_an_update_in_the_same_thread() -> None:
    harness = Harness()
    harness.send(ALARM)
    recovered = AutomationAlarm(**{**ALARM.__dict__, "state": "OK", "previous_state": "ALARM", "at": NOW})
    harness.send(recovered)
    first, second = harness.notifier.messages
    assert (first["attributes"]["severity"], second["attributes"]["severity"]) == ("critical", "info")
    assert second["attributes"]["thread"] == "update"
    assert "dead-letter queue" in json.loads(first["default"])["content"]["nextSteps"][0]


def test_the_unrouted_hr_events_alarm_says_what_to_fix_not_that_a_function_fails() -> None:
    harness = Harness()
    harness.send(
        AutomationAlarm(**{**ALARM.__dict__, "alarm_name": "workspaces-autopilot-dev-automation-unrouted-hr-events"})
    )
    [step, *_] = json.loads(harness.notifier.messages[0]["default"])["content"]["nextSteps"]
    assert "no rule routes" in step
    assert "HrAccountId" in step
    assert "A function fails" not in step


def test_other_alarm_state_changes_send_nothing() -> None:
    harness = Harness()
    insufficient = AutomationAlarm(**{**ALARM.__dict__, "state": "INSUFFICIENT_DATA", "previous_state": "OK"})
    assert harness.send(insufficient).thread is None
    assert harness.notifier.messages == []


def test_the_same_bad_policy_pages_once_a_new_error_pages_again() -> None:
    harness = Harness()
    harness.event(EVENTS["policy_error"])
    harness.event(EVENTS["policy_error"])
    harness.event(PolicyRejected(parameter="/workspaces-autopilot/dev/policy", errors=["rules: required"]))
    assert [m["attributes"]["thread"] for m in harness.notifier.messages] == ["new", "update"]


def test_no_email_address_reaches_an_alert() -> None:
    harness = Harness()
    leaky = ProvisioningFailed(
        employee_id=EMP, error_code="InvalidParameterValues", reason="user jane.doe@example.com refused", attempts=1
    )
    harness.event(leaky)
    assert "@example.com" not in json.dumps(harness.notifier.messages)


def test_workspace_ready_is_no_longer_an_alert() -> None:
    ready = WorkSpaceReady(workspace_id=WS, employee_id=EMP, directory_id=DIR, ready_at=NOW, provisioning_seconds=60)
    with pytest.raises(InvalidInput, match="WorkSpace Ready"):
        Harness().event(ready)


# --- what is known, and nothing more (issue 15) ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["connection_failure", "remediation_step", "escalation", "incident_resolved"])
def test_a_desk_with_no_hr_record_is_named_so_not_by_its_workspace_id_as_employee(kind: str) -> None:
    event = EVENTS[kind].model_copy(update={"employee_id": WS})  # adoption's stand-in id for an unclaimed desk
    harness = Harness()
    harness.event(event)

    message = harness.notifier.messages[0]
    text = message["subject"] + message["default"] + message["email"]
    assert "no HR record (adopted desk)" in message["email"]
    assert f"employee {WS}" not in text
    assert f"**Employee** `{WS}`" not in text
    assert "employee_id" not in message["attributes"]


def test_runbook_links_are_absolute_urls_built_from_the_base_url() -> None:
    links = Links(region="eu-west-1", account="123456789012", runbook_base_url="https://git.example.com/ops/autopilot")

    assert links.runbook_for("feed_rejected") == "https://git.example.com/ops/autopilot/docs/runbook.md#feed_rejected"
    assert Links(region="eu-west-1", account="1").runbook_for("escalation").startswith("https://")


class FakeUsers:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def user_name(self, *, workspace_id: str | None, employee_id: str | None) -> str | None:
        return self.names.get(workspace_id or "") or self.names.get(employee_id or "")


def test_the_user_name_is_in_the_alert_only_when_the_policy_allows_it() -> None:
    allowed = Harness()
    allowed.ports.users = FakeUsers({WS: "helpline003"})
    alerts.notify(EventTrigger(event=opened(), time=NOW), allowed.ports, LINKS, NOW, user_names=True)
    withheld = Harness()
    withheld.ports.users = FakeUsers({WS: "helpline003"})
    alerts.notify(EventTrigger(event=opened(), time=NOW), withheld.ports, LINKS, NOW, user_names=False)

    shown = allowed.notifier.messages[0]
    assert "**User** `helpline003`" in allowed.body()["content"]["description"]
    assert "helpline003" in shown["email"]
    assert "helpline003" not in shown["subject"] + json.dumps(shown["attributes"])  # filters and pagers: ids only
    assert "helpline003" not in json.dumps(withheld.notifier.messages[0])
