"""What IAM authorises for one botocore call: the action(s), the resource ARNs and the request's context keys.

The action's resource types and their ARN formats come from parliament's bundled IAM database (parliament 1.6.4,
`iam_definition.json`, built from the Service Authorization Reference,
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):
every resource type the reference marks required (`*`) is in the request; an optional one only when the request
names it (a Query on an index). What this module writes by hand is only where the request names each resource
(the parameter that carries a table name, a queue URL, a workspace id...): `_VARIABLES`, one line per
(service, resource type). An action the database lists with a required resource type this module cannot fill
from the request raises UnmodelledCall, so a new call is never authorised by default.

The IAM action of an operation is `<prefix>:<OperationName>`; the exceptions, each with its evidence, are in
`_ACTIONS`. Dependent authorisations AWS makes on the caller's behalf are in `dependent_requests`.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from localcloud.iam import Request, Resource


class UnmodelledCall(LookupError):
    """A call whose IAM action or resources this module cannot name: refused loudly, never allowed."""


class Facts(Protocol):
    """What the world knows about its resources (read from moto and the emulator, not through the API)."""

    account_id: str
    region: str

    def tags_of(self, arn: str) -> Mapping[str, str] | None: ...

    def bundle_owner_account(self, bundle_id: str) -> str: ...

    def kms_key_of(self, arn: str) -> str | None: ...


# botocore service name -> IAM service prefix where they differ (Service Authorization Reference, "service
# prefix" of each page: Resource Groups Tagging API is `tag`).
_PREFIXES = {"resourcegroupstaggingapi": "tag", "sesv2": "ses", "monitoring": "cloudwatch"}

# Several reference pages share the `ses` prefix: the botocore client says which API is called.
_PAGES = {"ses": "Amazon SES", "sesv2": "Amazon Simple Email Service v2"}

# (service, operation) -> IAM action(s) where the operation's name is not an action of the reference.
_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # SQS batch calls are authorised as their single action (SQS API reference, SendMessageBatch: "permission
    # to call SendMessage"; the reference lists no SendMessageBatch action).
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    # S3: ListObjects(V2) is s3:ListBucket, HeadObject is s3:GetObject (S3 API reference, "Permissions").
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
}


@functools.lru_cache(maxsize=1)
def _database() -> dict[str, list[Mapping[str, Any]]]:
    """parliament's iam_definition.json by service prefix (several pages share `ses` and `iam`)."""
    with warnings.catch_warnings():  # parliament imports pkg_resources, which warns on import
        warnings.simplefilter("ignore")
        import parliament

    path = Path(parliament.__file__).with_name("iam_definition.json")
    by_prefix: dict[str, list[Mapping[str, Any]]] = {}
    for service in json.loads(path.read_text(encoding="utf-8")):
        by_prefix.setdefault(service["prefix"], []).append(service)
    return by_prefix


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str
    required: bool


@functools.lru_cache(maxsize=1024)
def resource_types(action: str, page: str | None = None) -> tuple[ResourceType, ...] | None:
    """The resource types the reference lists for `prefix:Action` (None: no such action), from the reference
    page `page` when several share the prefix."""
    prefix, _, name = action.partition(":")
    pages = _database().get(prefix, [])
    for service in [p for p in pages if p["service_name"] == page] or pages:
        formats = {r["resource"]: r["arn"] for r in service["resources"]}
        for privilege in service["privileges"]:
            if privilege["privilege"].lower() != name.lower():
                continue
            found = []
            for entry in privilege["resource_types"]:
                raw = entry["resource_type"]
                if not raw:
                    continue
                base = raw.rstrip("*")
                found.append(ResourceType(base, formats.get(base, ""), raw.endswith("*")))
            return tuple(found)
    return None


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    if (service, operation) in _ACTIONS:
        return _ACTIONS[(service, operation)]
    action = f"{_PREFIXES.get(service, service)}:{operation}"
    if resource_types(action) is None:
        raise UnmodelledCall(f"{service}:{operation} is not an action of the IAM database")
    return (action,)


