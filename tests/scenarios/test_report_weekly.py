"""The weekly fleet report on the local cloud: on Monday at 07:00 UTC the report function's own schedule (from
template.yaml) stores the page in the report bucket (built from the template too) and on-call gets one `info`
alert with the link."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localcloud.scenario import open_world
from tests.scenarios.conftest import ROOT, SCENARIOS

pytestmark = pytest.mark.usefixtures("socket_disabled")  # everything runs in-process

KEY = "reports/2026-12-07.html"
SCENARIO = {
    "name": "weekly fleet report",
    "start": "2026-12-07T06:40:00Z",  # a Monday
    "policy": str((SCENARIOS / "policies" / "media_measurement.yaml").relative_to(ROOT)),
    "fleet": [
        {"user": "jdoe", "site": "paris-hq", "profile": "office"},
        {"count": 2, "user_prefix": "helpline", "site": "amiens-cc", "profile": "agent"},
    ],
    "steps": [{"advance": "15m"}],  # to 06:55: not yet; the test advances to 07:10
}


@pytest.fixture(scope="module")
def seen() -> Iterator[dict[str, Any]]:
    """The report at 06:55, then at 07:10 with the stored page, from one world."""
    with open_world(SCENARIO) as cloud:
        before = cloud.report()
        cloud.advance(dt.timedelta(minutes=15))
        after = cloud.report()
        bucket = str(cloud.physical("ReportBucket"))
        stored = boto3.client("s3").get_object(Bucket=bucket, Key=KEY)
        page = stored["Body"].read().decode("utf-8")
        yield {"before": before, "after": after, "bucket": bucket, "stored": stored, "page": page}


def _chat(alert: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(json.loads(alert["message"])["default"])
    return body


def _fleet_reports(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [alert for alert in report["alerts"] if alert["kind"] == "fleet_report"]


def test_no_report_before_the_monday_0700_schedule(seen: dict[str, Any]) -> None:
    assert _fleet_reports(seen["before"]) == []


def test_monday_0700_sends_one_info_alert_linking_the_stored_report(seen: dict[str, Any]) -> None:
    (alert,) = _fleet_reports(seen["after"])
    assert alert["severity"] == "info"
    chat = _chat(alert)
    context = chat["metadata"]["additionalContext"]
    assert (context["report_key"], context["desks"]) == (KEY, "3")
    assert context["url"].startswith(f"https://{seen['bucket']}.s3.")
    assert f"/{KEY}?" in context["url"]
    assert context["url"] in chat["content"]["description"]


def test_the_page_is_in_the_template_s_report_bucket_encrypted_with_kms(seen: dict[str, Any]) -> None:
    assert seen["bucket"].startswith("workspaces-autopilot-dev-reports-")
    assert seen["stored"]["ServerSideEncryption"] == "aws:kms"
    assert seen["page"].startswith("<!DOCTYPE html>")
    assert 'id="chart-states"' in seen["page"]


def test_the_report_is_published_once_at_0700(seen: dict[str, Any]) -> None:
    published = [
        entry["time"]
        for entry in seen["after"]["timeline"]
        if entry["kind"] == "event" and entry.get("detail_type") == "Fleet Report Published"
    ]
    assert published == ["2026-12-07T07:00:00Z"]
