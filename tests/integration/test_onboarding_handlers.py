"""The onboarding handlers and adapters against moto and the WorkSpaces emulator: tables from template.yaml,
real SQS, EventBridge, Scheduler and SES v2 (moto), Powertools idempotency on the idempotency table."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import time_machine
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from moto import mock_aws

from autopilot import observability
from autopilot.adapters.aws import reset_caches
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.feed_store import FeedStore, S3RosterFiles
from autopilot.adapters.mailer import SesMailer, WorkSpacesLookups
from autopilot.adapters.roster_store import RosterStore
from autopilot.contracts.hr import EmployeeHired
from autopilot.domain.hr.feed_record import FeedRecord, FeedStatus
from autopilot.domain.hr.roster import RosterEntry
from autopilot.domain.hr.welcome import WelcomeMessage, WelcomeNotSent
from autopilot.domain.kernel.desks import Lifecycle
from autopilot.domain.kernel.errors import InvalidInput, StaleUpdate
from autopilot.handlers import hr_events, hr_feed_ingest, provision
from localcloud.shapes import sqs_record
from localcloud.workspaces_emulator import Emulator, install, installed, uninstall
from tests.support.aws import create_table_from_template

REGION = "eu-west-1"
ACCOUNT = "123456789012"
START = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)


def _client(service: str, **kwargs: Any) -> Any:
    return boto3.client(service, **kwargs)  # type: ignore[call-overload]


def _resource(service: str, **kwargs: Any) -> Any:
    return boto3.resource(service, **kwargs)  # type: ignore[call-overload]


@dataclass
class Context:
    function_name: str = "hr-events"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hr-events"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class World:
    emulator: Emulator
    desks: DeskStore
    table: Any
    provisioning_url: str
    bus_queue_url: str
    hr_bus: str


@pytest.fixture(scope="module", autouse=True)
def emulator_installed() -> Iterator[None]:
    was_installed = installed()
    install()
    yield
    if not was_installed:
        uninstall()


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "workspaces-autopilot")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "test")
    # The shared Metrics object read its namespace when first imported, maybe before this environment.
    monkeypatch.setattr(observability.metrics, "namespace", "test")
    with time_machine.travel(START, tick=False), mock_aws():
        reset_caches()
        emulator = Emulator(region=REGION)
        emulator.create_directory("corp.example.com")
        emulator.create_directory("cc.example.com")
        emulator.create_bundle("Standard with Windows 10", compute="STANDARD")
        emulator.create_bundle("Power with Windows 10", compute="POWER", root_gb=175, user_gb=100)
        dynamodb = _resource("dynamodb", region_name=REGION)
        table = create_table_from_template(dynamodb, "StateTable", "state")
        create_table_from_template(dynamodb, "IdempotencyTable", "idempotency")
        sqs = _client("sqs", region_name=REGION)
        provisioning_url, provisioning_arn = _queue(sqs, "provisioning")
        lifecycle_url, lifecycle_arn = _queue(sqs, "lifecycle")
        bus_queue_url, bus_queue_arn = _queue(sqs, "autopilot-bus-sink")
        events = _client("events", region_name=REGION)
        events.create_event_bus(Name="autopilot")
        events.create_event_bus(Name="hr")
        events.put_rule(Name="all", EventBusName="autopilot", EventPattern=json.dumps({"source": ["autopilot"]}))
        events.put_targets(Rule="all", EventBusName="autopilot", Targets=[{"Id": "q", "Arn": bus_queue_arn}])
        _client("scheduler", region_name=REGION).create_schedule_group(Name="timers")
        _client("sesv2", region_name=REGION).create_email_identity(EmailIdentity="it-desk@example.com")
        environment = {
            "TABLE_NAME": "state",
            "IDEMPOTENCY_TABLE_NAME": "idempotency",
            "EVENT_BUS_NAME": "autopilot",
            "POLICY_PARAMETER_NAME": "/workspaces-autopilot/test/policy",
            "PROVISIONING_QUEUE_URL": provisioning_url,
            "PROVISIONING_QUEUE_ARN": provisioning_arn,
            "LIFECYCLE_QUEUE_URL": lifecycle_url,
            "LIFECYCLE_QUEUE_ARN": lifecycle_arn,
            "TIMER_GROUP_NAME": "timers",
            "TIMER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/timers",
            "TIMER_DLQ_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq",
            "HR_EVENT_BUS_NAME": "hr",
            "HR_EVENT_SOURCE": "hr.feed",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        yield World(emulator, DeskStore(table), table, provisioning_url, bus_queue_url, "hr")
        reset_caches()


def _hired(employee_id: str = "E1", envelope_id: str = "env-1", **changes: Any) -> dict[str, Any]:
    detail = {
        "employee_id": employee_id,
        "username": f"user{employee_id.lower()}",
        "email": f"{employee_id.lower()}@example.com",
        "given_name": "Jeanne",
        "family_name": "Dupont",
        "department": "finance",
        "role": "accountant",
        "site": "paris-hq",
        "start_date": "2026-12-02",
    }
    return {
        "version": "0",
        "id": envelope_id,
        "detail-type": "Employee Hired",
        "source": "hr.feed",
        "account": ACCOUNT,
        "time": "2026-12-01T05:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail | changes,
    }


def _messages(url: str) -> list[dict[str, Any]]:
    sqs = _client("sqs", region_name=REGION)
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return found
        found += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _bus_events(world: World) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in _messages(world.bus_queue_url)]


def _sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The records as Lambda's SQS event source delivers them (every field Powertools' SqsModel requires)."""
    arn = f"arn:aws:sqs:{REGION}:123456789012:queue"
    return {"Records": [sqs_record(m, arn, REGION) for m in messages]}


