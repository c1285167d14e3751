"""CloudFormation intrinsic functions, resolved offline for the local cloud's one stack.

The expanded template (SAM already translated) still carries Ref, Fn::GetAtt, Fn::Sub, Fn::If and friends.
The local cloud gives every resource the physical name CloudFormation would give it in account 123456789012,
region eu-west-1 (the template names almost everything explicitly; the rest get `<stack>-<LogicalId>`), and
resolves the values it needs with the parameters' defaults. Resources whose Condition is false do not exist.
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
        attributes = self._attributes.get(logical_id)
        if attributes is None:
            attributes = self._describe(logical_id)
            self._attributes[logical_id] = attributes
        if attribute not in attributes:
            raise TemplateError(
                f"{logical_id} ({self.resources[logical_id].get('Type')}): attribute {attribute} is not modelled"
            )
        return attributes[attribute]

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
            name = self._name(logical_id, "TableName", limit=255)
            arn = _ref_default_arn("dynamodb", region, account, f"table/{name}")
            return {"Ref": name, "Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"}
        if kind == "AWS::Events::EventBus":
            name = self._name(logical_id, "Name", limit=256)
            return {"Ref": name, "Name": name, "Arn": _ref_default_arn("events", region, account, f"event-bus/{name}")}
        if kind == "AWS::Events::Rule":
            name = self._name(logical_id, "Name")
            return {"Ref": name, "Arn": _ref_default_arn("events", region, account, f"rule/{name}")}
        if kind == "AWS::S3::Bucket":
            name = self._name(logical_id, "BucketName", limit=63, lower=True)
            return {
                "Ref": name,
                "Arn": f"arn:{PARTITION}:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
            }
        if kind == "AWS::SQS::Queue":
            name = self._name(logical_id, "QueueName", limit=80)
            url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
            arn = _ref_default_arn("sqs", region, account, name)
            return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": arn}
        if kind == "AWS::SNS::Topic":
            name = self._name(logical_id, "TopicName", limit=256)
            arn = _ref_default_arn("sns", region, account, name)
            return {"Ref": arn, "TopicArn": arn, "TopicName": name}
        if kind == "AWS::Scheduler::ScheduleGroup":
            name = self._name(logical_id, "Name")
            return {"Ref": name, "Arn": _ref_default_arn("scheduler", region, account, f"schedule-group/{name}")}
        if kind == "AWS::Scheduler::Schedule":
            name = self._name(logical_id, "Name")
            props = self.resources[logical_id].get("Properties", {})
            group = str(self.resolve(props.get("GroupName", "default")))
            return {"Ref": name, "Arn": _ref_default_arn("scheduler", region, account, f"schedule/{group}/{name}")}
        if kind == "AWS::IAM::Role":
            name = self._name(logical_id, "RoleName")
            return {
                "Ref": name,
                "Arn": f"arn:{PARTITION}:iam::{account}:role/{name}",
                "RoleId": "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:17].upper(),
            }
        if kind == "AWS::KMS::Key":
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack_name}/{logical_id}"))
            return {"Ref": key_id, "KeyId": key_id, "Arn": _ref_default_arn("kms", region, account, f"key/{key_id}")}
        if kind == "AWS::Lambda::Function":
            name = self._name(logical_id, "FunctionName")
            return {"Ref": name, "Arn": _ref_default_arn("lambda", region, account, f"function:{name}")}
        if kind == "AWS::Lambda::LayerVersion":
            name = self._name(logical_id, "LayerName", limit=140)
            arn = _ref_default_arn("lambda", region, account, f"layer:{name}:1")
            return {"Ref": arn, "LayerVersionArn": arn}
        if kind == "AWS::Logs::LogGroup":
            name = self._name(logical_id, "LogGroupName", limit=512)
            return {"Ref": name, "Arn": _ref_default_arn("logs", region, account, f"log-group:{name}:*")}
        if kind == "AWS::CloudWatch::Alarm":
            name = self._name(logical_id, "AlarmName", limit=255)
            return {"Ref": name, "Arn": _ref_default_arn("cloudwatch", region, account, f"alarm:{name}")}
        if kind == "AWS::KMS::Alias":
            return {"Ref": self._name(logical_id, "AliasName")}
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
                    return self.template["Mappings"][map_name][top][second]
                except KeyError as exc:
                    raise TemplateError(f"Fn::FindInMap: no {map_name}.{top}.{second}") from exc
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
