"""Port contract: reading roster files (adapters.feed_store.S3RosterFiles on moto's S3 and
fakes_onboarding.FakeFiles), the same cases for both (see test_port_contracts_desks.py for why these live in the
integration tier). What the feed ingest relies on: a file reads back as its text, the version asked for; a
file that is gone is refused with InvalidInput (the feed is rejected, never retried)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from autopilot.adapters.feed_store import S3RosterFiles
from autopilot.domain.kernel.errors import InvalidInput
from tests.support.contracts import port_fixture
from tests.unit.fakes_onboarding import FakeFiles


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._s3 = boto3.client("s3")
        self._s3.create_bucket(Bucket="feeds", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self._s3.put_bucket_versioning(Bucket="feeds", VersioningConfiguration={"Status": "Enabled"})
        self.port = S3RosterFiles(self._s3)

    def upload(self, key: str, text: str) -> str:
        return str(self._s3.put_object(Bucket="feeds", Key=key, Body=text.encode())["VersionId"])


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeFiles()
        self._versions = 0

    def upload(self, key: str, text: str) -> str:
        self._versions += 1
        version = f"v{self._versions}"
        self.port.files[("feeds", key, version)] = text
        self.port.files[("feeds", key, None)] = text  # the latest
        return version


files = port_fixture("files", {"moto": _Real, "fake-onboarding": _Fake})


def test_a_file_reads_back_at_the_version_asked(files: Any) -> None:
    first = files.upload("roster.csv", "employee_id,site\nE1,paris\n")
    files.upload("roster.csv", "employee_id,site\nE2,paris\n")
    assert files.port.read("feeds", "roster.csv", first) == "employee_id,site\nE1,paris\n"
    assert files.port.read("feeds", "roster.csv", None) == "employee_id,site\nE2,paris\n"


def test_a_file_that_is_gone_is_refused_as_invalid_input(files: Any) -> None:
    with pytest.raises(InvalidInput):
        files.port.read("feeds", "missing.csv", None)
