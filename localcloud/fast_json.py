"""A compiled response serializer for moto's JSON-protocol services (DynamoDB, SSM, SQS, EventBridge...).

moto 5.2.5 answers every `ActionResult` by walking the operation's output shape and, for every member of every
structure, asking an attribute picker for up to a dozen candidate keys (aliases, `xform_name`, prefixes), each
through a chain of alias-provider objects built on the spot. For a DynamoDB item that is one walk of the
ten-member `AttributeValue` union per attribute: 190 ms for one 100-key BatchGetItem page, most of the local
cloud's time in a sweep (docs/performance.md has the profile).

`FastJSONSerializer` gives the same answer from a plan compiled once per shape: for a structure, each member's
candidate keys in moto's own order, computed with moto's own alias providers (`_candidates`), so the picker's
first-match rule is kept exactly; then the same type rules as moto's `BaseJSONSerializer` (strings, numbers,
blobs in base64, timestamps, maps, lists, document types). Where a structure is a model object (CloudWatch's
alarms, for one) rather than a plain `dict`, the candidate keys also depend on the object's class (moto's
ExplicitAlias reads the class's `Meta`, ClassPrefixAlias its name): they are computed once per class with the
same providers, and each value is read with moto's own `get_value`, in moto's order. Whatever the plan does not
cover falls back to moto's serializer for the whole response: errors, event streams, responses with key-path
transformers, objects whose aliases may differ from one object of a class to the next (a `Meta` of the
instance's own, a class answering any attribute through `__getattr__`). tests/integration/test_fast_json.py
parses both answers with botocore's parser for every operation the local cloud uses and requires them equal,
and equal as JSON documents.

Also here: moto builds the error-code table of a service (a walk of every shape) at each error it answers,
because `get_error_model` makes a new `ErrorLookupFactory` each time; the table is shared per service instead.

`LOCALCLOUD_FAST=0` in the environment keeps moto's own path (the baseline of `make bench`).
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

from moto.core import errors as moto_errors
from moto.core import responses as moto_responses
from moto.core import serialize as moto_serialize
from moto.core.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from moto.core.serialize import AttributePickerContext, JSONSerializer, TimestampSerializer, XFormedAttributePicker
from moto.core.utils import MISSING, get_value

ENV_SWITCH = "LOCALCLOUD_FAST"
_Serialize = Callable[[Any], Any]
_SKIP = object()  # a member whose value serializes to nothing (moto writes no key)


class _Fallback(Exception):  # a signal, not an error: moto's own serializer answers instead
    """The plan does not cover this value: let moto serialize the whole response."""


def enabled() -> bool:
    """The fast path is on unless LOCALCLOUD_FAST is 0/false/no/off."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in {"0", "false", "no", "off"}


# --- the compiled plans -------------------------------------------------------------------------------------------


