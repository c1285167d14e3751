"""CloudFormation intrinsic functions, resolved offline: the one resolver of the repository.

The static gates (tools/template_rules.py, tools/iam_gate.py), the contract tests and the local cloud all read the
template through this module, so they cannot read it differently.

The expanded template (SAM already translated) still carries Ref, Fn::GetAtt, Fn::Sub, Fn::If and friends.
Every resource gets the physical name CloudFormation would give it in account 123456789012, region eu-west-1
(the template names almost everything explicitly; the rest get `<stack>-<LogicalId>`), and values resolve with
the parameters' defaults unless given. Resources whose Condition is false do not exist. Anything this module
does not model raises `TemplateError` naming it, rather than guessing.

`expand_language_extensions` is the `AWS::LanguageExtensions` transform's `Fn::ForEach`, which runs before the
SAM transform as CloudFormation runs it (docs/architecture.md, "The template").
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
STACK_NAME = "workspaces-autopilot-dev"


class TemplateError(ValueError):
    """The template uses something the local cloud cannot resolve (named in the message)."""


class _NoValue:
    """AWS::NoValue: the enclosing key or list item disappears."""


NO_VALUE = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


# The property that names each resource type, the length CloudFormation cuts a generated name to, and whether a
# generated name is lower-cased (S3 bucket names must be).
_NAME_PROPERTY: dict[str, tuple[str, int, bool]] = {
    "AWS::DynamoDB::Table": ("TableName", 255, False),
    "AWS::Events::EventBus": ("Name", 256, False),
    "AWS::Events::Rule": ("Name", 64, False),
    "AWS::S3::Bucket": ("BucketName", 63, True),
    "AWS::SQS::Queue": ("QueueName", 80, False),
    "AWS::SNS::Topic": ("TopicName", 256, False),
    "AWS::Scheduler::ScheduleGroup": ("Name", 64, False),
    "AWS::Scheduler::Schedule": ("Name", 64, False),
    "AWS::IAM::Role": ("RoleName", 64, False),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", 128, False),
    "AWS::Lambda::Function": ("FunctionName", 64, False),
    "AWS::Lambda::LayerVersion": ("LayerName", 140, False),
    "AWS::Logs::LogGroup": ("LogGroupName", 512, False),
    "AWS::CloudWatch::Alarm": ("AlarmName", 255, False),
    "AWS::KMS::Alias": ("AliasName", 64, False),
}


def _ref_default_arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


class Resolver:
    """Resolves intrinsics of one expanded template for one set of parameter values."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        *,
        account_id: str = ACCOUNT_ID,
        region: str = REGION,
        stack_name: str = STACK_NAME,
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.account_id = account_id
        self.region = region
        self.stack_name = stack_name
        self.parameters: dict[str, Any] = {}
        declared = template.get("Parameters", {})
        given = dict(parameters or {})
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
        for name, spec in declared.items():
            if name in given:
                value: Any = given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"template parameter {name} has no default: give it a value")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [part.strip() for part in value.split(",")] if value else []
            elif not isinstance(value, list):
                value = str(value)
            self.parameters[name] = value
        self._conditions: dict[str, bool] = {}
        self._attributes: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ conditions and resources

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions", {})
            if name not in definitions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(definitions[name]))
        return self._conditions[name]

    def exists(self, logical_id: str) -> bool:
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        condition = resource.get("Condition")
        return condition is None or self.condition(condition)

    def of_type(self, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        """Existing resources of a type, in template order."""
        return [
            (logical_id, resource)
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type and self.exists(logical_id)
        ]

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resource's Properties with every intrinsic resolved."""
        resolved = self.resolve(self.resources[logical_id].get("Properties", {}))
        assert isinstance(resolved, dict)
        return resolved

    # ------------------------------------------------------------------ Ref and GetAtt

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/{uuid.uuid5(uuid.NAMESPACE_URL, self.stack_name)}",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.get_att(name, "Ref")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.resources:
            raise TemplateError(f"reference to unknown resource or parameter {logical_id}")
        attributes = self._described(logical_id)
        if attribute not in attributes:
            raise TemplateError(
                f"{logical_id} ({self.resources[logical_id].get('Type')}): attribute {attribute} is not modelled"
            )
        return attributes[attribute]

    def _described(self, logical_id: str) -> dict[str, Any]:
        if logical_id not in self._attributes:
            self._attributes[logical_id] = self._describe(logical_id)
        return self._attributes[logical_id]

    def arn(self, logical_id: str) -> str:
        """The resource's ARN (what IAM statements and event sources name it by)."""
        if logical_id not in self.resources:
            raise TemplateError(f"reference to unknown resource {logical_id}")
        attributes = self._described(logical_id)
        for attribute in ("Arn", "LayerVersionArn", "TopicArn", "PolicyArn"):
            if attribute in attributes:
                return str(attributes[attribute])
        raise TemplateError(f"{logical_id} ({self.resources[logical_id].get('Type')}): no ARN is modelled")

    def physical_name(self, logical_id: str) -> str:
        """The resource's name: its name property resolved, or CloudFormation's generated `<stack>-<LogicalId>`."""
        if logical_id not in self.resources:
            raise TemplateError(f"reference to unknown resource {logical_id}")
        kind = self.resources[logical_id].get("Type", "")
        if kind not in _NAME_PROPERTY:
            raise TemplateError(f"{logical_id} ({kind}): no physical name is modelled")
        key, limit, lower = _NAME_PROPERTY[kind]
        return self._name(logical_id, key, limit=limit, lower=lower)

    def _name(self, logical_id: str, key: str, *, limit: int = 64, lower: bool = False) -> str:
        props = self.resources[logical_id].get("Properties", {})
        if key in props:
            return str(self.resolve(props[key]))
        name = f"{self.stack_name}-{logical_id}"[:limit]
        return name.lower() if lower else name

    def _describe(self, logical_id: str) -> dict[str, Any]:
        kind = self.resources[logical_id].get("Type", "")
        region, account = self.region, self.account_id
        if kind == "AWS::DynamoDB::Table":
            name = self.physical_name(logical_id)
            arn = _ref_default_arn("dynamodb", region, account, f"table/{name}")
            return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}
        if kind == "AWS::Events::EventBus":
            name = self.physical_name(logical_id)
            return {"Ref": name, "Name": name, "Arn": _ref_default_arn("events", region, account, f"event-bus/{name}")}
        if kind == "AWS::Events::Rule":
            # A rule on a custom bus is rule/<bus>/<rule> (the Service Authorization Reference's
            # rule-on-custom-event-bus resource type, in parliament's iam_definition.json); on the default bus,
            # rule/<rule>.
            name = self.physical_name(logical_id)
            bus = str(self.resolve(self.resources[logical_id].get("Properties", {}).get("EventBusName", "default")))
            bus = bus.rpartition(":event-bus/")[2] if bus.startswith("arn:") else bus
            path = f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"
            return {"Ref": name, "Arn": _ref_default_arn("events", region, account, path)}
        if kind == "AWS::S3::Bucket":
            name = self.physical_name(logical_id)
            return {
                "Ref": name,
                "Arn": f"arn:{PARTITION}:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
            }
        if kind == "AWS::SQS::Queue":
            name = self.physical_name(logical_id)
            url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
            arn = _ref_default_arn("sqs", region, account, name)
            return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": arn}
        if kind == "AWS::SNS::Topic":
            name = self.physical_name(logical_id)
            arn = _ref_default_arn("sns", region, account, name)
            return {"Ref": arn, "TopicArn": arn, "TopicName": name}
        if kind == "AWS::Scheduler::ScheduleGroup":
            name = self.physical_name(logical_id)
            return {"Ref": name, "Arn": _ref_default_arn("scheduler", region, account, f"schedule-group/{name}")}
        if kind == "AWS::Scheduler::Schedule":
            name = self.physical_name(logical_id)
            props = self.resources[logical_id].get("Properties", {})
            group = str(self.resolve(props.get("GroupName", "default")))
            return {"Ref": name, "Arn": _ref_default_arn("scheduler", region, account, f"schedule/{group}/{name}")}
        if kind == "AWS::IAM::Role":
            name = self.physical_name(logical_id)
            return {
                "Ref": name,
                "Arn": f"arn:{PARTITION}:iam::{account}:role/{name}",
                "RoleId": "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:17].upper(),
            }
        if kind == "AWS::KMS::Key":
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack_name}/{logical_id}"))
            return {"Ref": key_id, "KeyId": key_id, "Arn": _ref_default_arn("kms", region, account, f"key/{key_id}")}
        if kind == "AWS::Lambda::Function":
            name = self.physical_name(logical_id)
            return {"Ref": name, "Arn": _ref_default_arn("lambda", region, account, f"function:{name}")}
        if kind == "AWS::Lambda::LayerVersion":
            name = self.physical_name(logical_id)
            arn = _ref_default_arn("lambda", region, account, f"layer:{name}:1")
            return {"Ref": arn, "LayerVersionArn": arn}
        if kind == "AWS::Logs::LogGroup":
            name = self.physical_name(logical_id)
            return {"Ref": name, "Arn": _ref_default_arn("logs", region, account, f"log-group:{name}:*")}
        if kind == "AWS::CloudWatch::Alarm":
            name = self.physical_name(logical_id)
            return {"Ref": name, "Arn": _ref_default_arn("cloudwatch", region, account, f"alarm:{name}")}
        if kind == "AWS::KMS::Alias":
            return {"Ref": self.physical_name(logical_id)}
        if kind == "AWS::IAM::ManagedPolicy":
            name = self.physical_name(logical_id)
            arn = f"arn:{PARTITION}:iam::{account}:policy/{name}"
            return {"Ref": arn, "PolicyArn": arn}
        # Anything else: CloudFormation's generic physical id; attributes beyond Ref are refused by get_att.
        return {"Ref": f"{self.stack_name}-{logical_id}"}

    # ------------------------------------------------------------------ the resolver

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self.ref(str(argument))
            if key == "Fn::GetAtt":
                logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self.get_att(str(logical_id), str(self.resolve(attribute)))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::If":
                name, if_true, if_false = argument
                return self.resolve(if_true if self.condition(name) else if_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(item) for item in argument)
                return str(left) == str(right) if not isinstance(left, list | dict) else left == right
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key == "Fn::And":
                return all(self.resolve(item) for item in argument)
            if key == "Fn::Or":
                return any(self.resolve(item) for item in argument)
            if key == "Condition":
                return self.condition(str(argument))
            if key == "Fn::Join":
                delimiter, items = argument
                return str(delimiter).join(str(item) for item in self.resolve(items))
            if key == "Fn::Split":
                delimiter, text = argument
                return str(self.resolve(text)).split(str(delimiter))
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::FindInMap":
                map_name, top, second = (self.resolve(item) for item in argument)
                try:
                    found = self.template["Mappings"][map_name][top][second]
                except KeyError as exc:
                    raise TemplateError(f"Fn::FindInMap: no {map_name}.{top}.{second}") from exc
                return self.resolve(found)
            if key == "Fn::GetAZs":
                return [f"{self.region}{zone}" for zone in "abc"]
            if key == "Fn::Base64":
                return base64.b64encode(str(self.resolve(argument)).encode()).decode()
            if key == "Fn::ToJsonString":
                return json.dumps(self.resolve(argument), separators=(",", ":"))
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not supported by the local cloud")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))


