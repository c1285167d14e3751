"""An in-process transport: a function's API call reaches moto's handler without the HTTP plumbing in between.

In the local cloud every API call a function makes goes through botocore's whole client and then moto's whole
server side, though both halves live in one process: botocore builds an `AWSRequest`, signs it with SigV4 (the
`request-created` event) and prepares it; moto's stubber (on `before-send`) normalises the URL, finds the service
by trying URL patterns, and rebuilds the request as a werkzeug `Request` through werkzeug's `EnvironBuilder`. In
the 60-desk six-hour sweep profile that plumbing was about a fifth of the time of an API call
(docs/performance.md, "Third pass").

This module skips exactly that, for the (service, operation) pairs of `COVERED` (JSON-protocol services only):

- `Endpoint.create_request` returns a `DirectRequest` holding botocore's request dict (its serialized, validated
  body and headers) instead of building, signing and preparing an `AWSRequest`;
- moto's stubber, handed a `DirectRequest` on `before-send`, builds moto's own `Request` class from a WSGI
  environ it fills itself (the one `EnvironBuilder` would make for that URL, kept per URL, plus this call's
  headers and body) and calls the handler moto's router chose for that URL (kept per URL), with moto's
  `HTTPException` handling and request recorder.

Everything around it is kept, so the transport sits beneath every other hook: botocore's parameter validation
and serializer, the `provide-client-params`, `before-parameter-build`, `before-call` and `after-call` events
(boto3's DynamoDB TypeSerializer and TypeDeserializer, the tests' counters), endpoint resolution, the retry loop
and its back-off (hostile mode's throttling), `before-send` itself, moto's `setup_class`, parameter parsing,
`call_action`, its error answers, and botocore's response parsing and error classes (`ClientError` subclasses are
raised by botocore's own `_make_api_call` from the parsed answer). localcloud.patches' `_make_api_call` hook
(counting, IAM as the function's role, crash injection) wraps all of it.

What the skipped steps did that moto reads is given to it: the `Authorization` header carries the client's access
key and credential scope (moto derives the caller's account from the key and, failing the URL, the region from
the scope; it checks no signature while `INITIAL_NO_AUTH_ACTION_COUNT` is unlimited, and the transport stands
aside when it is not), and `X-Amz-Date` is set. Every call the transport does not take goes the normal way and is
counted in `fallbacks`; the calls it takes are counted in `taken`. tests/integration/test_fast_transport.py runs
every covered operation both ways on the same state and requires the same answers and the same errors.

`LOCALCLOUD_FAST=0` keeps botocore's and moto's own path (the baseline of `make bench`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import botocore.client
import botocore.endpoint
from botocore.awsrequest import AWSResponse
from moto import settings as moto_settings
from moto.core import botocore_stubber
from moto.core.exceptions import HTTPException
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, Request

from localcloud import fast_json, fast_moto

# The one table of what the transport takes: service name (botocore's) -> operations. Only JSON-protocol
# services (botocore's resolved protocol "json"); tests/integration/test_fast_transport.py has a both-ways case
# for every pair and fails for a pair without one.
COVERED: dict[str, frozenset[str]] = {
    "dynamodb": frozenset(
        {"BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "TransactWriteItems", "UpdateItem"}
    ),
    "workspaces": frozenset(
        {
            "DescribeWorkspaceBundles",
            "DescribeWorkspaceDirectories",
            "DescribeWorkspaces",
            "DescribeWorkspacesConnectionStatus",
            "StartWorkspaces",
            "StopWorkspaces",
        }
    ),
    "resourcegroupstaggingapi": frozenset({"GetResources"}),
    "cloudwatch": frozenset({"DescribeAlarms", "GetMetricData", "PutMetricAlarm"}),
    "ssm": frozenset({"GetParameter"}),
    "events": frozenset({"PutEvents"}),
    "sqs": frozenset({"SendMessage"}),
}

taken: Counter[tuple[str, str]] = Counter()  # calls the transport answered
fallbacks: Counter[tuple[str, str]] = Counter()  # calls it left to the normal path
_SIGNER = "localcloud_transport_signer"  # the client's RequestSigner, in the request context


class DirectRequest:
    """What botocore's endpoint holds instead of a prepared `AWSRequest` for a call the transport takes.

    It has the attributes botocore's `_do_get_response` reads (for its history recorder) and `reset_stream`
    (its retry loop); moto's stubber answers it with `answer()`."""

    stream_output = False

    def __init__(self, request_dict: dict[str, Any], handler: Callable[..., Any], signer: Any) -> None:
        self.method: str = request_dict["method"]
        self.url: str = request_dict["url"]
        body = request_dict["body"]
        self.body: bytes = body.encode("utf-8") if isinstance(body, str) else body
        self.headers: dict[str, str] = dict(request_dict["headers"])
        self._handler = handler
        self._signer = signer

    def reset_stream(self) -> None:
        """Nothing to rewind: the body is bytes."""

    def _environ(self) -> dict[str, Any]:
        environ = dict(_url_environ(self.method, self.url))
        headers = self.headers
        now = dt.datetime.now(dt.UTC)
        headers["X-Amz-Date"] = now.strftime("%Y%m%dT%H%M%SZ")
        credentials = self._signer._credentials if self._signer is not None else None
        if credentials is not None:
            scope = f"{now:%Y%m%d}/{self._signer._region_name}/{self._signer._signing_name}/aws4_request"
            headers["Authorization"] = (
                f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                f"SignedHeaders={';'.join(sorted(k.lower() for k in headers))}, Signature=local-transport"
            )
            if credentials.token:
                headers["X-Amz-Security-Token"] = credentials.token
        for key, value in headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[name] = value
            else:
                environ[f"HTTP_{name}"] = value
        environ["CONTENT_LENGTH"] = str(len(self.body))
        environ["wsgi.input"] = io.BytesIO(self.body)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {}
        return environ

    def answer(self) -> AWSResponse:
        """moto's answer, as its stubber gives it (BotocoreStubber.__call__ and process_request, moto 5.2.5)."""
        from moto.moto_api import recorder

        request = Request(self._environ())
        request._cached_data = self.body  # what werkzeug's get_data would read from wsgi.input and keep
        raw_url = _raw_urls.get(self.url)
        if raw_url is None:
            raw_url = _raw_urls[self.url] = request.raw_url  # werkzeug derives it from the URL's environ keys
        try:
            recorder._record_request(request)
            status, headers, body = self._handler(request, raw_url, request.headers)
        except HTTPException as e:
            status = e.code
            headers = e.get_headers()
            body = e.get_body()
        return AWSResponse(self.url, status, headers, botocore_stubber.MockRawResponse(body))


