"""DynamoDB capacity, estimated from item sizes as DynamoDB bills it
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).

moto answers ReturnConsumedCapacity with a constant (1.0 a write, whatever the item), so the benchmarks size the
items themselves: a write costs one write unit per started kilobyte of the larger of the item before and after it
(at least one), twice that inside a transaction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

WRITE_UNIT_BYTES = 1024


def _number_size(text: str) -> int:
    """About one byte per two significant digits, plus one byte (at most 21)."""
    mantissa = text.lstrip("-").lower().split("e")[0].replace(".", "").strip("0") or "0"
    return min(21, math.ceil(len(mantissa) / 2) + 1)


def _binary_size(data: Any) -> int:
    """Raw bytes, or the decoded length of base64 text (the wire format)."""
    return len(data) if isinstance(data, bytes | bytearray) else len(str(data).rstrip("=")) * 3 // 4


def value_size(value: Mapping[str, Any]) -> int:
    """Size in bytes of one attribute value in DynamoDB's wire format (`{"S": "x"}`)."""
    [(kind, data)] = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return _binary_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(item).encode()) for item in data)
    if kind == "NS":
        return sum(_number_size(str(item)) for item in data)
    if kind == "BS":
        return sum(_binary_size(item) for item in data)
    if kind == "L":
        return 3 + sum(1 + value_size(item) for item in data)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + value_size(item) for name, item in data.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Size in bytes of an item: attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size_before: int, size_after: int) -> int:
    """Write units of one write: one per started kilobyte of the larger of the item before and after, at least 1."""
    return max(1, math.ceil(max(size_before, size_after) / WRITE_UNIT_BYTES))