# ------------------------------------------------------------------ where a request names its resources

Variables = list[dict[str, str]]


def _queue_name(url: str) -> str:
    return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]


def _arn_tail(value: str, sep: str = ":") -> str:
    """A name given as a name or as an ARN (TopicArn, EventBusName may be either)."""
    return value.rsplit(sep, 1)[-1] if value.startswith("arn:") else value


def _tables(params: Mapping[str, Any]) -> Variables:
    if "TableName" in params:
        return [{"TableName": _arn_tail(str(params["TableName"]), "/")}]
    if "RequestItems" in params:  # BatchGetItem, BatchWriteItem
        return [{"TableName": _arn_tail(str(name), "/")} for name in params["RequestItems"]]
    return []


def _index(params: Mapping[str, Any]) -> Variables:
    if "IndexName" in params:
        return [{"TableName": _arn_tail(str(params["TableName"]), "/"), "IndexName": str(params["IndexName"])}]
    return []


def _workspace_ids(params: Mapping[str, Any]) -> Variables:
    ids: list[str] = []
    for key in ("WorkspaceId", "SourceWorkspaceId"):
        if key in params:
            ids.append(str(params[key]))
    for key in (
        "StopWorkspaceRequests",
        "StartWorkspaceRequests",
        "TerminateWorkspaceRequests",
        "RebootWorkspaceRequests",
        "RebuildWorkspaceRequests",
    ):
        ids += [str(item["WorkspaceId"]) for item in params.get(key, [])]
    ids += [str(i) for i in params.get("WorkspaceIds", [])]
    return [{"WorkspaceId": i} for i in dict.fromkeys(ids)]


def _new_workspaces(params: Mapping[str, Any]) -> Variables:
    # The desk a CreateWorkspaces makes has no id yet: its ARN is the reference's format with `*` for the id
    # (our reading; a policy must then grant `workspace/*`, as the template does).
    return [{"WorkspaceId": "*"}] if params.get("Workspaces") else []


def _directories(params: Mapping[str, Any]) -> Variables:
    ids = [str(w["DirectoryId"]) for w in params.get("Workspaces", [])]
    return [{"DirectoryId": i} for i in dict.fromkeys(ids)]


def _bundles(params: Mapping[str, Any]) -> Variables:
    ids = [str(w["BundleId"]) for w in params.get("Workspaces", [])]
    if "BundleId" in params:
        ids.append(str(params["BundleId"]))
    return [{"BundleId": i} for i in dict.fromkeys(ids)]


def _queue(params: Mapping[str, Any]) -> Variables:
    if "QueueUrl" in params:
        return [{"QueueName": _queue_name(str(params["QueueUrl"]))}]
    if "QueueName" in params:
        return [{"QueueName": str(params["QueueName"])}]
    return []


def _topic(params: Mapping[str, Any]) -> Variables:
    arn = params.get("TopicArn") or params.get("TargetArn")
    return [{"TopicName": _arn_tail(str(arn))}] if arn else []


def _buses(params: Mapping[str, Any]) -> Variables:
    # An entry without EventBusName goes to the default bus (PutEventsRequestEntry, EventBridge API reference).
    names = [_arn_tail(str(e.get("EventBusName") or "default"), "/") for e in params.get("Entries", [])]
    return [{"EventBusName": n} for n in dict.fromkeys(names)]


def _schedule(params: Mapping[str, Any]) -> Variables:
    return [{"GroupName": str(params.get("GroupName") or "default"), "ScheduleName": str(params["Name"])}]


def _parameter(params: Mapping[str, Any]) -> Variables:
    names = [params["Name"]] if "Name" in params else list(params.get("Names", []))
    return [{"ParameterNameWithoutLeadingSlash": str(n).lstrip("/")} for n in names]


