"""Work moto repeats at every request, done once (moto 5.2.5; the same answers, measured in docs/performance.md).

- `BaseResponse.call_action` lists the handler class's methods with `inspect.getmembers` at every request (a walk
  of a few hundred attributes, `dir()` and a sort each time): the list depends on the class only, so it is kept
  per class while the local cloud runs.
- moto's request router (`BotocoreStubber.process_request`) tries the URL patterns of every service, then every
  URL pattern of the matching service (`backend.urls` rebuilds that table at each access), at every request: the
  handler it finds depends on the URL only, so it is kept per URL (bounded) and the rest of the request is
  moto's own code (`normalize_request`, the recorder, the handler, its HTTP errors).
- A DynamoDB item is built attribute by attribute into moto's `LimitedSizeDict`, which sums the size of every
  attribute already there at each one it adds (the 400 KB rule; quadratic in the attributes): the same running sum
  is kept as the item is built, and the same `ItemSizeTooLarge` raised at the same attribute.
- DynamoDB's BatchGetItem and Query compute each item's size twice (once for the 16 MB or 1 MB rule, once to add
  it up), a walk of every attribute of every item: within one call an item cannot change, so its size is computed
  once for that call.
- The size of a DynamoDB value (`DynamoType.size`, for the 400 KB, 1 MB and 16 MB rules: every attribute of every
  item written, queried or batch-read) tests the type through up to four methods before the common case: the
  same rules are applied with one type test per value (a map's members are still copied before they are sized,
  as moto does).
- DynamoDB's Query (`Table.query`) sorts every item of the table by its key (`all_items`, with `DynamoType`
  comparisons that convert both values at each one), then keeps those of the queried partition: on an index,
  items whose hash-key attributes equal the query's; on the table, items whose hash key equals it. The candidates
  it then filters again and sorts are handed to it already narrowed: the table's own partition (moto's dict of
  items keyed by hash key, the same equality), or on an index the items that can pass moto's own test (same type,
  and for a string the same value), in moto's order. moto's code still runs every check on them.
- DynamoDB's condition parser (`ConditionExpressionParser`, used for ConditionExpression, FilterExpression and
  KeyConditionExpression) lexes the expression string at every parse, twice per conditional PutItem (once to
  validate the names, once to evaluate), one regular-expression list rebuilt per token: the tokens depend on the
  string only, so they are kept per string (bounded; an expression that does not lex is lexed, and refused, each
  time). The parse itself (names and values substituted into the tree) is moto's, at every call.
- Every DynamoDB answer goes through `dynamo_to_dict`, which re-imports `DynamoType` and tries `isinstance` and
  `hasattr` on every node of every item (a third of a BatchGetItem of 100 items): plain dicts, an item's
  attribute dict, lists, scalars and `DynamoType` values are converted by the same rules with one type test each;
  anything else is moto's function.
- SQS's ReceiveMessage checks each message it hands out against the queue's retention period by asking for the
  queue's attributes (`get_queue_attributes(["MessageRetentionPeriod"])`), which builds the whole attribute
  table three times, each time counting the queue's visible, delayed and in-flight messages with a clock read
  per message: quadratic in the queue's depth. The period is read from the queue (the attribute moto's table
  reads) and compared as moto compares it.
- Every look-up of a service's backend for an account (`BackendDict.__getitem__`, several per request) takes a
  lock, lists the dictionary's keys, and searches the list of registered backend dictionaries with an equality
  test per entry. When the account's backend exists and the dictionary is registered (the same instance in that
  list, as moto's membership test finds it), the backend is returned as moto would; otherwise moto's own code
  runs.

- moto keeps every model object it ever made (`BaseModel.__new__` appends it to its class's `instances_tracked`,
  for the moto server's `/moto-api/data.json` dashboard and S3's reset): the copies DynamoDB's Query, Scan and
  GetItem make of every item they answer, every replaced item, every deleted SQS message stay in memory for the
  life of the process, the largest part of the local cloud's growth per simulated day. While the local cloud
  runs, that list holds its instances weakly (`_LiveInstances`: the same instances, in the same order, for as
  long as anything else holds them); S3's keys and multipart uploads stay held as moto holds them (its reset
  disposes of their buffers through that list).

tests/integration/test_fast_moto.py checks each against moto's own code. `LOCALCLOUD_FAST=0` keeps moto's.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any

import moto.backend_index as backend_index
from moto.core import botocore_stubber
from moto.core import responses as moto_responses
from moto.core.base_backend import BackendDict
from moto.core.common_models import BaseModel
from moto.core.exceptions import HTTPException
from moto.core.model_instances import model_data
from moto.core.utils import unix_time
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize, dynamo_to_dict
from moto.dynamodb.responses import DynamoHandler
from moto.s3.models import FakeKey, FakeMultipart
from moto.sqs.models import Message, SQSBackend

from localcloud import fast_json

_original_method_names = moto_responses.method_names_from_class
_original_item_size = Item.size
_original_value_size = DynamoType.size
_original_item_init = Item.__init__
ITEM_SIZE_LIMIT = 405000  # moto's LimitedSizeDict limit (moto 5.2.5: "between 409 and 410KB" measured on AWS)
_original_batch_get_item = DynamoHandler.batch_get_item
_original_process_request = botocore_stubber.BotocoreStubber.process_request
_method_names: dict[type, list[str]] = {}
_handlers: dict[str, Any] = {}  # clean URL -> moto's handler for it, or _NOT_MOCKED
_NOT_MOCKED = object()
_HANDLERS_KEPT = 4096  # S3 object URLs are many: the table is emptied when it is full
_call = threading.local()  # the sizes of the BatchGetItem call running on this thread
_original_lex = ConditionExpressionParser._lex_condition_expression
_lexed: dict[str, tuple[Any, ...]] = {}  # expression -> moto's tokens
_LEXED_KEPT = 4096
_original_dynamo_to_dict = dynamo_to_dict
_original_parse = ConditionExpressionParser.parse
_original_put_item = DynamoHandler.put_item
_original_query = Table.query
_original_backend_for_account = BackendDict.__getitem__
_original_all_items = Table.all_items
_SCALARS = (str, int, float, bool, type(None))


def _cached_method_names(clazz: Any) -> list[str]:
    names = _method_names.get(clazz)
    if names is None:
        names = _method_names[clazz] = _original_method_names(clazz)
    return list(names)  # a copy: callers own their list, as with moto's


def forget_classes() -> None:
    """A response class gained or lost methods (the WorkSpaces emulator's install and uninstall call this)."""
    _method_names.clear()


def _handler_for(clean_url: str) -> Any:
    """moto's own search (BotocoreStubber.process_request, moto 5.2.5), without calling the handler."""
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID

    for service, pattern in backend_index.backend_url_patterns:
        if pattern.match(clean_url):
            if botocore_stubber.passthrough_service(service):
                return _NOT_MOCKED
            if not botocore_stubber.service_whitelisted(service):
                return None  # moto's own code raises ServiceNotWhitelisted
            backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
            if isinstance(backend_dict, BackendDict):
                if "us-east-1" in backend_dict[DEFAULT_ACCOUNT_ID]:
                    backend = backend_dict[DEFAULT_ACCOUNT_ID]["us-east-1"]
                else:
                    backend = backend_dict[DEFAULT_ACCOUNT_ID]["aws"]
            else:
                backend = backend_dict["global"]
            for url, method_to_execute in backend.urls.items():
                if re.compile(url).match(clean_url):
                    return method_to_execute
    return None  # moto's own code answers 404 or lets the request through


def routed(clean_url: str) -> Any:
    """The handler moto's router gives `clean_url` (kept per URL), `_NOT_MOCKED`, or None where moto's own code
    must decide (localcloud.fast_transport uses it too)."""
    handler = _handlers.get(clean_url)
    if handler is None:
        handler = _handler_for(clean_url)
        if handler is None:
            return None
        if len(_handlers) >= _HANDLERS_KEPT:
            _handlers.clear()
        _handlers[clean_url] = handler
    return handler


def _process_request(self: Any, request: Any) -> Any:
    parsed_url, _ = botocore_stubber.get_equivalent_url_in_aws_domain(request.url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    if botocore_stubber.passthrough_url(clean_url):
        return None
    handler = routed(clean_url)
    if handler is None:
        return _original_process_request(self, request)
    if handler is _NOT_MOCKED:
        return None
    from moto.moto_api import recorder

    normalized_request = botocore_stubber.normalize_request(request)
    try:
        recorder._record_request(normalized_request)
        status, headers, body = handler(normalized_request, normalized_request.raw_url, normalized_request.headers)
    except HTTPException as e:
        status = e.code
        headers = e.get_headers()
        body = e.get_body()
    return status, headers, body


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        # moto's sum at this step: every key and value already set, plus this one
        total += bytesize(key) + typed.size()
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)


_SET_TYPES = ("SS", "NS", "BS")


def _value_size(self: DynamoType) -> int:
    """moto's `DynamoType.size` (moto 5.2.5): a number's digits as written, a set's, list's and map's members
    (a map's keys in UTF-8 bytes too), a boolean (and NULL's True) 1, anything else its bytes."""
    kind, value = self.type, self.value
    if kind == "N":
        return len(str(value))
    if kind in _SET_TYPES:
        if kind == "NS":
            return sum(len(str(member)) for member in value)
        return sum(1 if isinstance(member, bool) else bytesize(member) for member in value)
    if kind == "L":
        return sum(_value_size(member) if type(member) is DynamoType else member.size() for member in value)
    if kind == "M":  # moto sizes a copy of each member (which also converts any plain dict nested in it)
        return sum(bytesize(key) + _value_size(DynamoType(member)) for key, member in value.items())
    return 1 if isinstance(value, bool) else bytesize(value)


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


def _query(
    self: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
    **filter_kwargs: Any,
) -> Any:  # moto 5.2.5's signature
    _call.sizes = {}
    _call.query = (self, hash_key, index_name, hash_key_conditions)
    try:
        return _original_query(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )
    finally:
        _call.sizes = None
        _call.query = None


def _all_items(self: Table) -> list[Item]:
    query = getattr(_call, "query", None)
    if query is None or query[0] is not self:
        return _original_all_items(self)
    _call.query = None  # Query lists the items once; anything else it calls gets moto's list
    _, hash_key, index_name, conditions = query
    if index_name is None:  # moto keeps items whose hash key equals the query's: its partition in self.items
        partition = self.items.get(hash_key) if hash_key is not None else None
        if partition is None:
            candidates: list[Item] = [] if hash_key is not None else list(_every_item(self))
        else:
            candidates = list(partition.values()) if self.range_key_attr else [partition]
    elif conditions:
        candidates = [item for item in _every_item(self) if _may_match(item, conditions)]
    else:
        candidates = list(_every_item(self))
    return sorted(candidates, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _every_item(table: Table) -> Iterator[Item]:
    for hash_set in table.items.values():  # moto's all_items order, before its sort
        if table.range_key_attr:
            yield from hash_set.values()
        else:
            yield hash_set  # type: ignore[misc]


def _may_match(item: Item, conditions: list[tuple[str, DynamoType]]) -> bool:
    """False only where moto's own test (`not value or value != expected`) rejects the item."""
    for name, expected in conditions:
        value = item.attrs.get(name)
        if value is None or value.type != expected.type:
            return False
        if expected.type == "S" and value.value != expected.value:  # a string's cast value is the string
            return False
    return True


def _lex_condition_expression(self: ConditionExpressionParser) -> deque[Any]:
    expression = self.condition_expression
    tokens = _lexed.get(expression) if isinstance(expression, str) else None
    if tokens is None:
        tokens = tuple(_original_lex(self))  # raises as moto does; nothing is kept then
        if isinstance(expression, str):
            if len(_lexed) >= _LEXED_KEPT:
                _lexed.clear()
            _lexed[expression] = tokens
    # A new deque each time (the parser pops from it); the tokens are namedtuples whose `children` lists no stage
    # of moto's parser changes (moto 5.2.5, moto/dynamodb/comparisons.py).
    return deque(tokens)


def _parse(self: ConditionExpressionParser) -> Any:
    memo = getattr(_call, "parsed", None)
    if memo is None:  # not inside a PutItem: moto's own
        return _original_parse(self)
    names, values = self.expression_attribute_names, self.expression_attribute_values
    if memo and memo[0] == self.condition_expression and memo[1] is names and memo[2] is values:
        _call.parsed = ()  # one tree, handed on once
        self.expr_attr_names_found.extend(memo[4])
        self.expr_attr_values_found.extend(memo[5])
        return memo[3]
    op = _original_parse(self)
    found = (list(self.expr_attr_names_found), list(self.expr_attr_values_found))
    _call.parsed = (self.condition_expression, names, values, op, *found)
    return op


def _put_item(self: DynamoHandler) -> Any:
    _call.parsed = ()
    try:
        return _original_put_item(self)
    finally:
        _call.parsed = None


def _dynamo_to_dict(obj: Any) -> Any:
    """moto's `dynamo_to_dict` (moto/dynamodb/models/utilities.py) for the types a DynamoDB answer is made of."""
    kind = type(obj)
    if kind is dict or kind is LimitedSizeDict:  # an item's attributes: a dict without to_json, as moto reads it
        return {key: _dynamo_to_dict(value) for key, value in obj.items()}
    if kind is list:
        return [_dynamo_to_dict(item) for item in obj]
    if kind in _SCALARS:  # none of them is a datetime, a DynamoType or has to_json
        return obj
    if kind is DynamoType:
        if obj.type == "B":
            return {"B": obj.value if isinstance(obj.value, bytes) else base64.b64decode(obj.value)}
        if obj.type == "BS":
            return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v) for v in obj.value]}
        return {obj.type: _dynamo_to_dict(obj.value)}
    return _original_dynamo_to_dict(obj)  # datetimes, model objects with to_json, subclasses: moto's own