class _Plans:
    """One plan per (shape, member key) of a service model; built on first use, kept for the process."""

    def __init__(self) -> None:
        self._plans: dict[tuple[str, ...], _Serialize] = {}
        self._lock = threading.Lock()
        self._timestamps = TimestampSerializer(JSONSerializer.DEFAULT_TIMESTAMP_FORMAT)
        self._picker = XFormedAttributePicker()

    def output(self, operation: OperationModel) -> _Serialize:
        shape = operation.output_shape
        assert isinstance(shape, StructureShape)
        key = (*_service_key(operation), "output", operation.name)
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._structure(shape, operation)
                self._plans[key] = plan
        return plan

    def _of(self, shape: Any, operation: OperationModel) -> _Serialize:  # a moto or botocore Shape
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            if shape.is_document_type:
                return _identity
            return self._structure(shape, operation)
        if kind == "list":
            assert isinstance(shape, ListShape)
            return self._list(shape, operation)
        if kind == "map":
            assert isinstance(shape, MapShape)
            return self._map(shape, operation)
        if kind == "string":
            return _string
        if kind in ("integer", "long"):
            return int
        if kind in ("float", "double"):
            return float
        if kind == "blob":
            return _blob
        if kind == "timestamp":
            timestamp_format = shape.serialization.get("timestampFormat", JSONSerializer.DEFAULT_TIMESTAMP_FORMAT)
            convert = self._timestamps._convert_timestamp_to_str
            return lambda value: convert(value, timestamp_format)
        return _identity  # boolean, and moto's _default_serialize for anything else

    def _structure(self, shape: StructureShape, operation: OperationModel) -> _Serialize:
        # moto's walk sets `member.parent` before picking a member; ShapePrefixAlias and ShapeNameAlias read it.
        members: list[tuple[str, tuple[str, ...], _Serialize]] = []
        filled = members
        shapes: list[tuple[str, Shape]] = []  # (member key, member shape), for the candidates of a model object
        # For a value with one key (every DynamoDB attribute value is one): the members that key is a candidate
        # of, in member order. The picker's first-match rule gives the same members, each reading that key.
        by_key: dict[str, list[tuple[str, _Serialize]]] = {}
        # For a model object: each member's candidate keys for its class (moto's ExplicitAlias reads the class's
        # Meta, ClassPrefixAlias its name), read with moto's own get_value.
        by_class: dict[type, list[tuple[str, tuple[str, ...], _Serialize]] | None] = {}

        def serialize_object(value: Any) -> Any:
            if "Meta" in getattr(value, "__dict__", ()):
                raise _Fallback(shape.name)  # an alias table of the object's own, not its class's
            kind = type(value)
            if kind not in by_class:
                by_class[kind] = self._object_members(kind, value, shapes, filled, operation)
            object_members = by_class[kind]
            if object_members is None:
                raise _Fallback(shape.name)  # aliases that can differ from one object of the class to another
            return _picked(value, object_members, get_value, MISSING)

        def serialize_value(value: Any) -> Any:
            if value is None:
                return _SKIP
            if type(value) is not dict:  # a model object: its aliases depend on its class
                return serialize_object(value)
            out: dict[str, Any] = {}
            if len(value) == 1:
                if not by_key:
                    for out_key, candidates, serialize in filled:
                        for candidate in candidates:
                            by_key.setdefault(candidate, []).append((out_key, serialize))
                ((key, member_value),) = value.items()
                if member_value is not None:
                    for out_key, serialize in by_key.get(key, ()):
                        serialized = serialize(member_value)
                        if serialized is not _SKIP:
                            out[out_key] = serialized
                return out
            return _picked(value, filled, dict.get, _SKIP)

        # Registered before the members are compiled: recursive shapes (DynamoDB's AttributeValue) reuse it.
        # Keyed by name: botocore makes a new Shape object at each resolution of a reference.
        key = (*_service_key(operation), "structure", shape.name)
        existing = self._plans.get(key)
        if existing is not None:
            return existing
        self._plans[key] = serialize_value
        for member_key, member_shape in shape.members.items():
            member_shape.parent = shape  # type: ignore[attr-defined]
            candidates = self._candidates(member_key, member_shape, operation)
            out_key = member_shape.serialization.get("name", member_key)
            members.append((out_key, candidates, self._of(member_shape, operation)))
            shapes.append((member_key, member_shape))
        return serialize_value

    def _object_members(
        self,
        kind: type,
        example: Any,
        shapes: list[tuple[str, Shape]],
        members: list[tuple[str, tuple[str, ...], _Serialize]],
        operation: OperationModel,
    ) -> list[tuple[str, tuple[str, ...], _Serialize]] | None:
        """Each member's candidate keys for objects of `kind` (`example` is one without an alias table of its own),
        or None where they may differ per object (a class answering any attribute through `__getattr__`)."""
        if getattr(kind, "__getattr__", None) is not None:
            return None
        return [
            (out_key, self._candidates(member_key, member_shape, operation, example), serialize)
            for (member_key, member_shape), (out_key, _, serialize) in zip(shapes, members, strict=True)
        ]

    def _candidates(self, key: str, shape: Shape, operation: OperationModel, obj: Any = None) -> tuple[str, ...]:
        """The keys moto's XFormedAttributePicker tries on a plain dict (or on `obj`), in its order (duplicates
        dropped)."""
        context = AttributePickerContext(
            obj={} if obj is None else obj,
            key=key,
            shape=shape,
            operation_model=operation,
            service_model=operation.service_model,
        )
        seen: list[str] = []
        for candidate in self._picker.get_possible_keys(context):
            if candidate not in seen:
                seen.append(candidate)
        return tuple(seen)

    def _list(self, shape: ListShape, operation: OperationModel) -> _Serialize:
        member = shape.member
        serialize_item = self._of(member, operation)
        # moto writes each item under get_serialized_name(member, member.name) and reads it back under
        # member.name: a member with a different wire name makes it keep the raw item.
        raw_items = member.serialization.get("name", member.name) != member.name

        def serialize_list(value: Any) -> Any:
            if raw_items:
                return list(value)
            out = []
            for item in value:
                serialized = serialize_item(item)
                out.append(item if serialized is _SKIP else serialized)  # moto keeps an item it wrote nothing for
            return out

        return serialize_list

    def _map(self, shape: MapShape, operation: OperationModel) -> _Serialize:
        value_shape = shape.value
        if "name" in value_shape.serialization:
            # moto would write every entry under that one name; no JSON model does this: leave it to moto.
            def refuse(value: Any) -> Any:
                raise _Fallback(shape.name)

            return refuse
        serialize_value = self._of(value_shape, operation)

        def serialize_map(value: Any) -> Any:
            out = {}
            for key, item in value.items():
                serialized = serialize_value(item)
                if serialized is not _SKIP:
                    out[key] = serialized
            return out

        return serialize_map