def _alarms(params: Mapping[str, Any]) -> Variables:
    if "AlarmName" in params:
        return [{"AlarmName": str(params["AlarmName"])}]
    if "AlarmNames" in params:
        return [{"AlarmName": str(n)} for n in params["AlarmNames"]]
    # DescribeAlarms by prefix or of everything: the alarms it may return (our reading of `alarm*` for a
    # listing call; a policy granting only some alarm names does not cover it).
    return [{"AlarmName": f"{params.get('AlarmNamePrefix', '')}*"}]


def _identity(params: Mapping[str, Any]) -> Variables:
    source = params.get("Source") or params.get("FromEmailAddress")
    return [{"IdentityName": str(source)}] if source else []


def _configuration_set(params: Mapping[str, Any]) -> Variables:
    name = params.get("ConfigurationSetName")
    return [{"ConfigurationSetName": str(name)}] if name else []


def _object(params: Mapping[str, Any]) -> Variables:
    return [{"BucketName": str(params["Bucket"]), "ObjectName": str(params["Key"])}] if "Key" in params else []


def _bucket(params: Mapping[str, Any]) -> Variables:
    return [{"BucketName": str(params["Bucket"])}] if "Bucket" in params else []


def _function(params: Mapping[str, Any]) -> Variables:
    return [{"FunctionName": _arn_tail(str(params["FunctionName"]))}] if "FunctionName" in params else []


def _key(params: Mapping[str, Any]) -> Variables:
    return [{"KeyId": _arn_tail(str(params["KeyId"]), "/")}] if "KeyId" in params else []


_VARIABLES: dict[tuple[str, str], Callable[[Mapping[str, Any]], Variables]] = {
    ("dynamodb", "table"): _tables,
    ("dynamodb", "index"): _index,
    ("workspaces", "workspaceid"): _workspace_ids,
    ("workspaces", "directoryid"): _directories,
    ("workspaces", "workspacebundle"): _bundles,
    ("sqs", "queue"): _queue,
    ("sns", "topic"): _topic,
    ("events", "event-bus"): _buses,
    ("scheduler", "schedule"): _schedule,
    ("ssm", "parameter"): _parameter,
    ("cloudwatch", "alarm"): _alarms,
    ("ses", "identity"): _identity,
    ("ses", "configuration-set"): _configuration_set,
    ("s3", "object"): _object,
    ("s3", "bucket"): _bucket,
    ("lambda", "function"): _function,
    ("kms", "key"): _key,
}

_VARIABLE = re.compile(r"\$\{([A-Za-z]+)\}")


def arn_of(arn_format: str, values: Mapping[str, str], facts: Facts) -> str:
    known = {"Partition": "aws", "Region": facts.region, "Account": facts.account_id, **values}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            raise UnmodelledCall(f"no value for ${{{name}}} in {arn_format}")
        return known[name]

    return _VARIABLE.sub(fill, arn_format)


def _resources(
    prefix: str, action: str, operation: str, params: Mapping[str, Any], facts: Facts, page: str | None = None
) -> list[Resource]:
    types = resource_types(action, page) or ()
    found: list[Resource] = []
    for kind in types:
        extract = _VARIABLES.get((prefix, kind.name))
        values = extract(params) if extract is not None else []
        if kind.name == "workspaceid" and operation == "CreateWorkspaces":
            values = _new_workspaces(params)
        if not values:
            if kind.required:
                raise UnmodelledCall(f"{action}: cannot name its required {kind.name} from the request")
            continue
        for value in values:
            arn = arn_of(kind.arn_format, value, facts)
            if kind.name == "workspacebundle" and facts.bundle_owner_account(value["BundleId"]) == "":
                # AWS-owned bundles have no account in their ARN ("arn:aws:workspaces:region::workspacebundle/..."
                # in the WorkSpaces Administration Guide, "Identity and access management for WorkSpaces").
                arn = arn.replace(f":{facts.account_id}:workspacebundle/", "::workspacebundle/")
            found.append(Resource(arn, None if "*" in value.values() else facts.tags_of(arn)))
    if not types:  # no resource-level permissions: the policy must say "*"
        found.append(Resource("*"))
    return found