def _backend_for_account(self: BackendDict[Any], account_id: str) -> Any:
    if dict.__contains__(self, account_id) and any(known is self for known in BackendDict._instances):  # type: ignore[misc]
        return dict.__getitem__(self, account_id)
    return _original_backend_for_account(self, account_id)


def _message_within_retention(self: SQSBackend, queue_name: str, message: Message) -> bool:
    """moto's `is_message_valid_based_on_retention_period` (moto 5.2.5) without its attribute table."""
    retention_period = self.get_queue(queue_name).message_retention_period  # type: ignore[attr-defined]
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]


class _LiveInstances:
    """A class's `instances_tracked` that does not keep its instances alive (iterated in the order they were made)."""

    def __init__(self, instances: Any = ()) -> None:
        self._refs: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._held: dict[int, Any] = {}  # instances of a class without weak references, held as moto holds them
        self._numbers = itertools.count()
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        if type(instance).__weakrefoffset__:
            self._refs[next(self._numbers)] = instance
        else:
            self._held[next(self._numbers)] = instance

    def __iter__(self) -> Iterator[Any]:
        numbered = [*self._refs.items(), *self._held.items()]
        return iter([instance for _, instance in sorted(numbered, key=lambda pair: pair[0])])

    def __len__(self) -> int:
        return len(self._refs) + len(self._held)


