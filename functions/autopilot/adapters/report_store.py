"""The fleet report's storage: one read of the state table (a paginated, server-side filtered Scan) and the
rendered page in the report bucket (`reports/<yyyy-mm-dd>.html`, SSE-KMS with the stack key) with a presigned
GET link.

A presigned URL is valid for at most 7 days (SigV4's limit) and never longer than the credentials that signed
it: signed with a Lambda execution role's session credentials it stops working when that session expires
(hours, not days). The alert therefore also names the bucket key, to fetch the page by hand once the link has
expired (docs/runbook.md#fleet_report)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.config import Config

from autopilot.adapters.aws import RETRY_CONFIG, cached, translated
from autopilot.adapters.dynamodb import pages
from autopilot.adapters.state_snapshot import ALL_KINDS, Snapshot

LINK_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live


def scan_state(table: Any, kinds: Sequence[str] = ALL_KINDS, progress: Callable[[str], None] | None = None) -> Snapshot:
    """Every item of the given kinds (pk prefixes), in one paginated Scan filtered server-side."""
    conditions: list[Any] = [Attr("pk").begins_with(kind) for kind in kinds]
    snapshot = Snapshot()
    for number, page in enumerate(pages(table, "scan", FilterExpression=reduce(lambda a, b: a | b, conditions)), 1):
        for item in page["Items"]:
            snapshot.add(item)
        if progress is not None and number % 10 == 0:
            progress(f"reading the state table: {snapshot.items} items so far")
    return snapshot.finish()


class ReportStore:
    """Reports in S3: put a page, hand back a time-limited link to it."""

    def __init__(self, s3: Any, bucket: str, kms_key_id: str | None = None) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, html: str) -> None:
        """Store one page. A rerun on the same day replaces it (the bucket is versioned, nothing is lost)."""
        kwargs: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": key,
            "Body": html.encode("utf-8"),
            "ContentType": "text/html; charset=utf-8",
            "ServerSideEncryption": "aws:kms",
            "BucketKeyEnabled": True,
        }
        if self._kms_key_id:
            kwargs["SSEKMSKeyId"] = self._kms_key_id
        with translated("s3:PutObject"):
            self._s3.put_object(**kwargs)

    def link(self, key: str, seconds: int = LINK_SECONDS) -> str:
        """A presigned GET URL (signing is local: no API call)."""
        url: str = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=min(seconds, LINK_SECONDS)
        )
        return url


@cached
def signing_s3() -> Any:
    """An S3 client that signs with SigV4 (required to GET an SSE-KMS object through a presigned URL) against the
    regional endpoint."""
    config = RETRY_CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    return boto3.session.Session().client("s3", config=config)
