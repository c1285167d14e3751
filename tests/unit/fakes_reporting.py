"""In-memory fake of the weekly report's page store (reporting/weekly.ReportPages), no network. Run against
adapters.report_store.ReportStore on moto's S3 by tests/integration/test_port_contracts_report_pages.py."""

from __future__ import annotations

from dataclasses import dataclass, field

LINK_SECONDS = 7 * 24 * 3600  # as ReportStore: the longest a SigV4 presigned URL may live


@dataclass
class FakePages:
    pages: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, html: str) -> None:
        self.pages[key] = html

    def link(self, key: str) -> str:
        return f"https://reports.example/{key}?X-Amz-Expires={LINK_SECONDS}"
