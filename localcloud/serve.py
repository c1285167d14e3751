"""`autopilot-local serve`: the local cloud as an AWS-compatible endpoint on loopback.

moto's server app (the same one ThreadedMotoServer runs) answers every AWS API over HTTP, in this process,
next to the running world: the WorkSpaces emulator, the template's resources, its routing (a PutEvents from
the AWS CLI reaches the world's rules exactly as one from a function does), queues, schedules and alarms. One
lock serialises HTTP requests and the world's work; after each request the world does what is due at once.

The clock is virtual (time moves only through the control API) or real (the world follows the wall clock,
checked every `tick` seconds). The control API lives beside the AWS APIs:

    GET  /_localcloud/clock                     {"now": "..."}
    POST /_localcloud/advance   {"by": "30m"}   move the virtual clock; everything due happens, in order
    POST /_localcloud/step      {"login": {"user": "jdoe"}}   one scenario step (docs/local-cloud.md)
    GET  /_localcloud/resources                 the stack's physical names (what `autopilot --endpoint-url` reads)
    POST /_localcloud/invoke    {"function": "...", "payload": {...}}   invoke a function in the world
    POST /_localcloud/environment {"function": "..."}   a function's environment variables
    POST /_localcloud/settle                    do what is due now
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from localcloud.scenario import ScenarioError, _apply, open_world, parse_duration
from localcloud.scenario_loading import _parse_step
from localcloud.world import LocalCloud, LocalCloudError, iso

CONTROL = "/_localcloud/"
Clock = str  # "virtual" | "real"
StartResponse = Callable[..., Any]


class _App:
    """moto's WSGI app behind the world's lock, plus the control API."""

    def __init__(self, cloud: LocalCloud, lock: threading.RLock) -> None:
        self._cloud = cloud
        self._lock = lock
        self._moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        with self._lock:
            if path.startswith(CONTROL):
                return self._control(path.removeprefix(CONTROL), environ, start_response)
            body = b"".join(self._moto(environ, start_response))
            # What the request caused (events put, objects written) is delivered now, as publish() does.
            self._cloud.settle()
            return [body]

    def _control(self, action: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            request = json.loads(raw) if raw else {}
            if action == "clock":
                answer: dict[str, Any] = {"now": iso(self._cloud.now())}
            elif action == "advance":
                self._cloud.advance(parse_duration(str(request.get("by", ""))))
                answer = {"now": iso(self._cloud.now())}
            elif action == "step":
                step = _parse_step("control API", 0, request, None, self._cloud.policy)
                _apply(self._cloud, step)
                answer = {"now": iso(self._cloud.now()), "step": step.label}
            elif action == "resources":
                from autopilot_ops.stack import from_world  # the operator CLI's view of a stack

                answer = dataclasses.asdict(from_world(self._cloud))
            elif action == "invoke":
                invocation = self._cloud.invoke(str(request.get("function")), request.get("payload"), settle=False)
                answer = {"function": invocation.function, "ok": invocation.ok, "error": invocation.error}
            elif action == "environment":
                answer = dict(self._cloud.function(str(request.get("function"))).environment)
            elif action == "settle":
                self._cloud.settle()
                answer = {"now": iso(self._cloud.now())}
            else:
                return _json(start_response, "404 Not Found", {"error": f"unknown control action {action!r}"})
        except (ValueError, ScenarioError, LocalCloudError) as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
        return _json(start_response, "200 OK", answer)


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class Server:
    """A running local cloud served on loopback; `stop()` ends it (the world is closed with it)."""

    def __init__(self, cloud: LocalCloud, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self.cloud = cloud
        self._server = server
        self._thread = thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def serve(
    *,
    port: int,
    scenario: Path | None,
    clock: Clock,
    ready: Callable[[Server], None],
    stop: threading.Event,
    tick: float = 1.0,
) -> None:
    """Build the world (after the scenario, if any), serve it until `stop` is set, then close everything."""
    lock = threading.RLock()
    with open_world(scenario) if scenario else _fresh_world() as cloud:
        app = _App(cloud, lock)
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
        thread = threading.Thread(target=server.serve_forever, name="localcloud-serve", daemon=True)
        thread.start()
        served = Server(cloud, server, thread)
        try:
            ready(served)
            # perf_counter is the wall clock's pace; the world's own datetime is virtual (time-machine).
            started = time.perf_counter()
            world_start = cloud.now()
            while not stop.wait(tick):
                if clock == "real":
                    with lock:
                        target = world_start + dt.timedelta(seconds=time.perf_counter() - started)
                        if target > cloud.now():
                            cloud.advance(target - cloud.now())
        finally:
            served.stop()


class _fresh_world:
    def __enter__(self) -> LocalCloud:
        self._cloud = LocalCloud()
        return self._cloud.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._cloud.__exit__(*exc)