_url_environs: dict[tuple[str, str], dict[str, Any]] = {}
_raw_urls: dict[str, str] = {}  # URL -> werkzeug's raw_url for it
_clean_urls: dict[str, str] = {}  # URL -> moto's routing key for it (get_equivalent_url_in_aws_domain)
_URLS_KEPT = 1024


def _url_environ(method: str, url: str) -> dict[str, Any]:
    """The WSGI keys `EnvironBuilder` derives from the method and URL (moto's `Request.from_primitives`), kept."""
    key = (method, url)
    environ = _url_environs.get(key)
    if environ is None:
        built = Request.from_primitives(method, url, {}, b"").environ
        environ = {
            name: value
            for name, value in built.items()
            if not name.startswith("HTTP_") or name == "HTTP_HOST"
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH", "wsgi.input", PRESERVED_HEADER_NAMES_ENVIRON_KEY)
        }
        if len(_url_environs) >= _URLS_KEPT:
            _url_environs.clear()
            _raw_urls.clear()
            _clean_urls.clear()
        _url_environs[key] = environ
    return environ


def _handler(url: str) -> Callable[..., Any] | None:
    """The handler moto's router gives this URL (fast_moto's per-URL table), or None where moto's own code must
    decide (not mocked, passed through, not whitelisted, no route)."""
    clean_url = _clean_urls.get(url)
    if clean_url is None:
        if len(_clean_urls) >= _URLS_KEPT:
            _clean_urls.clear()
        parsed, _ = botocore_stubber.get_equivalent_url_in_aws_domain(url)
        clean_url = _clean_urls[url] = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    if botocore_stubber.passthrough_url(clean_url):
        return None
    handler = fast_moto.routed(clean_url)
    return handler if callable(handler) else None


def _direct(request_dict: dict[str, Any], operation_model: Any) -> DirectRequest | None:
    service_model = operation_model.service_model
    key = (service_model.service_name, operation_model.name)
    if (
        operation_model.name not in COVERED.get(key[0], ())
        or service_model.resolved_protocol != "json"
        or not _stubber.enabled
        or not math.isinf(moto_settings.INITIAL_NO_AUTH_ACTION_COUNT)  # moto would check the signature
        or operation_model.has_streaming_input
        or not isinstance(request_dict.get("body"), (bytes, str))
    ):
        fallbacks[key] += 1
        return None
    handler = _handler(request_dict["url"])
    if handler is None:
        fallbacks[key] += 1
        return None
    taken[key] += 1
    return DirectRequest(request_dict, handler, request_dict["context"].get(_SIGNER))


# --- the hooks ----------------------------------------------------------------------------------------------------

_stubber: Any = None
_originals: dict[str, Any] = {}
_lock = threading.Lock()


def _make_request(original: Callable[..., Any]) -> Callable[..., Any]:
    def make_request(client: Any, operation_model: Any, request_dict: dict[str, Any], context: Any) -> Any:
        request_dict["context"][_SIGNER] = client._request_signer  # the access key moto reads from the signature
        return original(client, operation_model, request_dict, context)

    return make_request


def _create_request(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_request(endpoint: Any, params: dict[str, Any], operation_model: Any = None) -> Any:
        if operation_model is not None and _SIGNER in params.get("context", {}):
            direct = _direct(params, operation_model)
            if direct is not None:
                return direct
        return original(endpoint, params, operation_model)

    return create_request


def _stubber_call(original: Callable[..., Any]) -> Callable[..., Any]:
    def call(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if type(request) is DirectRequest and stubber.enabled:
            return request.answer()
        return original(stubber, event_name, request, **kwargs)

    return call


_HOOKS: tuple[tuple[Any, str, Callable[[Any], Any]], ...] = (
    (botocore.client.BaseClient, "_make_request", _make_request),
    (botocore.endpoint.Endpoint, "create_request", _create_request),
    (botocore_stubber.BotocoreStubber, "__call__", _stubber_call),
)


def _install() -> None:
    global _stubber
    from moto.core.models import botocore_stubber as stubber

    _stubber = stubber
    _url_environs.clear()
    _raw_urls.clear()
    _clean_urls.clear()
    for owner, name, wrap in _HOOKS:
        original = owner.__dict__[name]
        _originals[name] = original
        setattr(owner, name, wrap(original))


def _uninstall() -> None:
    for owner, name, _wrap in _HOOKS:
        setattr(owner, name, _originals.pop(name))


# The transport while the block runs (nested uses are counted); yields whether it is on.
installed = fast_json.counted_patch(_install, _uninstall)
