"""adapters/dynamodb.batch_get, the BatchGetItem loop every store shares, against a scripted reader."""

from __future__ import annotations

from typing import Any

import pytest

from autopilot.adapters import dynamodb
from autopilot.adapters.dynamodb import batch_get
from autopilot.domain.kernel.errors import TransientAwsError

pytestmark = pytest.mark.usefixtures("socket_disabled")


class Reader:
    """Answers each BatchGetItem with the keys it asks for, leaving the first `unprocessed` rounds' last key out."""

    def __init__(self, unprocessed: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.unprocessed = unprocessed

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        keys = RequestItems["t"]["Keys"]
        if self.unprocessed:
            self.unprocessed -= 1
            return {"Responses": {"t": keys[:-1]}, "UnprocessedKeys": {"t": {**RequestItems["t"], "Keys": keys[-1:]}}}
        return {"Responses": {"t": list(keys)}}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamodb.time, "sleep", lambda _: None)


def test_keys_go_a_hundred_a_call_once_each_and_consistent_when_asked() -> None:
    reader = Reader()
    keys = [{"pk": f"K#{n}"} for n in range(150)] + [{"pk": "K#3"}]

    items = batch_get(reader, "t", keys, consistent=True)

    assert len(items) == 150
    assert [len(r["t"]["Keys"]) for r in reader.requests] == [100, 50]
    assert all(r["t"]["ConsistentRead"] for r in reader.requests)


def test_unprocessed_keys_are_asked_again_until_read() -> None:
    reader = Reader(unprocessed=2)

    items = batch_get(reader, "t", [{"pk": "A"}, {"pk": "B"}])

    assert sorted(item["pk"] for item in items) == ["A", "B"]
    assert len(reader.requests) == 3


def test_keys_left_unprocessed_for_good_are_a_transient_error() -> None:
    reader = Reader(unprocessed=dynamodb.UNPROCESSED_ATTEMPTS)

    with pytest.raises(TransientAwsError):
        batch_get(reader, "t", [{"pk": "A"}, {"pk": "B"}])
