"""Adapters translate botocore's errors once (adapters/aws.py): throttling, 5xx and timeouts are transient, the
rest a refusal carrying the IAM action and the AWS error code, never AWS's message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from autopilot.adapters.alert_threads import AlertThreads
from autopilot.adapters.aws import RETRYABLE_CODES, RETRYABLE_STATUS, translated
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.feed_store import FeedStore, S3RosterFiles
from autopilot.adapters.incident_store import IncidentStore
from autopilot.adapters.observation_store import ObservationStore
from autopilot.adapters.report_store import ReportStore, scan_state
from autopilot.adapters.roster_store import RosterStore
from autopilot.adapters.usage_store import UsageStore
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.domain.kernel.desks import Departure, Lifecycle
from autopilot.domain.kernel.errors import AwsRefused, TransientAwsError
from autopilot.domain.kernel.workspace import WorkSpacesError

pytestmark = pytest.mark.usefixtures("socket_disabled")


def client_error(code: str, status: int = 400, message: str = "user jdoe may not do this") -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "CreateWorkspaces")


def raise_(exc: Exception) -> None:
    raise exc


def test_our_retryable_codes_cover_botocore_s_own_retry_rules() -> None:
    # botocore/retries/standard.py: the codes and statuses its standard mode retries. If botocore adds one, so do we.
    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) <= RETRYABLE_CODES
    assert set(TransientRetryableChecker._TRANSIENT_ERROR_CODES) <= RETRYABLE_CODES
    assert set(TransientRetryableChecker._TRANSIENT_STATUS_CODES) <= RETRYABLE_STATUS


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("Throttling", 400), ("InternalError", 500), ("Anything", 503), ("X", 429)],
)
def test_throttling_and_5xx_are_transient(code: str, status: int) -> None:
    with pytest.raises(TransientAwsError), translated("workspaces:CreateWorkspaces"):
        raise_(client_error(code, status))


@pytest.mark.parametrize(
    "exc",
    [EndpointConnectionError(endpoint_url="https://workspaces"), ReadTimeoutError(endpoint_url="https://workspaces")],
)
def test_timeouts_and_connection_errors_are_transient(exc: Exception) -> None:
    with pytest.raises(TransientAwsError), translated("workspaces:CreateWorkspaces"):
        raise_(exc)


@pytest.mark.parametrize("code", ["AccessDeniedException", "ValidationException", "InvalidParameterValuesException"])
def test_other_errors_are_refusals_with_the_code_and_never_the_message(code: str) -> None:
    with pytest.raises(AwsRefused) as caught, translated("workspaces:CreateWorkspaces"):
        raise_(client_error(code))
    assert (caught.value.action, caught.value.code) == ("workspaces:CreateWorkspaces", code)
    assert "jdoe" not in str(caught.value)
    assert "jdoe" not in caught.value.remedy


def test_access_denied_says_which_permission_the_role_lacks() -> None:
    refused = AwsRefused("workspaces:CreateWorkspaces", "AccessDeniedException")
    assert refused.remedy.startswith("the function's role lacks workspaces:CreateWorkspaces")
    assert "template.yaml" in refused.remedy


class RefusingClient:
    """A WorkSpaces client whose every call fails with one botocore error."""

    def __init__(self, error: ClientError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            raise self.error

        return call

    def get_paginator(self, operation: str) -> Any:
        """A botocore paginator is lazy: the call, and so its error, comes with the first page."""

        def pages(**kwargs: Any) -> Iterator[dict[str, Any]]:
            raise self.error
            yield {}  # a generator: nothing is called until a page is asked for

        return SimpleNamespace(paginate=pages)


def test_every_workspaces_call_is_translated_batch_calls_too() -> None:
    denied = WorkSpaces(RefusingClient(client_error("AccessDeniedException")))
    with pytest.raises(WorkSpacesError) as caught:
        denied.stop(["ws-0000000001"])
    assert (caught.value.action, caught.value.code) == ("workspaces:StopWorkspaces", "AccessDeniedException")
    with pytest.raises(WorkSpacesError):
        denied.find("d-1111111111", "jdoe")
    throttled = WorkSpaces(RefusingClient(client_error("ThrottlingException")))
    with pytest.raises(TransientAwsError):
        throttled.describe(["ws-0000000001"])


class RefusingTable(RefusingClient):
    """A boto3 DynamoDB Table (and its resource's client) whose every call fails with one botocore error."""

    def __init__(self, error: ClientError) -> None:
        super().__init__(error)
        self.name = "state"
        self.meta = SimpleNamespace(client=RefusingClient(error))

    def Table(self, name: str) -> RefusingTable:  # boto3 resource spelling
        return self


def _store_calls(table: RefusingTable) -> dict[str, Callable[[], object]]:
    """Every read and write of the data stores, keyed by the IAM action the refusal must name."""
    desks, incidents, usage = DeskStore(table), IncidentStore(table), UsageStore(table)
    return {
        "desk get": lambda: desks.get("e-1"),
        "desk get_with_departure": lambda: desks.get_with_departure("e-1"),
        "desk by_workspace": lambda: desks.by_workspace("ws-0000000001"),
        "desk all_desks": lambda: list(desks.all_desks()),
        "desk by_lifecycle": lambda: list(desks.by_lifecycle(Lifecycle.READY)),
        "desk history": lambda: desks.history("e-1"),
        "desk record_departure": lambda: desks.record_departure(
            Departure("e-1", dt.date(2026, 12, 20), dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
        ),
        "incident get": lambda: incidents.get("inc-1"),
        "incident open_for": lambda: incidents.open_for("ws-0000000001"),
        "incident actions": lambda: incidents.actions("ws-0000000001"),
        "incident open_in_directory": lambda: incidents.open_in_directory("d-1111111111"),
        "incident count_open": incidents.count_open,
        "usage get": lambda: usage.get("ws-0000000001", "2026-12"),
        "usage report_rows": lambda: usage.report_rows("2026-12"),
        "feed get": lambda: FeedStore(table).get("feed-1"),
        "roster file read": lambda: S3RosterFiles(table).read("bucket", "roster.csv", None),
        "observation reassign": lambda: ObservationStore(table, "state").reassign(
            "ws-0000000001", previous="e-1", employee_id="e-2"
        ),
        "alert thread claim": lambda: AlertThreads(table).claim("t-1", "k", dt.datetime(2026, 12, 1, tzinfo=dt.UTC)),
        "alert thread release": lambda: AlertThreads(table).release("t-1", "k"),
        "state scan": lambda: scan_state(table),
        "report put": lambda: ReportStore(table, "bucket").put("r.html", "<p>"),
        "roster load": lambda: RosterStore(table).load(),
        "roster accepted_at": lambda: RosterStore(table).accepted_at(),
        "roster mark_accepted": lambda: RosterStore(table).mark_accepted(
            "feed-1", dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        ),
    }


STORE_CALLS = list(_store_calls(RefusingTable(client_error("AccessDeniedException"))))


@pytest.mark.parametrize("name", STORE_CALLS)
def test_every_data_store_call_refused_for_good_is_an_aws_refusal_with_its_code_never_a_client_error(
    name: str,
) -> None:
    call = _store_calls(RefusingTable(client_error("AccessDeniedException")))[name]
    with pytest.raises(AwsRefused) as caught:
        call()
    assert caught.value.code == "AccessDeniedException"
    assert caught.value.action.split(":")[0] in ("dynamodb", "s3")
    assert "jdoe" not in str(caught.value)


@pytest.mark.parametrize("name", STORE_CALLS)
def test_every_data_store_call_throttled_is_transient(name: str) -> None:
    call = _store_calls(RefusingTable(client_error("ProvisionedThroughputExceededException")))[name]
    with pytest.raises(TransientAwsError):
        call()