def _picked(
    value: Any,
    members: list[tuple[str, tuple[str, ...], _Serialize]],
    read: Callable[[Any, str, Any], Any],
    missing: Any,
) -> dict[str, Any]:
    """moto's picker over a structure's members: each member's first candidate key that `read` finds; a member
    found as None, or not found, is left out."""
    out: dict[str, Any] = {}
    for out_key, candidates, serialize in members:
        for candidate in candidates:
            member_value = read(value, candidate, missing)
            if member_value is not missing:
                break
        else:
            continue
        if member_value is None:
            continue
        serialized = serialize(member_value)
        if serialized is not _SKIP:
            out[out_key] = serialized
    return out


def _service_key(operation: OperationModel) -> tuple[str, str]:
    service = operation.service_model
    return service.service_name, str(service.metadata.get("apiVersion", ""))


def _identity(value: Any) -> Any:
    return value


def _string(value: Any) -> Any:
    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")


_PLANS = _Plans()


class FastJSONSerializer(JSONSerializer):
    """moto's JSONSerializer with a compiled plan for results; moto's own code for everything else."""

    def _serialize_result(self, resp: Any, result: Any) -> Any:
        output_shape = self.operation_model.output_shape
        picker = self._value_picker
        if (
            not isinstance(output_shape, StructureShape)
            or type(picker) is not XFormedAttributePicker
            or picker.response_transformers  # moto's RESPONSE_KEY_PATH_TO_TRANSFORMER: its own walk applies them
        ):
            return super()._serialize_result(resp, result)
        try:
            serialized = _PLANS.output(self.operation_model)(result)
        except _Fallback:
            return super()._serialize_result(resp, result)
        body = {} if serialized is _SKIP else serialized
        return self._serialized_result_to_response(resp, result, output_shape, body)


# --- installing ---------------------------------------------------------------------------------------------------


_original_get_serializer_class = moto_serialize.get_serializer_class
_shared_error_tables: dict[str, Any] = {}


def _get_serializer_class(service_name: str, protocol: str) -> type[Any]:
    chosen = _original_get_serializer_class(service_name, protocol)
    return FastJSONSerializer if chosen is JSONSerializer else chosen


class _SharedErrorLookupFactory(moto_errors.ErrorLookupFactory):
    """One error-code table per service for the process (it depends on the service model only)."""

    def __init__(self) -> None:
        self._error_lut_cache = _shared_error_tables


def counted_patch(
    install: Callable[[], None], uninstall: Callable[[], None]
) -> Callable[[], contextlib.AbstractContextManager[bool]]:
    """A context manager that keeps `install`'s patches on while any block using it runs (nested and concurrent
    uses are counted; the last one out calls `uninstall`), and yields whether the fast path is on at all."""
    lock = threading.Lock()
    depth = 0

    @contextlib.contextmanager
    def installed() -> Iterator[bool]:
        nonlocal depth
        if not enabled():
            yield False
            return
        with lock:
            if depth == 0:
                install()
            depth += 1
        try:
            yield True
        finally:
            with lock:
                depth -= 1
                if depth == 0:
                    uninstall()

    return installed


_originals: dict[str, Any] = {}


def _install() -> None:
    _originals["serializer"] = moto_responses.get_serializer_class
    _originals["factory"] = moto_errors.ErrorLookupFactory
    moto_responses.get_serializer_class = _get_serializer_class
    moto_errors.ErrorLookupFactory = _SharedErrorLookupFactory  # type: ignore[misc]


def _uninstall() -> None:
    moto_responses.get_serializer_class = _originals.pop("serializer")
    moto_errors.ErrorLookupFactory = _originals.pop("factory")  # type: ignore[misc]


# The fast path while the block runs (nested uses are counted); yields whether it is on.
installed = counted_patch(_install, _uninstall)


def serialize_with_plan(operation: OperationModel, result: Any) -> Any:
    """The plan's body for `result` (a test hook: raises LookupError where moto's serializer would answer)."""
    if not isinstance(operation.output_shape, StructureShape):
        raise LookupError(f"{operation.name} has no output structure: moto's serializer answers")
    try:
        serialized = _PLANS.output(operation)(result)
    except _Fallback as exc:
        raise LookupError(f"not covered by the plan: {exc}") from exc
    return {} if serialized is _SKIP else serialized
