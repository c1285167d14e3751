"""The DEPARTED item (a departure received before its employee had a desk) against moto: read with the desk in
ONE consistent Query, and the newest departure kept."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import boto3
import pytest

from autopilot.adapters.desk_store import DeskStore
from autopilot.domain.hr.onboarding import HrPorts, handle_hire
from autopilot.domain.kernel.desks import Departure, Desk, Lifecycle
from tests.support.aws import create_table_from_template
from tests.unit.fakes_onboarding import FakeBus, FakeTimers, hire, policy, resolution

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
LAST_DAY = dt.date(2026, 12, 20)


@pytest.fixture
def table(aws: None) -> Any:
    return create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")


@pytest.fixture
def requests(table: Any) -> Counter[str]:
    """DynamoDB requests made through the table, by operation (counted once the test starts)."""
    counted: Counter[str] = Counter()
    table.meta.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: counted.update([model.name]), unique_id="count-requests"
    )
    return counted


def _desk(**changes: Any) -> Desk:
    fields: dict[str, Any] = {
        "employee_id": "e-1001",
        "lifecycle": Lifecycle.SCHEDULED,
        "site": "paris-hq",
        "profile": "office",
        "directory_id": "d-1111111111",
        "bundle_id": "wsb-standard01",
        "username": "usere1001",
        "running_mode": "AUTO_STOP",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Desk.model_validate(fields | changes)


def _departure(last_day: dt.date = LAST_DAY, event_time: dt.datetime = NOW) -> Departure:
    return Departure("e-1001", last_day, event_time)


@pytest.mark.parametrize(
    ("has_desk", "has_departure"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["nothing", "desk", "departure", "both"],
)
def test_the_desk_and_its_departure_are_read_in_one_request(
    table: Any, requests: Counter[str], has_desk: bool, has_departure: bool
) -> None:
    store = DeskStore(table)
    desk = store.create(_desk()) if has_desk else None
    departure = _departure() if has_departure else None
    if departure is not None:
        store.record_departure(departure)
    store.record_event("e-1001", at=NOW, kind="scheduled", detail={})  # history shares the partition: not read
    requests.clear()

    assert store.get_with_departure("e-1001") == (desk, departure)
    assert requests == {"Query": 1}


def test_an_older_departure_does_not_replace_a_newer_one(table: Any) -> None:
    store = DeskStore(table)
    store.record_departure(_departure(dt.date(2026, 12, 24), NOW + dt.timedelta(seconds=1)))

    store.record_departure(_departure(dt.date(2026, 12, 20), NOW))  # sent earlier, delivered later
    store.record_departure(_departure(dt.date(2026, 12, 22), NOW + dt.timedelta(seconds=1)))  # same time: kept
    paris = dt.timezone(dt.timedelta(hours=1))
    store.record_departure(_departure(dt.date(2026, 12, 23), NOW.astimezone(paris)))  # 09:00+01:00 is still older

    assert store.get_with_departure("e-1001")[1] == _departure(dt.date(2026, 12, 24), NOW + dt.timedelta(seconds=1))


def test_a_newer_departure_replaces_the_recorded_one_and_expires_like_the_history(table: Any) -> None:
    store = DeskStore(table)
    store.record_departure(_departure(dt.date(2026, 12, 24), NOW))
    newer = NOW + dt.timedelta(microseconds=1)

    store.record_departure(_departure(dt.date(2026, 12, 31), newer))

    assert store.get_with_departure("e-1001")[1] == _departure(dt.date(2026, 12, 31), newer)
    item = table.get_item(Key={"pk": "DESK#e-1001", "sk": "DEPARTED"})["Item"]
    assert item["expires_at"] == int((newer + dt.timedelta(days=400)).timestamp())


def test_a_hire_reads_the_desk_and_its_departure_in_one_request(table: Any, requests: Counter[str]) -> None:
    store = DeskStore(table)
    store.record_departure(_departure())
    requests.clear()

    outcome = handle_hire(
        hire(),
        event_time=NOW,
        policy=policy(),
        resolution=resolution(),
        ports=HrPorts(desks=store, bus=FakeBus(), timers=FakeTimers()),
        now=NOW,
    )

    assert (outcome.action, outcome.detail["last_day"]) == ("scheduled", LAST_DAY.isoformat())
    assert (requests["Query"], requests["GetItem"]) == (1, 0)  # the hire's only read
    assert store.get("e-1001").last_day == LAST_DAY  # type: ignore[union-attr]
