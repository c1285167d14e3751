"""The weekly fleet report (ReportFunction, Monday 07:00 UTC): the same page as `autopilot report --html`, over
the last PERIOD_DAYS, stored as `reports/<yyyy-mm-dd>.html` and announced by a `Fleet Report Published` event
that notify turns into an `info` alert with the link (docs/runbook.md#fleet_report)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from autopilot.adapters.state_snapshot import Snapshot
from autopilot.contracts.outputs import FleetReportPublished
from autopilot.domain.kernel.outbox import DomainEventPublisher
from autopilot.domain.kernel.policy import Policy
from autopilot.reporting import data, page

PERIOD_DAYS = 30  # the CLI's default period: a month of trend, published every week


class ReportPages(Protocol):
    """Where reports are kept (adapters.report_store.ReportStore)."""

    def put(self, key: str, html: str) -> None: ...
    def link(self, key: str) -> str: ...


@dataclass(frozen=True)
class WeeklyPorts:
    pages: ReportPages
    bus: DomainEventPublisher


@dataclass(frozen=True)
class Published:
    report_key: str
    desks: int
    size_bytes: int


def report_key(day: dt.date) -> str:
    return f"reports/{day:%Y-%m-%d}.html"


def publish_weekly(
    policy: Policy, snapshot: Snapshot, ports: WeeklyPorts, *, now: dt.datetime, source: str
) -> Published:
    """Render the fleet report, store it, then publish where it is. A rerun the same day replaces the page and
    publishes again; notify's thread key (the report key) keeps that to one alert."""
    facts = data.build(snapshot, now=now, days=PERIOD_DAYS, unused_days=policy.usage.unused_days, source=source)
    html = page.render(facts)
    key = report_key(now.date())
    ports.pages.put(key, html)
    ports.bus.publish(
        [
            FleetReportPublished(
                report_key=key, url=ports.pages.link(key), desks=facts.desks_total, generated_at=now, dry_run=False
            )
        ]
    )
    return Published(report_key=key, desks=facts.desks_total, size_bytes=len(html.encode("utf-8")))
