"""boto3 clients, built lazily (moto must be active before a client exists; cold starts stay small) with
botocore's standard retry mode, so throttling is retried with backoff and jitter before our code sees it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config

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
