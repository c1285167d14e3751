"""Adapters translate botocore's errors once (adapters/aws.py): throttling, 5xx and timeouts are transient, the
rest a refusal carrying the IAM action and the AWS error code, never AWS's message."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from autopilot.adapters.aws import RETRYABLE_CODES, RETRYABLE_STATUS, translated
from autopilot.adapters.workspaces import WorkSpaces
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
