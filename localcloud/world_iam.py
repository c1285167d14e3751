"""IAM in the world (docs/local-cloud.md, "IAM, enforced"): every call a function makes is authorised as its role
before moto or the emulator sees it (localcloud.iam_world), and the deliveries AWS makes for the template are
authorised by the template's resource, key and role policies (localcloud.iam_delivery)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from localcloud import iam_delivery, iam_world
from localcloud.intrinsics import TemplateError
from localcloud.world_types import LocalCloudError, Rule, WorldParts


class WorldIam(WorldParts):
    """The enforcer and the delivery checks of a started world (both None when IAM is off)."""

    iam_enforced: bool
    _enforcer: iam_world.Enforcer | None
    _deliveries: iam_delivery.Deliveries | None

    def _start_iam(self) -> None:
        """After the world is built: the roles, policies and tags are known."""
        if not self.iam_enforced:
            return
        self._deliveries = iam_delivery.Deliveries(self.resolver, iam_world.encryption_keys(self.resolver))
        self._enforcer = iam_world.enforcer_for(self, self._deliveries.resource_policies)
        self._authorize_mappings()

    def authorize_api_call(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """A function's call, authorised as its role before it reaches moto: refused, it raises ClientError as
        AWS answers (localcloud.iam_world.DENIED) and the timeline has `access_denied`."""
        if self._enforcer is None or self._current is None:
            return
        denial = self._enforcer.check(self._current, service, operation, params)
        if denial is not None:
            self.note(
                "access_denied",
                function=self._current,
                action=denial.action,
                resource=denial.resource,
                code=denial.code,
            )
            raise ClientError(denial.error_response(self._enforcer.principal(self._current)), operation)  # type: ignore[arg-type]

    def _authorize_mappings(self) -> None:
        """Each SQS event source mapping as its function's role (localcloud.iam_delivery.mapping_refusals)."""
        assert self._deliveries is not None
        assert self._enforcer is not None
        for mapping in self.mappings:
            role = self._enforcer.roles[mapping.function].arn
            at_creation, at_polling = iam_delivery.mapping_refusals(self._deliveries, role, mapping.queue_arn)
            if at_creation is not None:
                raise TemplateError(f"{mapping.logical_id}: InvalidParameterValueException: {at_creation.describe()}")
            if at_polling is not None:
                mapping.enabled = False
                self.note("mapping_refused", mapping=mapping.logical_id, reason=at_polling.describe())

    def _refused_delivery(self, service: str, target: str, source_arn: str) -> iam_delivery.Refusal | None:
        """What IAM says of an AWS service's delivery to a target (None: allowed, or IAM is not enforced)."""
        if self._deliveries is None:
            return None
        action = {"lambda": "lambda:InvokeFunction", "sns": "sns:Publish", "sqs": "sqs:SendMessage"}.get(
            target.split(":")[2] if target.count(":") >= 5 else ""
        )
        if action is None:
            return None
        return self._deliveries.by_service(service, action, target, source_arn)

    def _rule_delivery_refused(self, rule: Rule, target: Mapping[str, Any], envelope: dict[str, Any]) -> str | None:
        """None if EventBridge may deliver to the target. Else the event is not retried: it goes to the target's
        dead-letter queue if that delivery is allowed (EventBridge user guide, "Using dead-letter queues to process
        undelivered events": permission errors are not retried), else it is lost; the label says where it went."""
        rule_arn = str(self.resolver.get_att(rule.logical_id, "Arn"))
        refusal = self._refused_delivery("events.amazonaws.com", str(target["Arn"]), rule_arn)
        if refusal is None:
            return None
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        self.note("delivery_refused", rule=rule.logical_id, target=str(target["Arn"]), reason=refusal.describe())
        if dead_letter and self._refused_delivery("events.amazonaws.com", dead_letter, rule_arn) is None:
            attributes = {"ERROR_CODE": "NO_PERMISSIONS", "RULE_ARN": rule_arn, "TARGET_ARN": str(target["Arn"])}
            self._send_to_queue(dead_letter, envelope, attributes=attributes)
            return f"refused:{self._queue_label(dead_letter)}"
        return f"refused:{target['Arn']}"

    def _authorize_schedule_target(self, target: Mapping[str, Any]) -> None:
        """Scheduler reaches its target as the schedule's role (Target.RoleArn): refused, the attempt fails as any
        other failed invocation does (retried by the RetryPolicy, then dead-lettered)."""
        if self._deliveries is None:
            return
        arn = str(target.get("Arn", ""))
        action = "lambda:InvokeFunction" if ":lambda:" in arn else "sqs:SendMessage"
        refusal = self._deliveries.by_role(str(target.get("RoleArn", "")), action, arn)
        if refusal is not None:
            raise LocalCloudError(f"AccessDenied: {refusal.describe()}")

    def _alarm_action_refused(self, alarm_name: str, alarm_arn: str, topic: str) -> bool:
        """CloudWatch publishes an alarm's action as cloudwatch.amazonaws.com; refused, the action is only
        recorded in the alarm's history, nothing is published."""
        refusal = self._refused_delivery("cloudwatch.amazonaws.com", topic, alarm_arn)
        if refusal is not None:
            self.note("alarm_action_refused", alarm=alarm_name, reason=refusal.describe())
        return refusal is not None

    def _destination_refused(self, function: str, destination: str) -> bool:
        """Lambda sends an asynchronous invocation record as the function's execution role (Lambda developer
        guide, "Capturing records of asynchronous invocations": the role needs sqs:SendMessage, sns:Publish or
        lambda:InvokeFunction on the destination); a refused record is lost."""
        if self._deliveries is None or self._enforcer is None:
            return False
        service = destination.split(":")[2] if destination.count(":") >= 5 else ""
        action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction"}.get(service)
        if action is None:
            return False
        refusal = self._deliveries.by_role(self._enforcer.roles[function].arn, action, destination)
        if refusal is not None:
            self.note("destination_refused", function=function, reason=refusal.describe())
        return refusal is not None
