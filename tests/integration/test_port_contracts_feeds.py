"""Port contract: roster feed records (FeedStore on moto and fakes_onboarding.FakeFeeds), the same cases for
both (see test_port_contracts_desks.py for why these live in the integration tier). The feed hold relies on: a
feed recorded once, every update conditional on the version read, a missing feed read as None."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from autopilot.adapters.feed_store import FeedStore
from autopilot.domain.hr.feed_record import FeedRecord, FeedStatus
from autopilot.domain.kernel.errors import StaleUpdate
from tests.support.contracts import port_fixture, state_table
from tests.unit.fakes_onboarding import FakeFeeds

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


feeds = port_fixture("feeds", {"moto": lambda r: FeedStore(state_table(r)), "fake": lambda _: FakeFeeds()})


def _record(**changes: Any) -> FeedRecord:
    fields: dict[str, Any] = {
        "feed_id": "feed-1",
        "status": FeedStatus.PROCESSING,
        "bucket": "feeds",
        "key": "roster.csv",
        "version_id": "v1",
        "rejected_lines": [3, 7],
        "received_at": NOW,
    }
    return FeedRecord.model_validate(fields | changes)


def test_a_missing_feed_reads_as_none(feeds: Any) -> None:
    assert feeds.get("feed-unknown") is None


def test_a_feed_is_recorded_once_at_version_one(feeds: Any) -> None:
    stored = feeds.create(_record())
    assert stored.version == 1
    assert feeds.get("feed-1") == stored
    with pytest.raises(StaleUpdate):
        feeds.create(_record(status=FeedStatus.HELD))
    assert feeds.get("feed-1") == stored


def test_an_update_based_on_a_stale_read_is_refused(feeds: Any) -> None:
    first = feeds.create(_record())
    winner = feeds.save(first.model_copy(update={"status": FeedStatus.HELD, "hires": 4, "decided_at": NOW}))
    assert winner.version == 2
    with pytest.raises(StaleUpdate):
        feeds.save(first.model_copy(update={"status": FeedStatus.REJECTED}))
    assert feeds.get("feed-1") == winner


def test_saving_a_feed_that_was_never_recorded_is_refused(feeds: Any) -> None:
    with pytest.raises(StaleUpdate):
        feeds.save(_record(version=1))
    assert feeds.get("feed-1") is None
