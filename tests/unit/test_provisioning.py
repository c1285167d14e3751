"""Provisioning batches (domain/hr/provisioning.py) with in-memory fakes."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.onboarding import handle_hire
from autopilot.domain.hr.plan import ProvisionWork
from autopilot.domain.hr.provision_pass import CHECK_DELAY, FIRST_CHECK_DELAY, LEASE, MAX_DELAY
from autopilot.domain.hr.provisioning import provision_batch
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from tests.unit.fakes_onboarding import NOW, World, hire, policy, resolution

MANAGED = {"ManagedBy": "workspaces-autopilot"}

pytestmark = pytest.mark.usefixtures("socket_disabled")

PEOPLE = [
    ("e-1", {"department": "call-center", "site": "amiens-cc"}),
    ("e-2", {"role": "data-scientist"}),
    ("e-3", {"role": "team-lead", "site": "mumbai"}),
    ("e-4", {}),
]


def _schedule(world: World, employee_id: str, **changes: object) -> None:
    handle_hire(
        hire(employee_id, **changes),
        event_time=NOW,
        policy=policy(),
        resolution=resolution(),
        ports=world.hr,
        now=NOW,
    )


def _work(*employee_ids: str) -> list[ProvisionWork]:
    return [
        ProvisionWork(
            f"m-{employee_id}",
            TimerFired(kind="provision", name=f"provision-{employee_id}", due=NOW, employee_id=employee_id),
        )
        for employee_id in employee_ids
    ]


def _run(world: World, *employee_ids: str, now: dt.datetime = NOW, **overrides: object) -> BatchResult:
    return provision_batch(_work(*employee_ids), policy=policy(**overrides), ports=world.provision, now=now)


def test_a_batch_is_one_create_call_with_each_profile_s_settings() -> None:
    world = World()
    for employee_id, changes in PEOPLE:
        _schedule(world, employee_id, **changes)

    result = _run(world, *[employee_id for employee_id, _ in PEOPLE])

    assert result.failed == []
    assert world.fleet.calls["CreateWorkspaces"] == 1
    specs = {spec.key: spec for spec in world.fleet.created_specs}
    assert (specs["e-1"].directory_id, specs["e-1"].bundle_id, specs["e-1"].compute) == (
        "d-2222222222",
        "wsb-standard01",
        "STANDARD",
    )
    assert (specs["e-1"].running_mode, specs["e-1"].autostop_minutes) == ("AUTO_STOP", 60)
    assert (specs["e-2"].bundle_id, specs["e-2"].compute, specs["e-2"].autostop_minutes) == (
        "wsb-powerbndl1",
        "POWER",
        240,
    )
    assert (specs["e-3"].running_mode, specs["e-3"].autostop_minutes) == ("ALWAYS_ON", None)
    assert specs["e-4"].autostop_minutes == 120
    assert specs["e-2"].tags == {
        "ManagedBy": "workspaces-autopilot",
        "CostCenter": "it",
        "AutopilotEmployeeId": "e-2",
        "AutopilotProfile": "datasci",
    }
    for employee_id, _ in PEOPLE:
        desk = world.desks.get(employee_id)
        assert desk is not None
        assert desk.lifecycle is Lifecycle.PROVISIONING
        assert desk.workspace_id
        assert desk.origin == "created"
    assert {delay for delay, _ in world.requeue.sent} == {FIRST_CHECK_DELAY}


def test_thirty_hires_are_two_create_calls() -> None:
    world = World()
    ids = [f"e-{n}" for n in range(30)]
    for employee_id in ids:
        _schedule(world, employee_id)

    _run(world, *ids)

    assert world.fleet.calls["CreateWorkspaces"] == 2
    assert len(world.fleet.live()) == 30


def test_a_desk_that_already_exists_is_recorded_not_created_and_not_announced() -> None:
    world = World()
    _schedule(world, "e-1")
    existing = world.fleet.seed("d-1111111111", "usere1")

    result = _run(world, "e-1")

    # A first attempt does not look first: CreateWorkspaces answers ResourceExists.WorkSpace, then the desk is
    # looked up and taken over as it is (not ours).
    assert world.fleet.calls["CreateWorkspaces"] == 1
    assert len(world.fleet.live()) == 1
    desk = world.desks.get("e-1")
    assert desk is not None
    # Untagged: recorded, never stopped or terminated (origin found); the user already has it: no e-mail.
    assert (desk.workspace_id, desk.origin, desk.lifecycle) == (existing, "found", Lifecycle.READY)
    assert world.mailer.sent == []
    assert world.bus.of("WorkSpace Ready") == []
    assert [d.action for d in result.decisions] == ["adopted", "taken_over"]


def test_an_existing_managed_desk_is_adopted_as_it_is_without_any_message_to_the_user() -> None:
    world = World()
    _schedule(world, "e-1")
    existing = world.fleet.seed(
        "d-1111111111", "usere1", running_mode="AUTO_STOP", autostop_minutes=180, compute="POWER", tags=dict(MANAGED)
    )

    _run(world, "e-1")

    desk = world.desks.get("e-1")
    assert desk is not None
    assert (desk.workspace_id, desk.origin, desk.lifecycle) == (existing, "adopted", Lifecycle.READY)
    assert (desk.running_mode, desk.autostop_hours, desk.compute, desk.email) == ("AUTO_STOP", 3, "POWER", None)
    assert world.mailer.sent == []
    assert world.bus.events == []
    assert world.fleet.calls["ModifyWorkspaceProperties"] == 0


def test_a_hire_replaces_the_record_fleet_watch_made_before_hr_named_the_user() -> None:
    # Sweep first: fleet_watch adopted the desk under its workspace id; then the roster names its user.
    world = World()
    existing = world.fleet.seed("d-1111111111", "usere1", tags=dict(MANAGED))
    unnamed = world.desks.create(
        Desk.model_validate(
            {
                "employee_id": existing,
                "lifecycle": Lifecycle.READY,
                "site": "paris-hq",
                "profile": "office",
                "directory_id": "d-1111111111",
                "bundle_id": "wsb-standard01",
                "username": "usere1",
                "running_mode": "AUTO_STOP",
                "workspace_id": existing,
                "origin": "adopted",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    )
    world.owners.owner[existing] = unnamed.employee_id
    _schedule(world, "e-1")

    _run(world, "e-1")

    assert sorted(world.desks.items) == ["e-1"]  # one record per WorkSpace
    desk = world.desks.items["e-1"]
    assert (desk.workspace_id, desk.origin, desk.lifecycle) == (existing, "adopted", Lifecycle.READY)
    assert world.owners.owner[existing] == "e-1"
    assert world.mailer.sent == []
    assert "merged" in world.desks.kinds("e-1")


def test_a_desk_recorded_for_another_employee_is_not_taken_over() -> None:
    world = World()
    existing = world.fleet.seed("d-1111111111", "usere1", tags=dict(MANAGED))
    _schedule(world, "e-2", username="usere1")
    _schedule(world, "e-1")
    other = world.desks.items["e-2"]
    world.desks.items["e-2"] = other.model_copy(update={"lifecycle": Lifecycle.READY, "workspace_id": existing})

    _run(world, "e-1")

    assert world.desks.items["e-1"].lifecycle is Lifecycle.FAILED
    assert world.desks.items["e-2"].workspace_id == existing
    assert [e.error_code for e in world.bus.of("Provisioning Failed")] == ["WorkSpaceOfAnotherEmployee"]


def test_a_replay_after_a_crash_between_create_and_the_state_write_adopts_the_desk() -> None:
    world = World()
    _schedule(world, "e-1")

    class Crash(BaseException):
        pass

    original = world.desks.save

    def crash_after_create(desk):  # type: ignore[no-untyped-def]
        if desk.lifecycle is Lifecycle.PROVISIONING:
            raise Crash
        return original(desk)

    world.desks.save = crash_after_create  # type: ignore[method-assign]
    with pytest.raises(Crash):
        _run(world, "e-1")
    world.desks.save = original  # type: ignore[method-assign]
    assert len(world.fleet.live()) == 1

    # SQS redelivers after its visibility timeout (6 minutes), when the lease (5 minutes) is over.
    _run(world, "e-1", now=NOW + dt.timedelta(minutes=6))

    assert world.fleet.calls["CreateWorkspaces"] == 1
    assert len(world.fleet.live()) == 1
    desk = world.desks.get("e-1")
    assert desk is not None
    assert desk.origin == "created"
    assert desk.workspace_id == world.fleet.live()[0].workspace_id


def test_a_first_attempt_makes_no_describe_by_user_and_a_retry_does() -> None:
    world = World()
    ids = [f"e-{n}" for n in range(3)]
    for employee_id in ids:
        _schedule(world, employee_id)
    world.fleet.throttle["CreateWorkspaces"] = 1  # the first pass's create fails as a whole: unknown outcome

    first = _run(world, *ids)

    assert world.fleet.by_user == 0  # no create was ever attempted for them: nothing to reconcile
    assert sorted(first.failed) == [f"m-{employee_id}" for employee_id in ids]
    for employee_id in ids:
        desk = world.desks.get(employee_id)
        assert desk is not None
        assert desk.origin == "created"

    _run(world, *ids, now=NOW + dt.timedelta(minutes=6))  # SQS redelivers once the lease is over

    assert world.fleet.by_user == 3  # a create was attempted: each is reconciled before creating again
    assert world.fleet.calls["CreateWorkspaces"] == 2
    assert len(world.fleet.live()) == 3


def test_a_create_refused_by_iam_fails_once_with_its_code_and_is_not_redelivered() -> None:
    world = World()
    _schedule(world, "e-1")
    world.fleet.refuse["CreateWorkspaces"] = "AccessDeniedException"

    result = _run(world, "e-1")

    assert result.failed == []  # not redelivered: retrying cannot help
    assert world.requeue.sent == []
    desk = world.desks.get("e-1")
    assert desk is not None
    assert (desk.lifecycle, desk.last_error) == (Lifecycle.FAILED, "AccessDeniedException")
    [failed] = world.bus.of("Provisioning Failed")
    assert failed.error_code == "AccessDeniedException"
    assert "workspaces:CreateWorkspaces" in failed.reason
    assert "template.yaml" in failed.reason


def test_a_reconcile_refused_by_iam_fails_once_and_a_throttled_one_is_redelivered() -> None:
    world = World()
    for employee_id in ("e-1", "e-2"):
        _schedule(world, employee_id)
        world.desks.items[employee_id] = world.desks.items[employee_id].model_copy(update={"origin": "created"})
    world.fleet.refuse["DescribeWorkspaces"] = "AccessDeniedException"

    refused = _run(world, "e-1")

    assert refused.failed == []
    assert world.desks.items["e-1"].lifecycle is Lifecycle.FAILED
    [failed] = world.bus.of("Provisioning Failed")
    assert "workspaces:DescribeWorkspaces" in failed.reason

    del world.fleet.refuse["DescribeWorkspaces"]
    world.fleet.throttle["DescribeWorkspaces"] = 1

    throttled = _run(world, "e-2")

    assert throttled.failed == ["m-e-2"]  # transient: SQS redelivers it
    assert world.desks.items["e-2"].lifecycle is Lifecycle.SCHEDULED


def test_a_pass_holding_the_lease_is_left_alone() -> None:
    world = World()
    _schedule(world, "e-1")
    desk = world.desks.items["e-1"]
    world.desks.items["e-1"] = desk.model_copy(update={"provisioning_started_at": NOW - LEASE / 2})

    result = _run(world, "e-1")

    assert world.fleet.calls == {}
    assert result.failed == []
    assert [d.action for d in result.decisions] == ["in_flight_elsewhere"]


def test_two_concurrent_passes_create_one_desk() -> None:
    world = World()
    _schedule(world, "e-1")
    world.desks.fail_next_save = 1  # the other pass wrote its lease first

    result = _run(world, "e-1")

    assert [d.action for d in result.decisions] == ["lost_race"]
    assert world.fleet.calls.get("CreateWorkspaces", 0) == 0


def test_duplicate_messages_in_one_batch_are_one_desk() -> None:
    world = World()
    _schedule(world, "e-1")

    result = _run(world, "e-1", "e-1", "e-1")

    assert len(world.fleet.live()) == 1
    assert result.failed == []


def test_failed_requests_are_retried_with_backoff_then_fail_with_the_aws_code() -> None:
    world = World()
    _schedule(world, "e-1")
    world.fleet.create_failures["usere1"] = ["InternalError"] * 5
    delays = []

    for minutes in (0, 10, 20):
        _run(world, "e-1", now=NOW + dt.timedelta(minutes=minutes))
        delays += [delay for delay, _ in world.requeue.take()]

    assert delays == [60, 120]  # then the third failure is the last (max_create_attempts: 3)
    desk = world.desks.get("e-1")
    assert desk is not None
    assert (desk.lifecycle, desk.attempts, desk.last_error) == (
        Lifecycle.FAILED,
        3,
        "InternalError",
    )
    [alert] = world.bus.of("Provisioning Failed")
    assert (alert.error_code, alert.attempts) == ("InternalError", 3)
    assert desk.email is None
    assert "usere1" not in alert.reason
    assert "boom" not in alert.reason


def test_a_user_not_yet_in_the_directory_is_retried_until_the_start_date() -> None:
    world = World()
    _schedule(world, "e-1")  # starts 2026-12-10 in Paris
    world.fleet.missing_users.add("usere1")

    _run(world, "e-1")

    [(delay, retry)] = world.requeue.take()
    assert (delay, retry.due) == (MAX_DELAY, NOW + dt.timedelta(hours=1))  # an hour: several hops
    desk = world.desks.get("e-1")
    assert desk is not None
    assert (desk.lifecycle, desk.attempts, desk.provisioning_started_at) == (
        Lifecycle.SCHEDULED,
        0,
        None,
    )

    _run(world, "e-1", now=dt.datetime(2026, 12, 10, 22, 59, tzinfo=dt.UTC))  # 23:59 in Paris: still the day
    assert world.desks.items["e-1"].lifecycle is Lifecycle.SCHEDULED

    _run(world, "e-1", now=dt.datetime(2026, 12, 10, 23, 0, tzinfo=dt.UTC))
    assert world.desks.items["e-1"].lifecycle is Lifecycle.FAILED
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "ResourceNotFound.User"


def test_a_wait_longer_than_sqs_allows_hops_without_calling_aws() -> None:
    world = World()
    _schedule(world, "e-1")
    later = TimerFired(kind="provision", name="retry-e-1", due=NOW + dt.timedelta(minutes=40), employee_id="e-1")

    provision_batch([ProvisionWork("m-1", later)], policy=policy(), ports=world.provision, now=NOW)

    assert world.fleet.calls == {}
    assert world.requeue.take() == [(MAX_DELAY, later)]


def test_a_user_who_appears_in_the_directory_gets_the_desk() -> None:
    world = World()
    _schedule(world, "e-1")
    world.fleet.missing_users.add("usere1")
    _run(world, "e-1")
    world.fleet.missing_users.clear()

    _run(world, "e-1", now=NOW + dt.timedelta(hours=1))

    assert world.desks.items["e-1"].lifecycle is Lifecycle.PROVISIONING


def test_a_throttled_create_is_redelivered_and_nothing_is_lost() -> None:
    world = World()
    _schedule(world, "e-1")
    _schedule(world, "e-2")
    world.fleet.throttle["CreateWorkspaces"] = 1

    result = _run(world, "e-1", "e-2")

    assert sorted(result.failed) == ["m-e-1", "m-e-2"]
    assert world.fleet.live() == []

    again = _run(world, "e-1", "e-2", now=NOW + dt.timedelta(minutes=6))

    assert again.failed == []
    assert len(world.fleet.live()) == 2


def test_a_new_desk_becomes_ready_with_a_welcome_email_and_the_address_is_erased() -> None:
    world = World()
    _schedule(world, "e-1")
    _run(world, "e-1")
    [workspace] = world.fleet.live()

    _run(world, "e-1", now=NOW + dt.timedelta(minutes=15))  # still PENDING
    assert [delay for delay, _ in world.requeue.take()] == [FIRST_CHECK_DELAY, CHECK_DELAY]
    workspace.state = "AVAILABLE"
    _run(world, "e-1", now=NOW + dt.timedelta(minutes=20))

    desk = world.desks.get("e-1")
    assert desk is not None
    assert (desk.lifecycle, desk.email) == (Lifecycle.READY, None)
    [(sender, message)] = world.mailer.sent
    assert (sender, message.to) == ("it@example.com", "e-1001@example.com".replace("1001", "1"))
    assert "REG+1111" in message.text
    assert "usere1" in message.text
    assert "clients.amazonworkspaces.com" in message.text
    [ready] = world.bus.of("WorkSpace Ready")
    assert (ready.workspace_id, ready.employee_id, ready.provisioning_seconds) == (workspace.workspace_id, "e-1", 1200)


def test_the_readiness_checks_of_a_batch_are_one_describe_call() -> None:
    world = World()
    ids = [f"e-{n}" for n in range(10)]
    for employee_id in ids:
        _schedule(world, employee_id)
    _run(world, *ids)
    world.fleet.calls.clear()

    _run(world, *ids, now=NOW + dt.timedelta(minutes=15))

    assert dict(world.fleet.calls) == {"DescribeWorkspaces": 1}


def test_a_pass_reads_publishes_and_audits_its_desks_in_one_request_each() -> None:
    world = World()
    ids = [f"e-{n}" for n in range(25)]
    for employee_id in ids:
        _schedule(world, employee_id)
    _run(world, *ids)
    for workspace in world.fleet.live():
        workspace.state = "AVAILABLE"
    writes, batch_reads, batch_writes = world.desks.writes, world.desks.batch_reads, world.desks.batch_writes

    result = _run(world, *ids, now=NOW + dt.timedelta(minutes=20))

    assert result.failed == []
    assert (world.bus.publishes, len(world.bus.of("WorkSpace Ready"))) == (1, 25)
    assert (world.desks.batch_reads - batch_reads, world.desks.batch_writes - batch_writes) == (1, 1)
    assert world.desks.writes - writes == 25  # the conditional READY writes, one per desk
    assert all(desk.lifecycle is Lifecycle.READY for desk in world.desks.items.values())


def test_a_desk_changed_before_its_ready_write_is_redelivered_after_the_event() -> None:
    world = World()
    _schedule(world, "e-1")
    _run(world, "e-1")
    [workspace] = world.fleet.live()
    workspace.state = "AVAILABLE"
    world.desks.fail_next_save = 1

    result = _run(world, "e-1", now=NOW + dt.timedelta(minutes=20))

    assert result.failed == ["m-e-1"]
    assert len(world.bus.of("WorkSpace Ready")) == 1  # published first: a redelivery may repeat it, never lose it
    desk = world.desks.get("e-1")
    assert desk is not None
    assert desk.lifecycle is Lifecycle.PROVISIONING


def test_a_desk_not_available_after_two_hours_fails_with_an_alert() -> None:
    world = World()
    _schedule(world, "e-1")
    _run(world, "e-1")

    _run(world, "e-1", now=NOW + dt.timedelta(hours=2))

    assert world.desks.items["e-1"].lifecycle is Lifecycle.FAILED
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "ReadinessTimeout"


def test_a_desk_in_error_fails_with_an_alert() -> None:
    world = World()
    _schedule(world, "e-1")
    _run(world, "e-1")
    world.fleet.live()[0].state = "ERROR"

    _run(world, "e-1", now=NOW + dt.timedelta(minutes=15))

    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "WorkspaceState.ERROR"


def test_a_refused_welcome_email_still_makes_the_desk_ready_and_tells_on_call() -> None:
    world = World()
    _schedule(world, "e-1")
    _run(world, "e-1")
    world.fleet.live()[0].state = "AVAILABLE"
    world.mailer.refuse = "MessageRejected"

    _run(world, "e-1", now=NOW + dt.timedelta(minutes=15))

    assert world.desks.items["e-1"].lifecycle is Lifecycle.READY
    assert world.desks.items["e-1"].email is None
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "WelcomeEmail.MessageRejected"


def test_a_throttled_welcome_email_is_retried_by_redelivery() -> None:
    world = World()
    _schedule(world, "e-1")
    _run(world, "e-1")
    world.fleet.live()[0].state = "AVAILABLE"
    world.mailer.throttle = 1

    result = _run(world, "e-1", now=NOW + dt.timedelta(minutes=15))

    assert result.failed == ["m-e-1"]
    assert world.desks.items["e-1"].lifecycle is Lifecycle.PROVISIONING
    _run(world, "e-1", now=NOW + dt.timedelta(minutes=21))
    assert world.desks.items["e-1"].lifecycle is Lifecycle.READY
    assert len(world.mailer.sent) == 1


def test_dry_run_reports_a_create_once_and_looks_again_later() -> None:
    world = World()
    _schedule(world, "e-1")

    result = _run(world, "e-1", dry_run=True)
    again = _run(world, "e-1", now=NOW + dt.timedelta(minutes=15), dry_run=True)

    assert world.fleet.calls == {"DescribeWorkspaces": 2}  # read-only look-ups, nothing created
    assert [d.action for d in result.decisions + again.decisions] == ["dry_run_create", "dry_run_create"]
    assert world.desks.items["e-1"].lifecycle is Lifecycle.SCHEDULED
    assert world.desks.kinds("e-1").count("dry_run") == 1  # reported once
    assert [delay for delay, _ in world.requeue.sent] == [900, 900]  # still asked: live creates it


def test_switching_dry_run_off_creates_the_desk_the_dry_run_reported() -> None:
    world = World()
    _schedule(world, "e-1")
    _run(world, "e-1", dry_run=True)

    result = _run(world, "e-1", now=NOW + dt.timedelta(minutes=15))

    assert [d.action for d in result.decisions] == ["created"]
    assert world.desks.items["e-1"].last_error is None


def test_dry_run_takes_an_existing_desk_over_it_changes_no_desk() -> None:
    world = World()
    _schedule(world, "e-1")
    existing = world.fleet.seed("d-1111111111", "usere1", tags=dict(MANAGED))

    _run(world, "e-1", dry_run=True)

    desk = world.desks.items["e-1"]
    assert (desk.workspace_id, desk.origin, desk.lifecycle) == (existing, "adopted", Lifecycle.READY)
    assert world.mailer.sent == []


def test_a_cancelled_desk_is_not_created() -> None:
    world = World()
    _schedule(world, "e-1")
    desk = world.desks.items["e-1"]
    world.desks.items["e-1"] = desk.model_copy(update={"lifecycle": Lifecycle.CANCELLED})

    result = _run(world, "e-1")

    assert world.fleet.calls == {}
    assert [d.action for d in result.decisions] == ["nothing_to_do"]


def test_an_unreadable_message_is_reported_failed() -> None:
    world = World()

    result = provision_batch(
        [ProvisionWork("m-bad", None, "detail.kind: bad")], policy=policy(), ports=world.provision, now=NOW
    )

    assert result.as_batch_response() == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}


def test_a_desk_changed_during_the_create_is_redelivered_not_lost() -> None:
    world = World()
    _schedule(world, "e-1")
    original = world.desks.save
    calls = {"n": 0}

    def second_save_loses(desk):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise StaleUpdate("a departure wrote first")
        return original(desk)

    world.desks.save = second_save_loses  # type: ignore[method-assign]

    result = _run(world, "e-1")

    assert result.failed == ["m-e-1"]
