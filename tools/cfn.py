"""Resolve CloudFormation intrinsics of a (SAM-expanded) template for one concrete deployment, so tests and the
template rules read rule patterns, schedule inputs, ARNs and IAM statements the way AWS would see them.

Physical names come from each resource's name property (`QueueName`, `BucketName`, ...); a resource without one
gets `<stack>-<LogicalId>`, as CloudFormation would generate something unique. Only what the template uses is
supported; anything else raises `Unresolvable` rather than guessing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
STACK = "workspaces-autopilot-dev"
# The deployment the contract tests resolve the template for (the template's defaults, spelled out).
PARAMETERS = {"Stage": "dev", "HrEventSource": "hr.feed"}

_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::KMS::Alias": "AliasName",
}

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_NO_VALUE = object()


class Unresolvable(ValueError):
    """An intrinsic or reference this resolver does not know how to evaluate."""


class Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        *,
        account: str = ACCOUNT,
        region: str = REGION,
        stack: str = STACK,
    ) -> None:
        self.template = template
        self.account = account
        self.region = region
        self.stack = stack
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.parameters: dict[str, Any] = {
            name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()
        }
        self.parameters.update(PARAMETERS if parameters is None else parameters)
        self._pseudo = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": PARTITION,
            "AWS::StackName": stack,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{region}:{account}:stack/{stack}/00000000",
            "AWS::URLSuffix": "amazonaws.com",
        }

    # --- conditions -------------------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise Unresolvable(f"unknown condition {name!r}")
        return self._truth(conditions[name])

    def _truth(self, node: Any) -> bool:
        if isinstance(node, Mapping) and len(node) == 1:
            (key, args), *_ = node.items()
            if key == "Fn::Equals":
                left, right = (self.resolve(arg) for arg in args)
                return bool(str(left) == str(right))
            if key == "Fn::Not":
                return not self._truth(args[0])
            if key == "Fn::And":
                return all(self._truth(arg) for arg in args)
            if key == "Fn::Or":
                return any(self._truth(arg) for arg in args)
            if key == "Condition":
                return self.condition(args)
        raise Unresolvable(f"not a condition expression: {node!r}")

    def exists(self, logical_id: str) -> bool:
        """A resource is deployed unless its Condition is false."""
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        condition = resource.get("Condition")
        return condition is None or self.condition(condition)

    # --- references -------------------------------------------------------------------------------------
    def physical_name(self, logical_id: str) -> str:
        resource = self._resource(logical_id)
        prop = _NAME_PROPERTY.get(resource.get("Type", ""))
        name = resource.get("Properties", {}).get(prop) if prop else None
        return str(self.resolve(name)) if name is not None else f"{self.stack}-{logical_id}"

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        resource = self._resource(name)
        kind = resource.get("Type", "")
        physical = self.physical_name(name)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{physical}"
        if kind in ("AWS::SNS::Topic", "AWS::Lambda::LayerVersion", "AWS::IAM::ManagedPolicy"):
            return self.arn(name)
        if kind == "AWS::KMS::Key":
            return f"{name.lower()}-key-id"
        return physical

    def arn(self, logical_id: str) -> str:
        resource = self._resource(logical_id)
        kind = resource.get("Type", "")
        name = self.physical_name(logical_id)
        head = f"arn:{PARTITION}"
        scoped = f"{self.region}:{self.account}"
        arns = {
            "AWS::S3::Bucket": f"{head}:s3:::{name}",
            "AWS::Events::EventBus": f"{head}:events:{scoped}:event-bus/{name}",
            "AWS::Events::Rule": f"{head}:events:{scoped}:rule/{name}",
            "AWS::SQS::Queue": f"{head}:sqs:{scoped}:{name}",
            "AWS::SNS::Topic": f"{head}:sns:{scoped}:{name}",
            "AWS::DynamoDB::Table": f"{head}:dynamodb:{scoped}:table/{name}",
            "AWS::Lambda::Function": f"{head}:lambda:{scoped}:function:{name}",
            "AWS::Lambda::LayerVersion": f"{head}:lambda:{scoped}:layer:{name}:1",
            "AWS::Scheduler::ScheduleGroup": f"{head}:scheduler:{scoped}:schedule-group/{name}",
            "AWS::Scheduler::Schedule": f"{head}:scheduler:{scoped}:schedule/default/{name}",
            "AWS::IAM::Role": f"{head}:iam::{self.account}:role/{name}",
            "AWS::IAM::ManagedPolicy": f"{head}:iam::{self.account}:policy/{name}",
            "AWS::KMS::Key": f"{head}:kms:{scoped}:key/{logical_id.lower()}-key-id",
            "AWS::CloudWatch::Alarm": f"{head}:cloudwatch:{scoped}:alarm:{name}",
            "AWS::Logs::LogGroup": f"{head}:logs:{scoped}:log-group:{name}:*",
        }
        if kind not in arns:
            raise Unresolvable(f"no ARN known for {logical_id} ({kind})")
        return arns[kind]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        kind = self._resource(logical_id).get("Type", "")
        if attribute == "Arn" or (kind == "AWS::SNS::Topic" and attribute == "TopicArn"):
            return self.arn(logical_id)
        if attribute in ("QueueName", "TopicName", "Name"):
            return self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return self.ref(logical_id)
        if kind == "AWS::KMS::Key" and attribute == "KeyId":
            return self.ref(logical_id)
        raise Unresolvable(f"unknown attribute {logical_id}.{attribute} ({kind})")

    def _resource(self, logical_id: str) -> Mapping[str, Any]:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise Unresolvable(f"unknown resource or parameter {logical_id!r}")
        return resource

    # --- evaluation -------------------------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """`node` with every intrinsic evaluated; `AWS::NoValue` entries are dropped."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (key, args), *_ = node.items()
            if key == "Ref":
                return self.ref(args)
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, args)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not _NO_VALUE}

    def _function(self, key: str, args: Any) -> Any:
        if key == "Fn::GetAtt":
            logical_id, attribute = args.split(".", 1) if isinstance(args, str) else args
            return self.get_att(logical_id, attribute)
        if key == "Fn::Sub":
            return self._sub(args)
        if key == "Fn::If":
            name, if_true, if_false = args
            return self.resolve(if_true if self.condition(name) else if_false)
        if key == "Fn::Join":
            separator, items = args
            return str(separator).join(str(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = args
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = args
            return str(self.resolve(text)).split(separator)
        if key == "Fn::FindInMap":
            table, first, second = (self.resolve(arg) for arg in args)
            return self.resolve(self.template["Mappings"][table][first][second])
        if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._truth({key: args})
        raise Unresolvable(f"unsupported intrinsic {key}")

    def _sub(self, args: Any) -> str:
        text, variables = (args, {}) if isinstance(args, str) else (args[0], args[1])
        local = {name: self.resolve(value) for name, value in variables.items()}

        def value_of(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in local:
                return str(local[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(value_of, text).replace("${!", "${")
