"""Where the automation's resources are: from a deployed stack (CloudFormation DescribeStacks outputs and
parameters, plus ListStackResources for what the outputs do not name) or from a LocalCloud world.

Both paths go through `resolve_resources`, so the CLI sees one shape whatever it runs against.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from autopilot_ops.errors import BadInput

# template Outputs -> the logical id they name
OUTPUTS: dict[str, str] = {
    "StateTableName": "StateTable",
    "IdempotencyTableName": "IdempotencyTable",
    "HrEventBusName": "HrEventBus",
    "AutopilotEventBusName": "AutopilotEventBus",
    "FeedBucketName": "FeedBucket",
    "AlertsTopicArn": "AlertsTopic",
    "ProvisioningQueueUrl": "ProvisioningQueue",
    "LifecycleQueueUrl": "LifecycleQueue",
    "ProvisioningDLQUrl": "ProvisioningDLQ",
    "LifecycleDLQUrl": "LifecycleDLQ",
    "EventDeliveryDLQUrl": "EventDeliveryDLQ",
    "AsyncFailureDLQUrl": "AsyncFailureDLQ",
    # Not (yet) outputs of the template; found by logical id in the stack's resources meanwhile.
    "AlertDeliveryDLQUrl": "AlertDeliveryDLQ",
    "TimerGroupName": "TimerScheduleGroup",
}
REQUIRED = ("StateTable", "AutopilotEventBus", "HrEventBus")
# Dead-letter queue -> the queue it is the redrive target of (None: EventBridge, Scheduler, Lambda or SNS
# put the message there; its attributes or body say where it was going).
DEAD_LETTER_QUEUES: dict[str, str | None] = {
    "ProvisioningDLQ": "ProvisioningQueue",
    "LifecycleDLQ": "LifecycleQueue",
    "EventDeliveryDLQ": None,
    "AsyncFailureDLQ": None,
    "AlertDeliveryDLQ": None,
}
FUNCTIONS = (
    "HrEventsFunction",
    "HrFeedIngestFunction",
    "ProvisionFunction",
    "LifecycleFunction",
    "FleetWatchFunction",
    "PrewarmFunction",
    "RemediateFunction",
    "SessionsFunction",
    "NotifyFunction",
    "ReportFunction",
    "OptimizerFunction",
)
LOGICAL_IDS = (*OUTPUTS.values(), *FUNCTIONS)


@dataclass(frozen=True)
class StackResources:
    """The physical names the CLI needs, by what they are for."""

    stack: str
    stage: str
    region: str
    account: str
    state_table: str
    autopilot_bus: str
    hr_bus: str
    hr_source: str
    policy_parameter: str
    feed_bucket: str = ""
    alerts_topic_arn: str = ""
    timer_group: str = ""
    queues: dict[str, str] = field(default_factory=dict)  # ProvisioningQueue / LifecycleQueue -> url
    dead_letter_queues: dict[str, str] = field(default_factory=dict)  # logical id -> url
    functions: dict[str, str] = field(default_factory=dict)  # logical id -> function name

    def describe(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "stage": self.stage,
            "region": self.region,
            "account": self.account,
            "state_table": self.state_table,
            "autopilot_bus": self.autopilot_bus,
            "hr_bus": self.hr_bus,
            "timer_group": self.timer_group,
            "dead_letter_queues": dict(self.dead_letter_queues),
        }


def resolve_resources(
    *,
    stack: str,
    region: str,
    account: str,
    outputs: Mapping[str, str],
    parameters: Mapping[str, str],
    resources: Mapping[str, str],
) -> StackResources:
    """Outputs first, the stack's resources by logical id for the rest. BadInput naming what is missing."""
    found: dict[str, str] = {}
    for output, logical_id in OUTPUTS.items():
        value = outputs.get(output) or resources.get(logical_id)
        if value:
            found[logical_id] = str(value)
    missing = [logical_id for logical_id in REQUIRED if logical_id not in found]
    if missing:
        raise BadInput(f"stack {stack} has no {', '.join(missing)}: is it a WorkSpaces Autopilot stack?")
    stage = str(parameters.get("Stage") or "dev")
    return StackResources(
        stack=stack,
        stage=stage,
        region=region,
        account=account,
        state_table=found["StateTable"],
        autopilot_bus=found["AutopilotEventBus"],
        hr_bus=found["HrEventBus"],
        hr_source=str(parameters.get("HrEventSource") or "hr.feed"),
        policy_parameter=str(parameters.get("PolicyParameterName") or f"/workspaces-autopilot/{stage}/policy"),
        feed_bucket=found.get("FeedBucket", ""),
        alerts_topic_arn=found.get("AlertsTopic", ""),
        timer_group=found.get("TimerScheduleGroup") or f"workspaces-autopilot-{stage}-timers",
        queues={name: found[name] for name in ("ProvisioningQueue", "LifecycleQueue") if name in found},
        dead_letter_queues={name: found[name] for name in DEAD_LETTER_QUEUES if name in found},
        functions={name: str(resources[name]) for name in FUNCTIONS if resources.get(name)},
    )


def from_cloudformation(cloudformation: Any, stack: str, region: str) -> StackResources:
    """DescribeStacks (outputs, parameters, account) and ListStackResources (logical -> physical ids)."""
    try:
        description = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationError":
            raise BadInput(
                f"no stack {stack} in {region} (deploy it first, or give --stack, --stage, --region or --profile)"
            ) from exc
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    parameters = {
        p["ParameterKey"]: p.get("ResolvedValue") or p.get("ParameterValue", "")
        for p in description.get("Parameters", [])
    }
    resources: dict[str, str] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            if summary["LogicalResourceId"] in LOGICAL_IDS and summary.get("PhysicalResourceId"):
                resources[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    account = str(description["StackId"]).split(":")[4]
    return resolve_resources(
        stack=stack, region=region, account=account, outputs=outputs, parameters=parameters, resources=resources
    )


def from_world(cloud: Any) -> StackResources:
    """The same resources in a running LocalCloud: the template's outputs and resources, resolved by the world."""
    resolver = cloud.resolver
    outputs: dict[str, str] = {}
    for name, output in resolver.template.get("Outputs", {}).items():
        outputs[name] = str(resolver.resolve(output["Value"]))
    resources = {
        logical_id: str(cloud.physical(logical_id)) for logical_id in LOGICAL_IDS if resolver.exists(logical_id)
    }
    for logical_id in DEAD_LETTER_QUEUES:
        if logical_id in cloud.queues:
            resources[logical_id] = cloud.queue_url(logical_id)
    for logical_id in ("ProvisioningQueue", "LifecycleQueue"):
        if logical_id in cloud.queues:
            resources[logical_id] = cloud.queue_url(logical_id)
    parameters = {name: str(value) for name, value in resolver.parameters.items()}
    return resolve_resources(
        stack=f"local:{resolver.stack_name}",
        region=cloud.region,
        account=cloud.account_id,
        outputs=outputs,
        parameters=parameters,
        resources=resources,
    )
