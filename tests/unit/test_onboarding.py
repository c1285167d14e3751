"""Employee Hired decisions (domain/hr/onboarding.py) with in-memory fakes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from autopilot.contracts.hr import EmployeeHiredEvent
from autopilot.contracts.outputs import ProvisioningFailed
from autopilot.domain.hr.offboarding import handle_departure
from autopilot.domain.hr.onboarding import handle_hire, idempotency_request
from autopilot.domain.hr.schedule import TIMER_NAME_MAX, provision_due, timer_name
from autopilot.domain.kernel.desks import Departure, Desk, Lifecycle
from autopilot.domain.kernel.errors import UnknownSite
from tests.unit.fakes_onboarding import NOW, FakeDesks, World, departure, hire, policy, resolution

pytestmark = pytest.mark.usefixtures("socket_disabled")
T0 = NOW - dt.timedelta(minutes=1)


def _hire(world: World, event_time: dt.datetime = T0, now: dt.datetime = NOW, **changes: object) -> str:
    return handle_hire(
        hire(**changes),  # type: ignore[arg-type]
        event_time=event_time,
        policy=policy(),
        resolution=resolution(),
        ports=world.hr,
        now=now,
    ).action


def test_a_hire_records_a_scheduled_desk_decided_by_the_policy() -> None:
    world = World()

    assert _hire(world, department="call-center", site="amiens-cc") == "scheduled"

    desk = world.desks.get("e-1001")
    assert desk is not None
    assert (desk.lifecycle, desk.profile, desk.directory_id, desk.bundle_id) == (
        Lifecycle.SCHEDULED,
        "agent",
        "d-2222222222",
        "wsb-standard01",
    )
    assert (desk.running_mode, desk.compute, desk.autostop_hours, desk.prewarm) == ("AUTO_STOP", "STANDARD", 1, True)
    assert desk.email == "e-1001@example.com"  # kept until the welcome e-mail is sent


def test_the_provisioning_timer_is_at_7_local_lead_days_before_the_start() -> None:
    world = World()

    _hire(world)

    timer = world.timers.pending["provision-e-1001"]
    # 2026-12-10 minus 2 days, 07:00 in Paris (UTC+1 in December)
    assert timer.due == dt.datetime(2026, 12, 8, 6, 0, tzinfo=dt.UTC)
    assert (timer.kind, timer.employee_id) == ("provision", "e-1001")
    assert provision_due(dt.date(2026, 12, 10), 2, "Asia/Kolkata") == dt.datetime(2026, 12, 8, 1, 30, tzinfo=dt.UTC)


def test_a_hire_already_due_goes_straight_to_the_queue() -> None:
    world = World()

    _hire(world, start_date=dt.date(2026, 12, 2))

    assert world.timers.pending == {}
    assert [(t.name, t.due) for t in world.timers.fired] == [("provision-e-1001", NOW)]


def test_a_duplicate_hire_keeps_one_desk_and_sets_the_same_timer() -> None:
    world = World()
    _hire(world)

    assert _hire(world, event_time=T0 + dt.timedelta(seconds=5)) == "duplicate"
    assert _hire(world, event_time=T0) == "duplicate"

    assert list(world.desks.items) == ["e-1001"]
    assert list(world.timers.pending) == ["provision-e-1001"]
    assert world.bus.events == []


def test_a_concurrent_duplicate_that_loses_the_create_converges() -> None:
    class RacingDesks(FakeDesks):
        """The other delivery creates the desk between our read and our write."""

        def get_with_departure(self, employee_id: str) -> tuple[Desk | None, Departure | None]:
            other = World()
            _hire(other)
            self.items[employee_id] = other.desks.items[employee_id]
            return None, None

    world = World()
    world.desks = RacingDesks()

    assert _hire(world) == "duplicate"
    assert list(world.desks.items) == ["e-1001"]


def test_a_hire_with_an_unknown_site_is_refused_and_on_call_is_told() -> None:
    world = World()

    with pytest.raises(UnknownSite, match="site 'atlantis'"):
        _hire(world, site="atlantis")

    assert world.desks.items == {}
    [alert] = world.bus.of("Provisioning Failed")
    assert (alert.employee_id, alert.error_code) == ("e-1001", "UnknownSite")


def test_a_changed_hire_is_flagged_and_the_first_decision_stands() -> None:
    world = World()
    _hire(world)

    assert _hire(world, event_time=T0 + dt.timedelta(minutes=1), site="amiens-cc", username="someoneelse") == (
        "changed_payload"
    )

    desk = world.desks.get("e-1001")
    assert desk is not None
    assert (desk.site, desk.username) == ("paris-hq", "usere1001")
    [alert] = world.bus.of("Provisioning Failed")
    assert isinstance(alert, ProvisioningFailed)
    assert alert.error_code == "ChangedPayload"
    assert "site" in alert.reason
    assert "username" in alert.reason
    assert "someoneelse" not in alert.model_dump_json()
    assert "amiens" not in alert.reason


def test_a_hire_older_than_the_last_applied_event_is_ignored() -> None:
    world = World()
    _hire(world)
    desk = world.desks.items["e-1001"]
    world.desks.items["e-1001"] = desk.model_copy(
        update={"lifecycle": Lifecycle.LEAVING, "hr_event_time": T0 + dt.timedelta(hours=1)}
    )

    assert _hire(world, event_time=T0) == "stale"
    assert world.desks.items["e-1001"].lifecycle is Lifecycle.LEAVING


@pytest.mark.parametrize("leaving", [Lifecycle.LEAVING, Lifecycle.STOPPED])
def test_a_rehire_before_termination_keeps_the_desk(leaving: Lifecycle) -> None:
    world = World()
    _hire(world)
    desk = world.desks.items["e-1001"]
    world.desks.items["e-1001"] = desk.model_copy(
        update={"lifecycle": leaving, "workspace_id": "ws-0000000042", "last_day": dt.date(2026, 12, 20)}
    )

    assert _hire(world, event_time=T0 + dt.timedelta(days=1)) == "rehired"

    kept = world.desks.items["e-1001"]
    assert (kept.lifecycle, kept.workspace_id, kept.last_day) == (Lifecycle.READY, "ws-0000000042", None)
    assert {"stop-e-1001", "terminate-e-1001"} <= set(world.timers.cancelled)


def test_a_rehire_into_another_profile_keeps_the_desk_and_resizes_it() -> None:
    world = World()
    _hire(world)
    desk = world.desks.items["e-1001"]
    world.desks.items["e-1001"] = desk.model_copy(
        update={"lifecycle": Lifecycle.STOPPED, "workspace_id": "ws-0000000042", "last_day": dt.date(2026, 12, 20)}
    )

    _hire(world, event_time=T0 + dt.timedelta(days=1), role="analyst")

    assert world.desks.items["e-1001"].compute == "PERFORMANCE"
    assert [t.kind for t in world.timers.fired] == ["transfer"]


@pytest.mark.parametrize("gone", [Lifecycle.CANCELLED, Lifecycle.TERMINATED, Lifecycle.FAILED])
def test_a_hire_after_the_desk_is_gone_schedules_a_fresh_one(gone: Lifecycle) -> None:
    world = World()
    _hire(world)
    desk = world.desks.items["e-1001"]
    world.desks.items["e-1001"] = desk.model_copy(
        update={"lifecycle": gone, "workspace_id": "ws-0000000042", "email": None, "attempts": 3}
    )

    assert _hire(world, event_time=T0 + dt.timedelta(days=1), role="analyst") == "scheduled"

    fresh = world.desks.items["e-1001"]
    assert (fresh.lifecycle, fresh.workspace_id, fresh.attempts, fresh.profile) == (
        Lifecycle.SCHEDULED,
        None,
        0,
        "analyst",
    )
    assert fresh.email == "e-1001@example.com"


def test_the_same_hire_delivered_again_after_a_failure_does_not_start_over() -> None:
    world = World()
    _hire(world)
    desk = world.desks.items["e-1001"]
    world.desks.items["e-1001"] = desk.model_copy(update={"lifecycle": Lifecycle.FAILED})

    assert _hire(world, event_time=T0) == "duplicate"
    assert world.desks.items["e-1001"].lifecycle is Lifecycle.FAILED


def test_a_hire_cancels_a_departure_recorded_before_the_desk_was_made() -> None:
    world = World()
    _hire(world)
    desk = world.desks.items["e-1001"]
    world.desks.items["e-1001"] = desk.model_copy(update={"last_day": dt.date(2026, 12, 20)})

    assert _hire(world, event_time=T0 + dt.timedelta(days=1)) == "duplicate"

    assert world.desks.items["e-1001"].last_day is None
    assert "stop-e-1001" in world.timers.cancelled


# --- a departure that arrived before the hire (offboarding.handle_departure recorded it: the DEPARTED item) ------
PARIS_STOP = dt.time(22, 0)  # 23:00 in Paris in winter: the end of a last day
DEPARTED_AT = T0 - dt.timedelta(hours=1)


def _departed(world: World, last_day: dt.date, event_time: dt.datetime = DEPARTED_AT) -> None:
    handle_departure(
        departure(last_day=last_day), event_time=event_time, policy=policy(), ports=world.hr, now=event_time
    )


def test_a_hire_starting_after_a_recorded_departure_is_a_rehire_and_ignores_it() -> None:
    world = World()
    _departed(world, dt.date(2026, 12, 9))  # the day before the start date

    assert _hire(world) == "scheduled"

    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.last_day) == (Lifecycle.SCHEDULED, None)
    assert set(world.timers.pending) == {"provision-e-1001"}
    assert world.bus.events == []


@pytest.mark.parametrize("last_day", [dt.date(2026, 12, 10), dt.date(2026, 12, 20)])
def test_a_hire_whose_departure_came_first_gets_a_desk_that_ends_on_the_last_day(last_day: dt.date) -> None:
    world = World()
    _departed(world, last_day)  # the start date is 2026-12-10: the person works from then to the last day

    outcome = handle_hire(hire(), event_time=T0, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)

    stop_at = dt.datetime.combine(last_day, PARIS_STOP, tzinfo=dt.UTC)
    assert (outcome.action, outcome.detail["last_day"], outcome.detail["stop_at"]) == (
        "scheduled",
        last_day.isoformat(),
        stop_at.isoformat(),
    )
    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.last_day, desk.hr_event_time) == (Lifecycle.SCHEDULED, last_day, T0)
    assert set(world.timers.pending) == {"provision-e-1001", "stop-e-1001", "terminate-e-1001"}
    assert world.timers.pending["stop-e-1001"].due == stop_at
    assert world.timers.pending["terminate-e-1001"].due == stop_at + dt.timedelta(days=30)
    [event] = world.bus.of("Offboarding Scheduled")
    assert (event.stop_at, event.cancelled_provisioning) == (stop_at, False)
    assert world.desks.kinds("e-1001") == ["departure_recorded", "scheduled", "offboarding_scheduled"]


@pytest.mark.parametrize(
    ("departed_at", "answer"),
    [(T0 - dt.timedelta(hours=1), "duplicate"), (T0 + dt.timedelta(hours=1), "stale")],
    ids=["hr-sent-the-departure-first", "delivered-out-of-order"],
)
def test_the_same_hire_delivered_again_keeps_the_departure_that_came_first(
    departed_at: dt.datetime, answer: str
) -> None:
    world = World()
    _departed(world, dt.date(2026, 12, 20), event_time=departed_at)
    _hire(world)

    assert _hire(world) == answer

    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.last_day) == (Lifecycle.SCHEDULED, dt.date(2026, 12, 20))
    assert desk.hr_event_time == max(T0, departed_at)
    assert world.timers.cancelled == []
    assert {"stop-e-1001", "terminate-e-1001"} <= set(world.timers.pending)


@pytest.mark.parametrize(
    "now",
    [dt.datetime.combine(dt.date(2026, 11, 25), PARIS_STOP, tzinfo=dt.UTC), NOW],
    ids=["as-the-last-day-ends", "days-later"],
)
def test_a_hire_arriving_after_its_recorded_last_day_ended_gets_no_desk(now: dt.datetime) -> None:
    world = World()
    _departed(world, dt.date(2026, 11, 25), event_time=now - dt.timedelta(hours=2))

    assert _hire(world, event_time=now - dt.timedelta(minutes=1), now=now, start_date=dt.date(2026, 11, 20)) == (
        "cancelled"
    )

    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.last_day, desk.email) == (Lifecycle.CANCELLED, dt.date(2026, 11, 25), None)
    assert desk.hr_event_time == now - dt.timedelta(minutes=1)  # the hire's: a duplicate of it is recognised
    assert (world.timers.pending, world.timers.fired) == ({}, [])
    [event] = world.bus.of("Offboarding Scheduled")
    assert event.cancelled_provisioning is True
    assert world.desks.history("e-1001")[0]["kind"] == "cancelled"
    assert world.desks.history("e-1001")[0]["detail"] == {"reason": "departed before the hire arrived"}


def test_a_hire_arriving_just_before_its_recorded_last_day_ends_is_made_and_stopped_at_its_end() -> None:
    world = World()
    stop_at = dt.datetime.combine(dt.date(2026, 11, 25), PARIS_STOP, tzinfo=dt.UTC)
    now = stop_at - dt.timedelta(seconds=1)
    _departed(world, dt.date(2026, 11, 25), event_time=now - dt.timedelta(hours=2))

    assert _hire(world, event_time=now, now=now, start_date=dt.date(2026, 11, 20)) == "scheduled"

    assert world.desks.items["e-1001"].lifecycle is Lifecycle.SCHEDULED
    assert [timer.name for timer in world.timers.fired] == ["provision-e-1001"]  # due already
    assert world.timers.pending["stop-e-1001"].due == stop_at


def test_the_same_late_hire_of_someone_already_gone_delivered_again_creates_nothing() -> None:
    world = World()
    _departed(world, dt.date(2026, 11, 25))
    _hire(world, start_date=dt.date(2026, 11, 20))
    writes, published = world.desks.writes, len(world.bus.events)

    assert _hire(world, start_date=dt.date(2026, 11, 20)) == "duplicate"

    assert world.desks.items["e-1001"].lifecycle is Lifecycle.CANCELLED
    assert (world.desks.writes, len(world.bus.events)) == (writes, published)
    assert (world.timers.pending, world.timers.fired) == ({}, [])


def test_the_idempotency_request_holds_the_business_key_and_no_personal_data() -> None:
    event = hire()

    request = idempotency_request("Employee Hired", event)

    assert request["key"] == ["Employee Hired", "e-1001"]
    assert set(request["fields"]) == {"site", "department", "role", "username", "start_date"}
    text = json.dumps(request)
    assert "Ada" not in text
    assert "Lovelace" not in text
    assert "@example.com" not in text


def test_a_changed_departure_has_another_idempotency_key() -> None:
    from tests.unit.fakes_onboarding import departure

    first = idempotency_request("Employee Departed", departure(last_day=dt.date(2026, 12, 20)))
    second = idempotency_request("Employee Departed", departure(last_day=dt.date(2026, 12, 21)))

    assert first["key"][:2] == second["key"][:2] == ["Employee Departed", "e-1001"]
    assert first["key"] != second["key"]


def test_timer_names_fit_the_scheduler_limit() -> None:
    long_id = "e" * 64

    names = [timer_name("terminate", long_id), timer_name("transfer", long_id, "202612010500")]

    assert all(len(name) <= TIMER_NAME_MAX for name in names)
    assert len(set(names)) == 2
    assert timer_name("stop", "e-1001") == "stop-e-1001"


@pytest.mark.parametrize(
    "injected",
    [
        {"bundle_id": "wsb-evil000001"},
        {"directory_id": "d-9999999999"},
        {"running_mode": "ALWAYS_ON"},
        {"tags": {"ManagedBy": "someone-else"}},
        {"compute": "GRAPHICSPRO"},
    ],
)
def test_an_hr_event_cannot_choose_bundle_directory_running_mode_or_tags(injected: dict[str, object]) -> None:
    envelope = {
        "version": "0",
        "id": "1",
        "detail-type": "Employee Hired",
        "source": "hr.feed",
        "account": "123456789012",
        "time": "2026-12-01T08:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": json.loads(hire().model_dump_json()) | injected,
    }

    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        EmployeeHiredEvent.model_validate(envelope)


def test_events_of_a_dry_run_are_marked() -> None:
    from autopilot.domain.kernel.outbox import DryRunMarking
    from tests.unit.fakes_onboarding import FakeBus

    bus = FakeBus()
    failed = ProvisioningFailed(employee_id="e-1", error_code="X", reason="r", attempts=0)

    DryRunMarking(bus, dry_run=True).publish([failed])
    DryRunMarking(bus, dry_run=False).publish([failed])

    assert [event.dry_run for event in bus.events] == [True, False]
