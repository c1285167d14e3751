"""The few places where the local cloud hooks into botocore and moto, installed while a world is running.

- every API call a function makes is counted, authorised as the function's role (localcloud.iam_world), and
  a crash can be injected right after one succeeds;
- botocore's retry back-off does not sleep for real (virtual time stands still during an invocation);
- PutEvents accepted by moto are handed to the world for delivery by the template's rules (moto cannot
  invoke Lambda targets, so the world's rules carry no targets inside moto);
- S3 object-created notifications to EventBridge are handed to the world in AWS's detail shape;
- CreateSchedule and UpdateSchedule validate the schedule expression as EventBridge Scheduler does;
- moto's JSON-protocol answers come from compiled plans (localcloud.fast_json: the same bodies, faster), the
  functions' botocore clients read them with compiled plans (localcloud.fast_parse: the same results), moto
  does its per-class and per-call work once (localcloud.fast_moto), and a covered JSON-protocol call reaches
  moto's handler without an HTTP request, a signature or werkzeug's request builder (localcloud.fast_transport,
  beneath every hook above: validation, the events, retries and botocore's errors are kept).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, Protocol

import botocore.client
import botocore.endpoint
from moto.events.models import EventsBackend
from moto.s3 import notifications as s3_notifications
from moto.scheduler.exceptions import ScheduleGroupNotFound, ValidationException
from moto.scheduler.models import EventBridgeSchedulerBackend

from localcloud import fast_cloudwatch, fast_gc, fast_json, fast_loader, fast_moto, fast_parse, fast_transport
from localcloud.schedules import Expression, ScheduleExpressionError


class World(Protocol):
    account_id: str
    region: str

    def before_api_call(self, service: str, operation: str) -> bool: ...

    def authorize_api_call(self, service: str, operation: str, params: dict[str, Any]) -> None: ...

    def after_api_call(self, service: str, operation: str, result: Any) -> None: ...

    def accept_put_events(self, events: list[dict[str, Any]], entries: list[dict[str, Any]]) -> None: ...

    def accept_s3_event(self, event_name: str, bucket: Any, key: Any) -> None: ...

    def backed_off(self, seconds: float) -> None: ...


_world: World | None = None


def active() -> World | None:
    return _world


def _make_api_call(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        world = _world
        if world is None:
            return original(client, operation_name, api_params)
        service = client.meta.service_model.service_name
        counted = world.before_api_call(service, operation_name)
        if counted:  # a function's call: IAM decides before the service sees it
            world.authorize_api_call(service, operation_name, api_params)
        result = original(client, operation_name, api_params)
        if counted:
            world.after_api_call(service, operation_name, result)
        return result

    return wrapped


def _put_events(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(backend: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = original(backend, events)
        world = _world
        if world is not None and (backend.account_id, backend.region_name) == (world.account_id, world.region):
            world.accept_put_events(events, entries)
        return entries

    return wrapped


def _send_event(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        original(account_id, event_name, bucket, key)
        world = _world
        configuration = bucket.notification_configuration
        if (
            world is not None
            and account_id == world.account_id
            and configuration is not None
            and configuration.event_bridge is not None
        ):
            world.accept_s3_event(str(getattr(event_name, "value", event_name)), bucket, key)

    return wrapped


def _validated(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(backend: Any, *args: Any, **kwargs: Any) -> Any:
        group = kwargs.get("group_name") or "default"
        if group not in backend.schedule_groups:
            raise ScheduleGroupNotFound(group)
        try:
            Expression.parse(kwargs["schedule_expression"], kwargs.get("schedule_expression_timezone"))
        except ScheduleExpressionError as exc:
            raise ValidationException(f"Invalid Schedule Expression {kwargs['schedule_expression']}. {exc}") from exc
        return original(backend, *args, **kwargs)

    return wrapped


class _NoSleepTime(SimpleNamespace):
    """botocore.endpoint's view of the time module: retries back off in virtual time, i.e. not at all."""

    def __getattr__(self, name: str) -> Any:
        import time

        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        world = _world
        if world is not None:
            world.backed_off(seconds)  # hostile mode's token buckets count the wait


_HOOKS: tuple[tuple[Any, str, Callable[[Any], Any]], ...] = (
    (botocore.client.BaseClient, "_make_api_call", _make_api_call),
    (botocore.endpoint, "time", lambda _time: _NoSleepTime()),
    (EventsBackend, "put_events", _put_events),
    (s3_notifications, "send_event", _send_event),
    (EventBridgeSchedulerBackend, "create_schedule", _validated),
    (EventBridgeSchedulerBackend, "update_schedule", _validated),
)


@contextlib.contextmanager
def installed(world: World) -> Iterator[None]:
    """Install every hook for `world`; one world at a time."""
    global _world
    if _world is not None:
        raise RuntimeError("another LocalCloud is running in this process: close it first")
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in _HOOKS]
    for owner, name, wrap in _HOOKS:
        setattr(owner, name, wrap(getattr(owner, name)))
    _world = world
    try:
        with (
            fast_json.installed(),
            fast_parse.installed(),
            fast_moto.installed(),
            fast_transport.installed(),
            fast_cloudwatch.installed(),
            fast_loader.installed(),
            fast_gc.fewer_collections(),
        ):
            yield
    finally:
        _world = None
        for owner, name, original in originals:
            setattr(owner, name, original)