def _request_tags(params: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    lists: list[Any] = [params.get("Tags")]
    lists += [w.get("Tags") for w in params.get("Workspaces", [])]
    for listed in lists:
        if isinstance(listed, list):
            tags.update({str(t["Key"]): str(t.get("Value", "")) for t in listed})
        elif isinstance(listed, Mapping):  # SQS CreateQueue's tags map
            tags.update({str(k): str(v) for k, v in listed.items()})
    return tags


def context_of(params: Mapping[str, Any]) -> dict[str, Any]:
    """The request's condition keys this module models: aws:RequestTag/*, aws:TagKeys."""
    context: dict[str, Any] = {}
    tags = _request_tags(params)
    if tags:
        context["aws:TagKeys"] = sorted(tags)
        for key, value in tags.items():
            context[f"aws:RequestTag/{key}"] = value
    return context


def _transact_items(service: str, params: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """TransactWriteItems is authorised per item as PutItem/UpdateItem/DeleteItem/ConditionCheckItem and
    TransactGetItems as GetItem (DynamoDB developer guide, "Using IAM with DynamoDB transactions")."""
    names = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
    for item in params.get("TransactItems", []):
        for kind, body in item.items():
            operation = "GetItem" if kind == "Get" else names[kind]
            yield f"{service}:{operation}", body


def requests_for(service: str, operation: str, params: Mapping[str, Any], facts: Facts) -> list[Request]:
    """Every IAM authorisation the call needs (more than one for transactions and dependent actions)."""
    prefix = _PREFIXES.get(service, service)
    if service == "dynamodb" and operation in ("TransactWriteItems", "TransactGetItems"):
        return [
            Request(action, tuple(_resources(prefix, action, operation, body, facts)), {})
            for action, body in _transact_items(prefix, params)
        ]
    found: list[Request] = []
    context = context_of(params)
    for action in iam_actions(service, operation):
        resources = _resources(prefix, action, operation, params, facts, _PAGES.get(service))
        found.append(Request(action, tuple(resources), context))
    return found + dependent_requests(prefix, operation, params, facts)


def dependent_requests(prefix: str, operation: str, params: Mapping[str, Any], facts: Facts) -> list[Request]:
    """What AWS also authorises as the caller:

    - CreateSchedule/UpdateSchedule pass the target's role: iam:PassRole on it with iam:PassedToService
      scheduler.amazonaws.com (the reference lists iam:PassRole as CreateSchedule's dependent action; the
      context key's value is the service principal, IAM User Guide "Granting a user permissions to pass a role");
    - sending to an encrypted queue or topic: kms:GenerateDataKey and kms:Decrypt on its key (SQS developer
      guide, "Configuring KMS permissions for producers"; SNS developer guide, "Encryption at rest: key
      management": publishers need both).
    """
    found: list[Request] = []
    if prefix == "scheduler" and operation in ("CreateSchedule", "UpdateSchedule"):
        role = (params.get("Target") or {}).get("RoleArn")
        if role:
            context = {"iam:PassedToService": "scheduler.amazonaws.com"}
            found.append(Request("iam:PassRole", (Resource(str(role)),), context))
    target: str | None = None
    if prefix == "sqs" and operation in ("SendMessage", "SendMessageBatch") and "QueueUrl" in params:
        name = _queue_name(str(params["QueueUrl"]))
        target = f"arn:aws:sqs:{facts.region}:{facts.account_id}:{name}"
    elif prefix == "sns" and operation == "Publish":
        target = params.get("TopicArn") or params.get("TargetArn")
    key = facts.kms_key_of(str(target)) if target else None
    if key is not None:
        found += [Request(a, (Resource(key),), {}) for a in ("kms:GenerateDataKey", "kms:Decrypt")]
    return found
