"""A compiled response parser for botocore's "json" protocol: the client half of an API call in the local cloud.

botocore's `JSONParser` reads a response by walking the output shape with `getattr(self, f"_handle_{type}")` at
every value, and checks every tagged union (DynamoDB's `AttributeValue`, one per attribute of every item) by
copying the value and rebuilding the list of its members' wire names. A 100-item BatchGetItem page is about
twenty thousand such steps; in the 300-desk sweep, botocore's parsing was about a tenth of the CPU
(docs/performance.md has the profile). Every function's client pays it, in Lambda too, but in the local cloud it
is paid by the one process that also plays every AWS service.

`plan_for(shape)` compiles the same walk once per output shape into closures: per structure, its members' wire
names in the model's order; per union, the set of its wire names. Each step does what botocore's does
(`BaseJSONParser._handle_structure`, `_handle_map`, `_handle_blob`, `_handle_timestamp`, `ResponseParser._handle_list`
and `_default_handle`), with the parser's own blob and timestamp parsers. Anything but the plain case of a union
(no member, several members, an unknown member, a `__type` key) is handed to botocore's own `_parse_shape` for that
value, so its error and its SDK_UNKNOWN_MEMBER answer are botocore's. tests/integration/test_fast_parse.py parses
every body of a session both ways and requires the same result.

Installed with the world's other hooks; `LOCALCLOUD_FAST=0` keeps botocore's own parser (the baseline).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore import parsers as botocore_parsers
from botocore.model import ListShape, MapShape, Shape, StructureShape

from localcloud import fast_json

# A plan reads one JSON value with a parser (for its blob and timestamp parsers, and botocore's own walk).
Plan = Callable[[Any, Any], Any]
_PLAN_ATTRIBUTE = "_localcloud_parse_plan"


def _identity(parser: Any, value: Any) -> Any:
    return value


def _blob(parser: Any, value: Any) -> Any:
    return parser._blob_parser(value)


def _timestamp(parser: Any, value: Any) -> Any:
    return parser._timestamp_parser(value)


class _Compiler:
    """Compiles one output shape; shapes met again during the walk (recursive ones) reuse their plan by name."""

    def __init__(self) -> None:
        self._structures: dict[str, Plan] = {}

    def of(self, shape: Shape) -> Plan:
        kind = shape.type_name
        if kind == "structure":
            assert isinstance(shape, StructureShape)
            return self._structure(shape)
        if kind == "list":
            assert isinstance(shape, ListShape)
            return self._list(shape)
        if kind == "map":
            assert isinstance(shape, MapShape)
            return self._map(shape)
        if kind == "blob":
            return _blob
        if kind == "timestamp":
            return _timestamp
        return _identity  # strings, numbers, booleans: botocore's _default_handle

    def _structure(self, shape: StructureShape) -> Plan:
        if shape.is_document_type:
            return _identity
        existing = self._structures.get(shape.name)
        if existing is not None:
            return existing
        members: list[tuple[str, str, Plan]] = []
        if shape.is_tagged_union:
            plan = self._union(shape, members)
        else:

            def plan(parser: Any, value: Any) -> Any:
                if value is None:  # "null" on the wire stays None, not an empty dict
                    return None
                out = {}
                for member_name, json_name, read in members:
                    raw = value.get(json_name)
                    if raw is not None:
                        out[member_name] = read(parser, raw)
                return out

        # Registered before the members are compiled: a recursive shape (AttributeValue's M and L) reuses it.
        self._structures[shape.name] = plan
        for member_name, member_shape in shape.members.items():
            members.append((member_name, member_shape.serialization.get("name", member_name), self.of(member_shape)))
        return plan

    def _union(self, shape: StructureShape, members: list[tuple[str, str, Plan]]) -> Plan:
        by_wire: dict[str, tuple[str, Plan]] = {}

        def plan(parser: Any, value: Any) -> Any:
            # The plain case: exactly one member, known, set. Anything else is botocore's own walk (its error for
            # zero or several members, its SDK_UNKNOWN_MEMBER for a member this SDK does not know).
            if type(value) is dict and len(value) == 1:
                if not by_wire:
                    by_wire.update({json_name: (name, read) for name, json_name, read in members})
                ((json_name, raw),) = value.items()
                known = by_wire.get(json_name)
                if known is not None and raw is not None:
                    member_name, read = known
                    return {member_name: read(parser, raw)}
            return parser._parse_shape(shape, value)

        return plan

    def _list(self, shape: ListShape) -> Plan:
        read_item = self.of(shape.member)

        def plan(parser: Any, value: Any) -> Any:
            # botocore treats every list as sparse: a null item stays None
            return [None if item is None else read_item(parser, item) for item in value]

        return plan

    def _map(self, shape: MapShape) -> Plan:
        read_key = self.of(shape.key)
        read_value = self.of(shape.value)
        if read_key is _identity:

            def plan(parser: Any, value: Any) -> Any:
                return {key: read_value(parser, item) for key, item in value.items()}

        else:

            def plan(parser: Any, value: Any) -> Any:
                return {read_key(parser, key): read_value(parser, item) for key, item in value.items()}

        return plan


_compile_lock = threading.Lock()


def plan_for(shape: Shape) -> Plan:
    """The compiled walk of `shape`, kept on the shape object (botocore's shapes live as long as their client)."""
    plan: Plan | None = shape.__dict__.get(_PLAN_ATTRIBUTE)
    if plan is None:
        with _compile_lock:
            plan = _Compiler().of(shape)
            setattr(shape, _PLAN_ATTRIBUTE, plan)
    return plan


_JSONParser: Any = botocore_parsers.JSONParser  # botocore's stubs do not declare its private methods
_original_handle_json_body = _JSONParser._handle_json_body


def _handle_json_body(self: Any, raw_body: Any, shape: Shape) -> Any:
    if type(self) is not _JSONParser:  # a subclass may read values its own way
        return _original_handle_json_body(self, raw_body, shape)
    return plan_for(shape)(self, self._parse_body_as_json(raw_body))


def parse_with_plan(parser: Any, shape: Shape, raw_body: bytes) -> Any:
    """What the plan reads from `raw_body` (a test hook, beside botocore's own `_handle_json_body`)."""
    return plan_for(shape)(parser, parser._parse_body_as_json(raw_body))


def _install() -> None:
    _JSONParser._handle_json_body = _handle_json_body


def _uninstall() -> None:
    _JSONParser._handle_json_body = _original_handle_json_body


# The compiled parser while the block runs (nested uses are counted); yields whether it is on.
installed = fast_json.counted_patch(_install, _uninstall)
