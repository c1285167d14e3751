"""sessions: a successful login (WorkSpaces Access) -> the desk's last login (read by the unused-desk report)
and the resolution of the desk's open incident (domain/incidents/sessions.py,
docs/remediation.md). AWS owns the event: it is read tolerantly, and one without a usable desk id or login time
is dropped and counted (aws_events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.incident_store import IncidentStore, state_table
from autopilot.config import Settings
from autopilot.contracts.aws import WorkSpacesAccessEvent
from autopilot.domain.incidents import sessions
from autopilot.handlers import aws_events
from autopilot.observability import logger, metrics, tracer

KIND = "WorkSpacesAccess"


@dataclass(frozen=True)
class Composition:
    settings: Settings
    ports: sessions.SessionPorts


@cached
def ports() -> Composition:
    settings = Settings.from_env()
    table = state_table(settings.table_name)
    return Composition(
        settings=settings,
        ports=sessions.SessionPorts(
            desks=DeskStore(table),
            incidents=IncidentStore(table),
            events=EventBus(client("events"), settings.event_bus_name),
        ),
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = aws_events.read(event, WorkSpacesAccessEvent, KIND)
    if isinstance(parsed, aws_events.Dropped):
        return parsed.as_response()
    access = parsed.detail
    login = sessions.Login(
        workspace_id=access.workspace_id, directory_id=access.plain_directory_id, login_time=access.login_time
    )
    outcome = sessions.record_login(login, ports().ports, clock.now())
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    if outcome.resolved_incident:
        metrics.add_metric(name="IncidentsResolvedByLogin", unit=MetricUnit.Count, value=1)
    result = {
        "workspace_id": login.workspace_id,
        "last_login_recorded": outcome.last_login_recorded,
        "resolved_incident": outcome.resolved_incident,
    }
    logger.info("login", extra=result)
    return result
