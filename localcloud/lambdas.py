"""Functions of the template, run in this process the way the Lambda Python runtime runs them: import the
handler string, call it with the event and a context object, under the function's environment, with what the
function prints (Powertools logs, EMF metrics, warnings) captured per invocation instead of reaching the real
stdout (which belongs to `autopilot-local run --json`)."""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import logging
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

Handler = Callable[[Any, Any], Any]

# What the Lambda service itself puts in every function's environment (credentials are the local cloud's fakes).
LAMBDA_RUNTIME_ENV = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "POWERTOOLS_TRACE_DISABLED": "1",
}


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Lambda::Function of the expanded template, with its async invocation configuration."""

    logical_id: str
    name: str
    arn: str
    handler: str
    environment: Mapping[str, str]
    memory_mb: int = 128
    timeout_s: int = 3
    max_retry_attempts: int = 2
    max_event_age_s: int = 21600
    on_failure: str | None = None
    on_success: str | None = None
    dead_letter: str | None = None

    @property
    def short_name(self) -> str:
        """`ProvisionFunction` -> `provision`, `HrEventsFunction` -> `hr_events`."""
        base = self.logical_id.removesuffix("Function")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", base).lower()

    def answers_to(self, name: str) -> bool:
        wanted = name.strip()
        module = self.handler.rsplit(".", 1)[0].rsplit(".", 1)[-1]
        candidates = {self.logical_id, self.name, self.short_name, self.short_name.replace("_", "-"), module}
        return wanted in candidates or wanted.lower() == self.logical_id.lower()


class LambdaContext:
    """The context object the Python runtime passes to a handler.

    Virtual time does not pass during an invocation, so the remaining time is always the full timeout."""

    function_version = "$LATEST"
    identity = None
    client_context = None
    tenant_id = None

    def __init__(self, spec: FunctionSpec, request_id: str) -> None:
        self.function_name = spec.name
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"2026/01/01/[$LATEST]{request_id.replace('-', '')}"
        self._timeout_ms = spec.timeout_s * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


@dataclass
class Outcome:
    """What one invocation returned or raised, and what it printed."""

    ok: bool
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    stack: list[str] = field(default_factory=list)
    logs: str = ""

    @property
    def error(self) -> str | None:
        return None if self.ok else f"{self.error_type}: {self.error_message}"

    def error_payload(self, request_id: str) -> dict[str, Any]:
        """The response payload Lambda records for a function error."""
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": request_id,
            "stackTrace": self.stack,
        }


def resolve_handler(handler: str) -> Handler:
    """Import `package.module.function` exactly as the Lambda runtime does."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise ImportError(f"Bad handler {handler!r}: expected module.function")
    module = importlib.import_module(module_name)
    function = getattr(module, attribute, None)
    if function is None or not callable(function):
        raise AttributeError(f"Handler {attribute!r} missing on module {module_name!r}")
    resolved: Handler = function
    return resolved


def _align_powertools(function: Handler) -> None:
    """In Lambda, the handler's module is imported under the function's environment, so Powertools' Metrics
    reads its namespace and service from POWERTOOLS_*. In this shared process the module may have been imported
    earlier (a test imported it): give a Metrics left without them the values the function's environment has."""
    from aws_lambda_powertools import Metrics

    module = sys.modules.get(getattr(function, "__module__", ""))
    for value in vars(module).values() if module is not None else ():
        if isinstance(value, Metrics):
            if value.namespace is None:
                value.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
            if value.service is None:
                value.service = os.environ.get("POWERTOOLS_SERVICE_NAME")


def _is_console(stream: Any, consoles: set[int]) -> bool:
    return id(stream) in consoles


def _log_warning(
    buffer: TextIO, message: Warning | str, category: type[Warning], filename: str, lineno: int, *_: Any
) -> None:
    buffer.write(warnings.formatwarning(message, category, filename, lineno))


@contextlib.contextmanager
def captured_output(buffer: TextIO) -> Iterator[None]:
    """Send stdout, stderr and every logging handler writing to them (Powertools' Logger keeps the stream it
    found when it was created) to `buffer` for the duration."""
    consoles = {id(s) for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__) if s is not None}
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    loggers: list[Any] = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for candidate in loggers:
        for handler in getattr(candidate, "handlers", []):
            if not isinstance(handler, logging.StreamHandler):
                continue
            powertools = type(handler.formatter).__module__.startswith("aws_lambda_powertools")
            if powertools or _is_console(handler.stream, consoles):
                swapped.append((handler, handler.stream))
                handler.stream = buffer
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), warnings.catch_warnings():
            # Warnings go to the function's log, as in Lambda, not to whoever runs the local cloud.
            warnings.simplefilter("default")
            warnings.showwarning = functools.partial(_log_warning, buffer)
            yield
    finally:
        for handler, stream in swapped:
            handler.stream = stream


@contextlib.contextmanager
def function_environment(spec: FunctionSpec, base: Mapping[str, str]) -> Iterator[None]:
    """The process environment as the function sees it in Lambda; the previous values are restored after."""
    wanted = {
        **base,
        **LAMBDA_RUNTIME_ENV,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        **{key: str(value) for key, value in spec.environment.items()},
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(
    spec: FunctionSpec,
    event: Any,
    request_id: str,
    *,
    base_env: Mapping[str, str],
    handler: Handler | None = None,
) -> Outcome:
    """Invoke the function once. Any exception becomes an error outcome, as the Lambda runtime reports it."""
    buffer = io.StringIO()
    payload = json.loads(json.dumps(event))  # the function gets its own copy, as over the wire
    with function_environment(spec, base_env), captured_output(buffer):
        try:
            function = handler or resolve_handler(spec.handler)
            _align_powertools(function)
            result = function(payload, LambdaContext(spec, request_id))
        except Exception as exc:  # noqa: BLE001 - this is the runtime: every function error becomes a result
            kind = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else type(exc).__name__
            traceback.print_exception(exc, file=buffer)
            frames = [frame.strip() for frame in traceback.format_tb(exc.__traceback__)[-5:]]
            return Outcome(False, error_type=kind, error_message=str(exc), stack=frames, logs=buffer.getvalue())
    try:
        result = json.loads(json.dumps(result)) if result is not None else None
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        return Outcome(False, error_type="Runtime.MarshalError", error_message=message, logs=buffer.getvalue())
    return Outcome(ok=True, result=result, logs=buffer.getvalue())