# --- hr_events ----------------------------------------------------------------------------------------------
def test_a_hire_delivered_three_times_with_different_envelope_ids_is_one_desk_and_one_message(world: World) -> None:
    responses = [hr_events.lambda_handler(_hired(envelope_id=f"env-{n}"), Context()) for n in range(3)]

    assert [r["action"] for r in responses] == ["scheduled"] * 3  # the 2nd and 3rd answered from the cache
    assert world.desks.get("E1") is not None
    assert len(_messages(world.provisioning_url)) == 1  # due now: straight to the queue, once


def test_the_idempotency_record_holds_ids_only_under_a_stable_key(world: World) -> None:
    hr_events.lambda_handler(_hired(), Context())

    [record] = _resource("dynamodb", region_name=REGION).Table("idempotency").scan()["Items"]
    assert record["id"].startswith("hr-events#")
    assert record["status"] == "COMPLETED"
    text = json.dumps(record, default=str)
    assert "Jeanne" not in text
    assert "@example.com" not in text


def test_a_changed_hire_within_the_idempotency_window_is_flagged(world: World) -> None:
    hr_events.lambda_handler(_hired(), Context())

    response = hr_events.lambda_handler(_hired(envelope_id="env-2", site="amiens-cc"), Context())

    assert response["action"] == "changed_payload"
    flagged = [e for e in _bus_events(world) if e["detail-type"] == "Provisioning Failed"]
    assert [e["detail"]["error_code"] for e in flagged] == ["ChangedPayload"]
    assert world.desks.get("E1").site == "paris-hq"  # type: ignore[union-attr]


def test_a_concurrent_duplicate_is_refused_while_the_first_is_in_flight(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BaseException] = []
    original = DeskStore.create

    def duplicate_arrives_meanwhile(self: DeskStore, desk: Any) -> Any:
        try:
            hr_events.lambda_handler(_hired(envelope_id="env-concurrent"), Context())
        except IdempotencyAlreadyInProgressError as exc:
            seen.append(exc)
        return original(self, desk)

    monkeypatch.setattr(DeskStore, "create", duplicate_arrives_meanwhile)

    hr_events.lambda_handler(_hired(), Context())

    assert len(seen) == 1  # Lambda retries it later; it is then answered from the cache
    assert len(_messages(world.provisioning_url)) == 1


