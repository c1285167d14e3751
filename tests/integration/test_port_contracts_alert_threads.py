"""Port contract: alert threads (AlertThreads on moto and fakes_remediation.FakeThreads), the same cases for both
(see test_port_contracts_desks.py for why these live in the integration tier). On-call relies on: a thread's
first key is `new`, a later one `update`, a key seen before `duplicate`; a released key is sent again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from autopilot.adapters.alert_threads import AlertThreads
from tests.support.contracts import port_fixture, state_table
from tests.unit.fakes_remediation import FakeThreads

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)


threads = port_fixture("threads", {"moto": lambda r: AlertThreads(state_table(r)), "fake": lambda _: FakeThreads()})


def test_a_thread_is_new_then_updated_and_a_repeat_is_a_duplicate(threads: Any) -> None:
    assert threads.claim("inc-1", "opened", NOW) == "new"
    assert threads.claim("inc-1", "opened", NOW) == "duplicate"
    assert threads.claim("inc-1", "resolved", NOW) == "update"
    assert threads.claim("inc-2", "opened", NOW) == "new"


def test_a_released_key_is_sent_again_and_the_others_stay(threads: Any) -> None:
    threads.claim("inc-1", "opened", NOW)
    threads.claim("inc-1", "escalated", NOW)
    threads.release("inc-1", "escalated")
    assert threads.claim("inc-1", "escalated", NOW) == "update"
    assert threads.claim("inc-1", "opened", NOW) == "duplicate"


def test_releasing_the_only_key_makes_the_next_one_new(threads: Any) -> None:
    threads.claim("inc-1", "opened", NOW)
    threads.release("inc-1", "opened")
    assert threads.claim("inc-1", "opened", NOW) == "new"


def test_releasing_on_an_unknown_thread_is_harmless(threads: Any) -> None:
    threads.release("inc-never", "opened")
    assert threads.claim("inc-never", "opened", NOW) == "new"
