"""Work moto repeats at every request, done once (moto 5.2.5; the same answers, measured in docs/performance.md).

- `BaseResponse.call_action` lists the handler class's methods with `inspect.getmembers` at every request (a walk
  of a few hundred attributes, `dir()` and a sort each time): the list depends on the class only, so it is kept
  per class while the local cloud runs.
- DynamoDB's BatchGetItem computes each item's size twice (once for its 16 MB rule, once to add it up), a walk
  of every attribute of every item: within one BatchGetItem call an item cannot change, so its size is computed
  once for that call.

tests/integration/test_fast_moto.py checks both against moto's own code. `LOCALCLOUD_FAST=0` keeps moto's.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from moto.core import responses as moto_responses
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.responses import DynamoHandler

from localcloud import fast_json

_original_method_names = moto_responses.method_names_from_class
_original_item_size = Item.size
_original_batch_get_item = DynamoHandler.batch_get_item
_method_names: dict[type, list[str]] = {}
_call = threading.local()  # the sizes of the BatchGetItem call running on this thread


def _cached_method_names(clazz: Any) -> list[str]:
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names[clazz] = _original_method_names(clazz)
    return list(names)  # a copy: callers own their list, as with moto's


def _item_size(self: Item) -> int:
    sizes: dict[int, tuple[Item, int]] | None = getattr(_call, "sizes", None)
    if sizes is None:
        return _original_item_size(self)
    known = sizes.get(id(self))
    if known is None:
        # The item is kept with its size so that its id cannot be reused within the call (a projected item is
        # a new object per key).
        known = sizes[id(self)] = (self, _original_item_size(self))
    return known[1]


def _batch_get_item(self: DynamoHandler) -> Any:
    _call.sizes = {}
    try:
        return _original_batch_get_item(self)
    finally:
        _call.sizes = None


_lock = threading.Lock()
_installed = 0


@contextlib.contextmanager
def installed() -> Iterator[bool]:
    """The shortcuts while the block runs (nested uses are counted); yields whether they are on."""
    global _installed
    if not fast_json.enabled():
        yield False
        return
    with _lock:
        if _installed == 0:
            _method_names.clear()  # a class patched between two worlds is listed again
            moto_responses.method_names_from_class = _cached_method_names
            Item.size = _item_size  # type: ignore[method-assign]
            DynamoHandler.batch_get_item = _batch_get_item  # type: ignore[method-assign]
        _installed += 1
    try:
        yield True
    finally:
        with _lock:
            _installed -= 1
            if _installed == 0:
                moto_responses.method_names_from_class = _original_method_names
                Item.size = _original_item_size  # type: ignore[method-assign]
                DynamoHandler.batch_get_item = _original_batch_get_item  # type: ignore[method-assign]