def test_an_unknown_site_is_dead_lettered_and_alerted(world: World) -> None:
    with pytest.raises(InvalidInput, match="site 'atlantis'"):
        hr_events.lambda_handler(_hired(site="atlantis"), Context())

    [event] = _bus_events(world)
    assert (event["detail-type"], event["detail"]["error_code"]) == ("Provisioning Failed", "UnknownSite")


def test_an_hr_event_naming_a_bundle_is_refused_without_echoing_personal_data(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        hr_events.lambda_handler(_hired(bundle_id="wsb-12345678", email="bad address"), Context())

    assert "bundle_id: Extra inputs are not permitted" in str(refused.value)
    assert "bad address" not in str(refused.value)
    assert world.desks.get("E1") is None


def test_a_later_hire_sets_a_scheduler_timer_at_seven_local(world: World) -> None:
    hr_events.lambda_handler(_hired(start_date="2026-12-10"), Context())

    schedule = _client("scheduler", region_name=REGION).get_schedule(Name="provision-E1", GroupName="timers")
    assert schedule["ScheduleExpression"] == "at(2026-12-08T06:00:00)"
    assert schedule["Target"]["Arn"].endswith(":provisioning")


# --- provision ----------------------------------------------------------------------------------------------
def test_provision_creates_takes_over_and_follows_to_ready_welcoming_only_new_desks(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    directory = next(iter(world.emulator.backend.workspace_directories))
    existing = world.emulator.seed_workspace(
        directory, "usere2", world.emulator.bundle_id("Standard with Windows 10") or ""
    )
    for employee_id in ("E1", "E2", "E3"):
        hr_events.lambda_handler(_hired(employee_id, envelope_id=employee_id), Context())

    response = provision.lambda_handler(_sqs_event(_messages(world.provisioning_url)), Context())

    assert response == {"batchItemFailures": []}
    assert world.emulator.api_calls["CreateWorkspaces"] == 1
    e2 = world.desks.get("E2")
    assert e2 is not None
    assert e2.workspace_id == existing
    assert e2.origin == "found"
    assert len(world.emulator.all_workspaces()) == 3

    with time_machine.travel(START + dt.timedelta(minutes=21), tick=False):
        provision.lambda_handler(_sqs_event(_messages(world.provisioning_url)), Context())

    desk = world.desks.get("E1")
    assert desk is not None
    assert (desk.lifecycle, desk.email) == (Lifecycle.READY, None)
    from moto.sesv2.models import sesv2_backends

    sent = sesv2_backends[ACCOUNT][REGION].core_backend.sent_messages
    # E2's desk existed already (made by hand, untagged): recorded, not announced.
    assert sorted(m.destinations["ToAddresses"][0] for m in sent) == ["e1@example.com", "e3@example.com"]
    ready = [e for e in _bus_events(world) if e["detail-type"] == "WorkSpace Ready"]
    assert sorted(e["detail"]["employee_id"] for e in ready) == ["E1", "E3"]
    logs = json.dumps([record.__dict__ for record in caplog.records], default=str)
    assert '"employee_id": "E1"' in logs
    assert "@example.com" not in logs
    assert "Jeanne" not in logs
    assert "usere1" not in logs


def test_a_bad_message_is_the_only_one_redelivered(world: World) -> None:
    hr_events.lambda_handler(_hired(), Context())
    messages = _messages(world.provisioning_url)
    event = _sqs_event(messages)
    event["Records"].append({**event["Records"][0], "messageId": "bad-1", "body": "{not json"})

    response = provision.lambda_handler(event, Context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}


# --- adapters -----------------------------------------------------------------------------------------------
def test_roster_store_keeps_the_accepted_roster_without_personal_data(world: World) -> None:
    store = RosterStore(world.table)
    shift = {"timezone": "Europe/Paris", "days": ["mon"], "start": "08:00", "end": "16:00"}
    store.apply(
        [
            RosterEntry(employee_id=f"E{n}", department="finance", role="accountant", site="paris-hq", shift=shift)
            for n in range(30)
        ],
        [],
    )
    store.apply([], ["E0"])
    store.mark_accepted("feed-1", START)

    loaded = store.load()

    assert len(loaded) == 29
    assert loaded["E1"].shift is not None
    assert loaded["E1"].shift.days == ["mon"]
    assert store.accepted_at() == START


def test_feed_store_writes_are_conditional(world: World) -> None:
    store = FeedStore(world.table)
    record = store.create(
        FeedRecord(feed_id="feed-1", status=FeedStatus.PROCESSING, bucket="b", key="k", received_at=START)
    )
    with pytest.raises(StaleUpdate):
        store.create(record)
    held = store.save(record.model_copy(update={"status": FeedStatus.HELD, "rejected_lines": [3, 7]}))
    with pytest.raises(StaleUpdate):
        store.save(record.model_copy(update={"status": FeedStatus.ACCEPTED}))
    assert store.get("feed-1") == held


def test_roster_files_are_read_by_version(world: World) -> None:
    s3 = _client("s3", region_name=REGION)
    s3.create_bucket(Bucket="feed", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="feed", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="feed", Key="r.csv", Body="\ufefffirst")["VersionId"]
    s3.put_object(Bucket="feed", Key="r.csv", Body="second")

    files = S3RosterFiles(s3)

    assert files.read("feed", "r.csv", first) == "first"
    with pytest.raises(InvalidInput, match="no longer"):
        files.read("feed", "gone.csv", None)


def test_the_welcome_email_goes_through_ses_and_a_refusal_is_typed(world: World) -> None:
    mailer = SesMailer(_client("sesv2", region_name=REGION))
    message = WelcomeMessage(to="new@example.com", subject="s", text="t", html="<p>t</p>")

    assert mailer.send(message, sender="it-desk@example.com")
    with pytest.raises(WelcomeNotSent) as refused:
        mailer.send(message, sender="unverified@elsewhere.example")
    assert refused.value.code == "MessageRejected"


def test_registration_codes_and_bundle_computes_come_from_workspaces(world: World) -> None:
    lookups = WorkSpacesLookups(_client("workspaces", region_name=REGION))
    directory = next(iter(world.emulator.backend.workspace_directories))

    assert lookups.registration_code(directory)
    assert lookups.default_compute(world.emulator.bundle_id("Power with Windows 10") or "") == "POWER"


def test_a_roster_dropped_in_the_bucket_becomes_hr_events_on_the_hr_bus(world: World) -> None:
    s3 = _client("s3", region_name=REGION)
    s3.create_bucket(Bucket="feed", CreateBucketConfiguration={"LocationConstraint": REGION})
    body = (
        "employee_id,username,email,given_name,family_name,department,role,site,start_date\n"
        "E1,u1,u1@example.com,A,B,finance,accountant,paris-hq,2026-12-02\n"
    )
    s3.put_object(Bucket="feed", Key="rosters/r.csv", Body=body)
    sqs = _client("sqs", region_name=REGION)
    hr_url, hr_arn = _queue(sqs, "hr-sink")
    events = _client("events", region_name=REGION)
    events.put_rule(Name="hr", EventBusName="hr", EventPattern=json.dumps({"source": ["hr.feed"]}))
    events.put_targets(Rule="hr", EventBusName="hr", Targets=[{"Id": "q", "Arn": hr_arn}])
    created = {
        "version": "0",
        "id": "s3-1",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-12-01T05:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "version": "0",
            "bucket": {"name": "feed"},
            "object": {"key": "rosters/r.csv", "size": len(body), "etag": "abc"},
            "request-id": "r",
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }

    response = hr_feed_ingest.lambda_handler(created, Context())

    assert (response["status"], response["hires"]) == ("ACCEPTED", 1)
    [hired] = [json.loads(m["Body"]) for m in _messages(hr_url)]
    assert (hired["detail-type"], hired["detail"]["employee_id"]) == ("Employee Hired", "E1")
    assert EmployeeHired.model_validate(hired["detail"]).username == "u1"  # what hr_events accepts