_HELD = (FakeKey, FakeMultipart)  # S3's reset disposes of these through the list: held as moto holds them


def _base_model_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    instance = super(BaseModel, cls).__new__(cls)  # moto's BaseModel.__new__, moto 5.2.5
    tracked = cls.instances_tracked
    if not isinstance(tracked, _LiveInstances) and not issubclass(cls, _HELD):
        tracked = cls.instances_tracked = _LiveInstances(tracked)  # moto's list (new, or emptied by a reset)
    tracked.append(instance)
    return instance


def _hold_instances_again() -> None:
    for models in model_data.values():
        for model in models.values():
            tracked = getattr(model, "instances_tracked", None)
            if isinstance(tracked, _LiveInstances):
                model.instances_tracked = list(tracked)  # type: ignore[attr-defined]


_PATCHES: tuple[tuple[Any, str, Any], ...] = (
    (moto_responses, "method_names_from_class", _cached_method_names),
    (botocore_stubber.BotocoreStubber, "process_request", _process_request),
    (Item, "size", _item_size),
    (Item, "__init__", _item_init),
    (DynamoHandler, "batch_get_item", _batch_get_item),
    (DynamoHandler, "put_item", _put_item),
    (ConditionExpressionParser, "_lex_condition_expression", _lex_condition_expression),
    (ConditionExpressionParser, "parse", _parse),
    (dynamodb_responses, "dynamo_to_dict", _dynamo_to_dict),
    (BaseModel, "__new__", staticmethod(_base_model_new)),
    (DynamoType, "size", _value_size),
    (Table, "query", _query),
    (Table, "all_items", _all_items),
    (SQSBackend, "is_message_valid_based_on_retention_period", _message_within_retention),
    (BackendDict, "__getitem__", _backend_for_account),
)
_replaced: list[tuple[Any, str, Any]] = []  # (owner, name, what it held) while installed


def _install() -> None:
    _method_names.clear()  # a class patched between two worlds is listed again
    _handlers.clear()
    for owner, name, replacement in _PATCHES:
        _replaced.append((owner, name, vars(owner)[name]))  # as defined there (`__new__` stays a staticmethod)
        setattr(owner, name, replacement)


def _uninstall() -> None:
    while _replaced:
        owner, name, original = _replaced.pop()
        setattr(owner, name, original)
    _lexed.clear()
    _hold_instances_again()


# The shortcuts while the block runs (nested uses are counted); yields whether they are on.
installed = fast_json.counted_patch(_install, _uninstall)
