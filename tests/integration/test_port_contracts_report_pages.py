"""Port contract: where the weekly report is kept (adapters.report_store.ReportStore on moto's S3 and
fakes_reporting.FakePages), the same cases for both (see test_port_contracts_desks.py for why these live in the
integration tier).

What reporting/weekly.py relies on: a page put is what its link serves, a rerun on the same key replaces it, and
the link says how long it lives, never more than SigV4's 7 days (X-Amz-Expires at most 604800 seconds: AWS CLI
reference, `aws s3 presign --expires-in`, "Maximum is 604800 seconds",
https://docs.aws.amazon.com/cli/latest/reference/s3/presign.html; S3 User Guide, "Download and upload objects with
presigned URLs", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from autopilot.adapters.report_store import LINK_SECONDS, ReportStore
from tests.support.contracts import port_fixture
from tests.unit.fakes_reporting import FakePages

BUCKET = "reports"
KEY = "reports/2026-12-07.html"


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.port = ReportStore(s3, BUCKET)

    def fetch(self, url: str) -> str | None:
        """What a browser given the link gets (moto answers the presigned GET)."""
        response = requests.get(url, timeout=10)
        return response.content.decode("utf-8") if response.status_code == 200 else None


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakePages()

    def fetch(self, url: str) -> str | None:
        return self.port.pages.get(urllib.parse.urlsplit(url).path.lstrip("/"))


pages = port_fixture("pages", {"moto": _Real, "fake-report": _Fake})


def _expires(url: str) -> int:
    [seconds] = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Expires"]
    return int(seconds)


def test_a_page_put_is_what_its_link_serves_and_a_rerun_replaces_it(pages: Any) -> None:
    pages.port.put(KEY, "<h1>Fleet — first</h1>")
    pages.port.put(KEY, "<h1>Fleet — rerun</h1>")
    link = pages.port.link(KEY)
    assert KEY in urllib.parse.unquote(link)
    assert pages.fetch(link) == "<h1>Fleet — rerun</h1>"


def test_a_link_to_a_page_never_put_serves_nothing(pages: Any) -> None:
    assert pages.fetch(pages.port.link("reports/2026-01-01.html")) is None


def test_a_link_lives_seven_days_at_most(pages: Any) -> None:
    pages.port.put(KEY, "<p>")
    assert _expires(pages.port.link(KEY)) == LINK_SECONDS == 604800
