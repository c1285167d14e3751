"""The weekly fleet report, pure: what is stored under which key, what is published, how the alert reads, and
the desks-by-profile gauge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from autopilot.adapters.state_snapshot import Snapshot
from autopilot.contracts.outputs import FleetReportPublished
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.oncall import alerts
from autopilot.reporting import gauges, weekly
from tests.unit.fakes_bus import FakeBus
from tests.unit.fakes_fleet import policy

MONDAY = dt.datetime(2026, 12, 7, 7, 0, tzinfo=dt.UTC)
LINKS = alerts.Links(region="eu-west-1", account="123456789012")


@dataclass
class FakePages:
    pages: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, html: str) -> None:
        self.pages[key] = html

    def link(self, key: str) -> str:
        return f"https://reports.example/{key}?X-Amz-Expires=604800"


def desk(employee_id: str, profile: str, lifecycle: Lifecycle = Lifecycle.READY) -> Desk:
    return Desk(
        employee_id=employee_id,
        username=f"user-{employee_id}",
        site="amiens-cc",
        profile=profile,
        directory_id="d-1234567890",
        bundle_id="wsb-12345678",
        running_mode="AUTO_STOP",
        lifecycle=lifecycle,
        workspace_id=f"ws-{employee_id.lower()}",
        created_at=MONDAY - dt.timedelta(days=3),
        updated_at=MONDAY - dt.timedelta(days=3),
    )


def test_the_report_is_stored_under_the_day_and_its_link_is_published() -> None:
    pages, bus = FakePages(), FakeBus()
    snapshot = Snapshot(desks=[desk("E1", "agent"), desk("E2", "office")])

    published = weekly.publish_weekly(
        policy(), snapshot, weekly.WeeklyPorts(pages=pages, bus=bus), now=MONDAY, source="stage test"
    )

    assert list(pages.pages) == ["reports/2026-12-07.html"]
    assert pages.pages["reports/2026-12-07.html"].startswith("<!DOCTYPE html>")
    (event,) = bus.events
    assert isinstance(event, FleetReportPublished)
    assert (event.report_key, event.desks, event.generated_at) == ("reports/2026-12-07.html", 2, MONDAY)
    assert event.url == "https://reports.example/reports/2026-12-07.html?X-Amz-Expires=604800"
    assert published.size_bytes == len(pages.pages["reports/2026-12-07.html"].encode())


def test_the_alert_is_info_links_the_report_and_threads_by_day() -> None:
    event = FleetReportPublished(
        report_key="reports/2026-12-07.html", url="https://reports.example/r.html?sig=1", desks=2, generated_at=MONDAY
    )

    alert = alerts.alert_for_event(event, MONDAY, incidents=_NoIncidents(), links=LINKS)

    assert (alert.kind, alert.severity) == ("fleet_report", "info")
    assert "(https://reports.example/r.html?sig=1)" in alert.description
    assert alert.thread_id == "fleet-report-2026-12-07"
    assert alert.key == "reports/2026-12-07.html"
    assert "docs/runbook.md#fleet_report" in " ".join(alert.next_steps)


class _NoIncidents:
    def get(self, incident_id: str) -> None:
        return None


@dataclass
class FakeIndex:
    desks: list[Desk]
    asked: list[Lifecycle] = field(default_factory=list)

    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterable[Desk]:
        self.asked.append(lifecycle)
        return [d for d in self.desks if d.lifecycle == lifecycle]


def test_desks_by_profile_counts_live_desks_and_reports_empty_profiles_at_zero() -> None:
    index = FakeIndex(
        [
            desk("E1", "agent"),
            desk("E2", "agent", Lifecycle.PROVISIONING),
            desk("E3", "office", Lifecycle.TERMINATED),
            desk("E4", "office", Lifecycle.CANCELLED),
        ]
    )

    counts = gauges.desks_by_profile(policy(), index)

    assert counts == {"agent": 2, "datasci": 0, "office": 0, "test": 0}
    assert Lifecycle.TERMINATED not in index.asked  # over desks are never read