def target_id(node: Any) -> str | None:
    """The logical id a `Ref X` or `Fn::GetAtt X.Attribute` points at, unresolved; None for anything else."""
    if isinstance(node, Mapping) and len(node) == 1:
        (key, args), *_ = node.items()
        if key == "Fn::GetAtt":
            return str(args.split(".", 1)[0] if isinstance(args, str) else args[0])
        if key == "Ref":
            return str(args)
    return None


# ---------------------------------------------------------------------------------------------------- transform

LANGUAGE_EXTENSIONS = "AWS::LanguageExtensions"
_FOR_EACH = "Fn::ForEach::"
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


def expand_language_extensions(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template with every `Fn::ForEach` loop expanded and `AWS::LanguageExtensions` taken off its Transform.

    As the transform documents it (Fn::ForEach, AWS CloudFormation Template Reference): each item of the
    collection replaces `${Identifier}` and `&{Identifier}` (the item without its non-alphanumeric characters) in
    the output keys and values, and `{"Ref": Identifier}` in the values; loops nest. Only what the template uses
    is supported: a literal collection, or a Ref to a CommaDelimitedList parameter's default. A template without
    the transform is returned as it is, loops and all, as CloudFormation would refuse it.
    """
    transforms = template.get("Transform", [])
    transforms = [transforms] if isinstance(transforms, str) else list(transforms)
    if LANGUAGE_EXTENSIONS not in transforms:
        return dict(template)
    defaults = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    expanded = {key: _expand(value, defaults) for key, value in template.items()}
    rest = [name for name in transforms if name != LANGUAGE_EXTENSIONS]
    if rest:
        expanded["Transform"] = rest[0] if len(rest) == 1 else rest
    else:
        expanded.pop("Transform", None)
    return expanded


def _expand(node: Any, defaults: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_expand(item, defaults) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if not key.startswith(_FOR_EACH):
            out[key] = _expand(value, defaults)
            continue
        if not (isinstance(value, list) and len(value) == 3 and isinstance(value[2], Mapping)):
            raise TemplateError(f"{key}: expected [Identifier, Collection, {{OutputKey: OutputValue}}]")
        identifier, collection, fragment = value
        for item in _collection(key, collection, defaults):
            for name, body in _expand(_replace(fragment, str(identifier), str(item)), defaults).items():
                if name in out:
                    raise TemplateError(f"{key}: {name} is defined twice")
                out[name] = body
    return out


def _collection(loop: str, collection: Any, defaults: Mapping[str, Any]) -> list[str]:
    if isinstance(collection, Mapping) and set(collection) == {"Ref"}:
        value = defaults.get(str(collection["Ref"]))
        if not isinstance(value, str):
            raise TemplateError(f"{loop}: collection {collection} is not a parameter with a default")
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(collection, list) or not all(isinstance(item, str) for item in collection):
        raise TemplateError(f"{loop}: collection must be a list of strings")
    return list(collection)


def _replace(node: Any, identifier: str, item: str) -> Any:
    if isinstance(node, str):
        return node.replace("${" + identifier + "}", item).replace(
            "&{" + identifier + "}", _NOT_ALPHANUMERIC.sub("", item)
        )
    if isinstance(node, list):
        return [_replace(value, identifier, item) for value in node]
    if isinstance(node, Mapping):
        if set(node) == {"Ref"} and node["Ref"] == identifier:
            return item
        return {_replace(key, identifier, item): _replace(value, identifier, item) for key, value in node.items()}
    return node
