"""boto3 clients, built lazily (moto must be active before a client exists; cold starts stay small) with
botocore's standard retry mode, so throttling is retried with backoff and jitter before our code sees it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from autopilot.domain.kernel.errors import AwsRefused, TransientAwsError

F = TypeVar("F", bound=Callable[..., Any])
_caches: list[Any] = []
_resetters: list[Callable[[], None]] = []

# 5 attempts in all: enough to ride out a throttling burst, bounded so a stuck call fails the invocation
# (and the queue or Lambda retries it) instead of hanging.
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=30)


def cached(function: F) -> F:
    """functools.cache that the local cloud can clear between worlds (see reset_caches)."""
    wrapped = functools.cache(function)
    _caches.append(wrapped)
    return wrapped  # type: ignore[return-value]


def on_reset(clear: Callable[[], None]) -> None:
    """Register another cache to forget in reset_caches."""
    _resetters.append(clear)


def reset_caches() -> None:
    """Forget every client and composition root (the local cloud calls this when it builds a new world)."""
    for cache in _caches:
        cache.cache_clear()
    for clear in _resetters:
        clear()


@cached
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=RETRY_CONFIG)  # type: ignore[call-overload]


# What is worth retrying, as botocore's own retry rules define it (botocore 1.44, docs/reliability.md):
# - `botocore/retries/standard.py`: ThrottledRetryableChecker._THROTTLED_ERROR_CODES and
#   TransientRetryableChecker._TRANSIENT_ERROR_CODES / _TRANSIENT_STATUS_CODES / _TRANSIENT_EXCEPTION_CLS;
# - `botocore/data/_retry.json` (legacy mode): Throttling, ThrottlingException, ThrottledException,
#   RequestThrottledException, ProvisionedThroughputExceededException, HTTP 429/500/502/503/504/509 and
#   GENERAL_CONNECTION_ERROR.
# tests/unit/test_aws_errors.py keeps these sets a superset of the installed botocore's lists.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        # Not in botocore's lists: AWS's generic "service failed" codes, answered with a 5xx (a guess: the
        # status already makes them transient; the code covers a service that answers them with a 400).
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 509})
# Timeouts and connection failures (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
# ConnectionClosedError...): botocore's _TRANSIENT_EXCEPTION_CLS.
RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (BotoConnectionError, HTTPClientError)


def is_retryable(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in RETRYABLE_CODES or status in RETRYABLE_STATUS


def translate(exc: ClientError, action: str) -> TransientAwsError | AwsRefused:
    """The domain error for a botocore ClientError of `action` (`service:Operation`, as IAM names it): transient
    (throttled, 5xx) or refused for good. Only the code crosses over, never AWS's message (it can name a user)."""
    code = str(exc.response.get("Error", {}).get("Code", "")) or "Unknown"
    if is_retryable(exc):
        return TransientAwsError(f"{action}: {code}")
    return AwsRefused(action, code)


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Run an AWS call of `action` (`workspaces:CreateWorkspaces`) so that only domain errors come out: the one
    place adapters turn botocore's errors into TransientAwsError (Lambda/SQS retry) or AwsRefused (report once)."""
    try:
        yield
    except ClientError as exc:
        raise translate(exc, action) from exc
    except RETRYABLE_EXCEPTIONS as exc:
        raise TransientAwsError(f"{action}: {type(exc).__name__}") from exc


def translated_pages(pages: Iterable[dict[str, Any]], action: str) -> Iterator[dict[str, Any]]:
    """The pages of a botocore paginator, each call's errors translated as `translated` does. A paginator is lazy:
    a call is made when the next page is asked for, so the translation wraps each step, not `paginate()`."""
    remaining = iter(pages)
    while True:
        with translated(action):
            page = next(remaining, None)
        if page is None:
            return
        yield page
