"""Roster feeds: one record per roster file in the state table, and the files themselves in the feed bucket.

Keys: `pk=FEED#<feed_id>, sk=FEED` (status, S3 location, counts, rejected line numbers; no row content),
kept 400 days (`expires_at`). Writes are conditional: a new feed only once, an update only on the version read.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from autopilot.adapters.aws import translate, translated
from autopilot.domain.hr.feed_record import FeedRecord
from autopilot.domain.kernel.errors import InvalidInput, StaleUpdate

FEED_TTL = dt.timedelta(days=400)
MAX_ROSTER_BYTES = 50 * 1024 * 1024


def feed_key(feed_id: str) -> dict[str, str]:
    return {"pk": f"FEED#{feed_id}", "sk": "FEED"}


def _to_item(record: FeedRecord) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(record.model_dump_json(exclude_none=True))
    item.update(feed_key(record.feed_id))
    item["expires_at"] = int((record.received_at + FEED_TTL).timestamp())
    return item


def feed_from_item(item: dict[str, Any]) -> FeedRecord:
    fields = {key: value for key, value in item.items() if key not in ("pk", "sk", "expires_at")}
    for name in ("hires", "departures", "transfers", "version"):
        if name in fields:
            fields[name] = int(fields[name])
    fields["rejected_lines"] = [int(line) for line in fields.get("rejected_lines", [])]
    return FeedRecord.model_validate(fields)


_from_item = feed_from_item  # the store's own name for its item codec; reporting reads the public one


class FeedStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, feed_id: str) -> FeedRecord | None:
        with translated("dynamodb:GetItem"):
            item = self._table.get_item(Key=feed_key(feed_id), ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def create(self, record: FeedRecord) -> FeedRecord:
        stored = record.model_copy(update={"version": 1})
        self._put(stored, Attr("pk").not_exists(), f"feed {record.feed_id} already exists")
        return stored

    def save(self, record: FeedRecord) -> FeedRecord:
        stored = record.model_copy(update={"version": record.version + 1})
        self._put(stored, Attr("version").eq(record.version), f"feed {record.feed_id} changed meanwhile")
        return stored

    def _put(self, record: FeedRecord, condition: Any, refusal: str) -> None:
        try:
            self._table.put_item(Item=_to_item(record), ConditionExpression=condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleUpdate(refusal) from exc
            raise translate(exc, "dynamodb:PutItem") from exc


class S3RosterFiles:
    """Reads roster files from the feed bucket (a given version when the bucket is versioned)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, bucket: str, key: str, version_id: str | None) -> str:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            response = self._client.get_object(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "NoSuchVersion", "404"):
                raise InvalidInput(f"roster {key} is no longer in bucket {bucket}") from exc
            raise translate(exc, "s3:GetObject") from exc
        if int(response.get("ContentLength", 0)) > MAX_ROSTER_BYTES:
            raise InvalidInput(f"roster {key} is larger than {MAX_ROSTER_BYTES // (1024 * 1024)} MiB")
        body: bytes = response["Body"].read()
        try:
            return body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            # Most often Latin-1 / Windows-1252 (Excel's plain "CSV" in western locales): name the fix.
            raise InvalidInput(
                f"roster {key} is not UTF-8 text (offset {exc.start}: likely "
                'Latin-1 or Windows-1252); save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)") and upload '
                "it again"
            ) from exc
