"""Building the world: the template's tables, queues, buses, rules, mappings, schedules, alarms, bucket and
functions created in moto, and the policy's side (parameter, directories, bundles) in the WorkSpaces emulator."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends
from moto.events.models import EventPattern

from autopilot.domain.kernel.policy import Policy, parse_policy, policy_document_json
from localcloud import lambdas
from localcloud.intrinsics import TemplateError
from localcloud.world_types import (
    _LARGE_COMPUTE,
    LocalCloudError,
    QueueMapping,
    Rule,
    WorldParts,
    _filters,
    check_pattern_filters,
)


class WorldBuilder(WorldParts):
    """Creates what the template and the policy describe (once, from `LocalCloud.start()`)."""

    def _load_policy(self) -> Policy:
        if self.policy_text is None:
            from autopilot.adapters.policy_source import packaged_policy_text

            return parse_policy(packaged_policy_text(), origin="packaged default policy")
        return parse_policy(self.policy_text, origin=str(self.policy_path))

    def _build(self) -> None:
        r = self.resolver
        for logical_id, _ in r.of_type("AWS::DynamoDB::Table"):
            self._create_table(r.properties(logical_id))
        self._create_queues()
        self._find_dead_letter_queues()
        for logical_id, _ in r.of_type("AWS::SNS::Topic"):
            props = r.properties(logical_id)
            attributes = {"DisplayName": props["DisplayName"]} if "DisplayName" in props else {}
            self.client("sns").create_topic(Name=r.get_att(logical_id, "TopicName"), Attributes=attributes)
        for logical_id, _ in r.of_type("AWS::SNS::Subscription"):
            props = r.properties(logical_id)
            self.client("sns").subscribe(
                TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props.get("Endpoint", "")
            )
        for logical_id, _ in r.of_type("AWS::Events::EventBus"):
            self.buses[logical_id] = r.get_att(logical_id, "Name")
            self.client("events").create_event_bus(Name=self.buses[logical_id])
        for logical_id, _ in r.of_type("AWS::S3::Bucket"):
            self._create_bucket(logical_id)
        for logical_id, _ in r.of_type("AWS::Scheduler::ScheduleGroup"):
            self.client("scheduler").create_schedule_group(Name=r.get_att(logical_id, "Ref"))
        self._create_functions()
        self._create_rules()
        self._create_mappings()
        for logical_id, _ in r.of_type("AWS::Scheduler::Schedule"):
            self._create_schedule(logical_id)
        for logical_id, _ in r.of_type("AWS::CloudWatch::Alarm"):
            self._create_alarm(logical_id)
        # The template's alarms have been evaluated long before the scenario starts: no event for them.
        self._alarms.settle(cloudwatch_backends[self.account_id][self.region], self.now().timestamp())
        self._create_policy_side()

    def _create_table(self, props: dict[str, Any]) -> None:
        kwargs: dict[str, Any] = {
            key: props[key]
            for key in ("TableName", "KeySchema", "AttributeDefinitions", "LocalSecondaryIndexes")
            if key in props
        }
        billing = props.get("BillingMode", "PROVISIONED")
        kwargs["BillingMode"] = billing
        gsis = [dict(index) for index in props.get("GlobalSecondaryIndexes", [])]
        if billing == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        else:
            for index in gsis:
                index.pop("ProvisionedThroughput", None)
        if gsis:
            kwargs["GlobalSecondaryIndexes"] = gsis
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=props["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )

    def _create_queues(self) -> None:
        r = self.resolver
        sqs = self.client("sqs")
        redrives: list[tuple[str, dict[str, Any]]] = []
        passthrough = (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "MaximumMessageSize",
            "ReceiveMessageWaitTimeSeconds",
            "FifoQueue",
            "ContentBasedDeduplication",
        )
        for logical_id, _ in r.of_type("AWS::SQS::Queue"):
            props = r.properties(logical_id)
            name = r.get_att(logical_id, "QueueName")
            attributes = {
                key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
                for key in passthrough
                if key in props
            }
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self.queues[logical_id] = {"arn": r.get_att(logical_id, "Arn"), "url": url, "name": name}
            if "RedrivePolicy" in props:
                redrives.append((url, props["RedrivePolicy"]))
        for url, redrive in redrives:
            policy = json.loads(redrive) if isinstance(redrive, str) else redrive
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
            self._mark_dead_letter(policy["deadLetterTargetArn"])

    def _find_dead_letter_queues(self) -> None:
        """Every queue the template names as a dead-letter target or failure destination (of queues, rules,
        schedules, subscriptions or functions, whether or not the referring resource exists here)."""
        keys = {"deadLetterTargetArn", "DeadLetterConfig", "OnFailure"}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in keys:
                        found = value
                        if isinstance(value, dict) and {"Arn", "TargetArn", "Destination"} & value.keys():
                            found = value.get("Arn") or value.get("TargetArn") or value.get("Destination")
                        with contextlib.suppress(TemplateError):
                            resolved = self.resolver.resolve(found)
                            self._mark_dead_letter(resolved if isinstance(resolved, str) else None)
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.resolver.resources)

    def _mark_dead_letter(self, arn: str | None) -> None:
        for logical_id, queue in self.queues.items():
            if queue["arn"] == arn:
                self.dead_letter_queues[arn] = logical_id

    def _queue_by_arn(self, arn: str) -> dict[str, str] | None:
        return next((queue for queue in self.queues.values() if queue["arn"] == arn), None)

    def _create_bucket(self, logical_id: str) -> None:
        r = self.resolver
        props = r.properties(logical_id)
        name = r.get_att(logical_id, "Ref")
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        eventbridge = props.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
        if eventbridge.get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    def _create_functions(self) -> None:
        r = self.resolver
        invoke_configs: dict[str, dict[str, Any]] = {}
        for logical_id, _ in r.of_type("AWS::Lambda::EventInvokeConfig"):
            props = r.properties(logical_id)
            invoke_configs[str(props["FunctionName"])] = props
        for logical_id, _ in r.of_type("AWS::Lambda::Function"):
            props = r.properties(logical_id)
            name = r.get_att(logical_id, "Ref")
            config = invoke_configs.get(name, {})
            destinations = config.get("DestinationConfig", {})
            spec = lambdas.FunctionSpec(
                logical_id=logical_id,
                name=name,
                arn=r.get_att(logical_id, "Arn"),
                handler=str(props.get("Handler", "")),
                environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
                memory_mb=int(props.get("MemorySize", 128)),
                timeout_s=int(props.get("Timeout", 3)),
                max_retry_attempts=int(config.get("MaximumRetryAttempts", 2)),
                max_event_age_s=int(config.get("MaximumEventAgeInSeconds", 21600)),
                on_failure=destinations.get("OnFailure", {}).get("Destination"),
                on_success=destinations.get("OnSuccess", {}).get("Destination"),
                dead_letter=props.get("DeadLetterConfig", {}).get("TargetArn"),
            )
            self.functions[logical_id] = spec
            self._mark_dead_letter(spec.on_failure)
            self._mark_dead_letter(spec.dead_letter)

    def _create_rules(self) -> None:
        r = self.resolver
        events = self.client("events")
        for logical_id, _ in r.of_type("AWS::Events::Rule"):
            props = r.properties(logical_id)
            bus = self._bus_name(props.get("EventBusName"))
            name = str(props.get("Name", logical_id))
            if "EventPattern" not in props:
                continue  # scheduled rules (ScheduleExpression) are not used by the template
            raw = props["EventPattern"]
            pattern_text = raw if isinstance(raw, str) else json.dumps(raw)
            enabled = props.get("State", "ENABLED") == "ENABLED"
            events.put_rule(
                Name=name, EventBusName=bus, EventPattern=pattern_text, State="ENABLED" if enabled else "DISABLED"
            )
            targets = tuple(props.get("Targets", []))
            for target in targets:
                self._mark_dead_letter(target.get("DeadLetterConfig", {}).get("Arn"))
            parsed = json.loads(pattern_text)
            try:
                check_pattern_filters(parsed)
            except ValueError as exc:
                raise TemplateError(f"{logical_id}: EventPattern: {exc}") from exc
            catch_all = list(parsed) == ["$or"] and all(
                all(isinstance(f, dict) and list(f) == ["anything-but"] for f in _filters(alternative))
                for alternative in parsed["$or"]
            )
            if catch_all:  # what no other rule routes is parked there: the end of the line, like a DLQ
                for target in targets:
                    self._mark_dead_letter(target.get("Arn"))
            self.rules.append(Rule(logical_id, name, bus, EventPattern.load(pattern_text), targets, enabled, catch_all))

    def _create_mappings(self) -> None:
        r = self.resolver
        for logical_id, _ in r.of_type("AWS::Lambda::EventSourceMapping"):
            props = r.properties(logical_id)
            source = str(props.get("EventSourceArn", ""))
            queue_logical = next((q for q, queue in self.queues.items() if queue["arn"] == source), None)
            if queue_logical is None:
                continue  # only SQS sources are modelled
            function = self._function_by_any(str(props["FunctionName"]))
            queue = self.queues[queue_logical]
            self.mappings.append(
                QueueMapping(
                    logical_id=logical_id,
                    function=function.logical_id,
                    queue_logical_id=queue_logical,
                    queue_arn=queue["arn"],
                    queue_url=queue["url"],
                    queue_name=queue["name"],
                    batch_size=int(props.get("BatchSize", 10)),
                    window_s=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    enabled=bool(props.get("Enabled", True)),
                )
            )

    def _create_schedule(self, logical_id: str) -> None:
        props = self.resolver.properties(logical_id)
        target = dict(props["Target"])
        self._mark_dead_letter(target.get("DeadLetterConfig", {}).get("Arn"))
        kwargs: dict[str, Any] = {
            "Name": props["Name"],
            "ScheduleExpression": props["ScheduleExpression"],
            "FlexibleTimeWindow": props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            "Target": target,
        }
        for key in ("GroupName", "ScheduleExpressionTimezone", "State", "Description", "StartDate", "EndDate"):
            if key in props:
                kwargs[key] = props[key]
        self.client("scheduler").create_schedule(**kwargs)

    def _create_alarm(self, logical_id: str) -> None:
        props = self.resolver.properties(logical_id)
        kwargs = {
            key: props[key]
            for key in (
                "AlarmName",
                "AlarmDescription",
                "ActionsEnabled",
                "OKActions",
                "AlarmActions",
                "InsufficientDataActions",
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Dimensions",
                "Period",
                "Unit",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
                "Metrics",
            )
            if key in props
        }
        kwargs.setdefault("AlarmName", self.resolver.get_att(logical_id, "Ref"))
        self.client("cloudwatch").put_metric_alarm(**kwargs)

    def _create_policy_side(self) -> None:
        """What the policy needs to exist: its parameter, its directories and bundles, the sender identity."""
        parameter = self.functions_env("POLICY_PARAMETER_NAME")
        if self.policy_text is not None and parameter:
            # As `autopilot policy publish` stores it in production: validated, compact JSON.
            document = policy_document_json(self.policy_text, origin=str(self.policy_path))
            self.client("ssm").put_parameter(Name=parameter, Value=document, Type="String")
        sender = self.policy.onboarding.sender
        ses = self.client("ses")
        ses.verify_email_identity(EmailAddress=sender)
        ses.verify_domain_identity(Domain=sender.split("@", 1)[1])
        directory_ids = self._directory_ids
        for site_name, site in self.policy.sites.items():
            if site.directory.startswith(("d-", "wsd-")):
                raise LocalCloudError(
                    f"policy site {site_name}: the local cloud creates directories by DNS name; "
                    f"name the directory (not {site.directory}) in scenario policies"
                )
            if site.directory not in directory_ids:
                directory_ids[site.directory] = self.emulator.create_directory(site.directory)
            self.directories[site_name] = directory_ids[site.directory]
        for alias, bundle in self.policy.bundles.items():
            self.bundles[alias] = self._ensure_bundle(alias, bundle.name, bundle.id)

    def _ensure_bundle(self, alias: str, name: str | None, bundle_id: str | None) -> str:
        profiles = [p for p in self.policy.profiles.values() if p.bundle == alias]
        compute: str | None = next((p.compute for p in profiles if p.compute), None)
        label = name or f"{alias} bundle"
        if compute is None:
            first_word = label.split()[0].upper()
            compute = (
                first_word if first_word in {"VALUE", "STANDARD", "PERFORMANCE", "POWER", "POWERPRO"} else "STANDARD"
            )
        large = compute.startswith(_LARGE_COMPUTE)
        root_gb = next((p.root_volume_gb for p in profiles if p.root_volume_gb), 175 if large else 80)
        user_gb = next((p.user_volume_gb for p in profiles if p.user_volume_gb), 100 if large else 50)
        if name is not None:
            existing = self.emulator.bundle_id(name)
            return existing or self.emulator.create_bundle(name, compute=compute, root_gb=root_gb, user_gb=user_gb)
        assert bundle_id is not None
        created = self.emulator.create_bundle(label, compute=compute, root_gb=root_gb, user_gb=user_gb)
        return self._rename_bundle(created, bundle_id)

    def _rename_bundle(self, created: str, wanted: str) -> str:
        """Give an emulator bundle the id the policy names (the emulator chooses ids itself)."""
        fleet = self.emulator.fleet
        with fleet.lock:
            bundle = fleet.bundles.pop(created)
            bundle.bundle_id = wanted
            fleet.bundles[wanted] = bundle
        return wanted

    def publish_policy(self, path: str | Path) -> None:
        """Publish a new policy mid-run, as `autopilot policy publish` does: validated, stored as compact JSON in the
        policy parameter (Overwrite). The functions read it within their cache's 5 minutes, as in AWS. Its sites
        and bundles must be ones the world has (the directories and bundles are made when the world is built)."""
        policy_path = Path(path)
        text = policy_path.read_text(encoding="utf-8")
        policy = parse_policy(text, origin=str(policy_path))
        unknown = sorted({s.directory for s in policy.sites.values()} - set(self.emulator_directory_names()))
        unknown += sorted(alias for alias in policy.bundles if alias not in self.bundles)
        if unknown:
            names = ", ".join(unknown)
            raise LocalCloudError(f"policy {policy_path}: names what the world was not built with: {names}")
        parameter = self.functions_env("POLICY_PARAMETER_NAME")
        document = policy_document_json(text, origin=str(policy_path))
        self.client("ssm").put_parameter(Name=parameter, Value=document, Type="String", Overwrite=True)
        self.policy, self.policy_path, self.policy_text = policy, policy_path, text
        for site_name, site in policy.sites.items():
            self.directories.setdefault(site_name, self._directory_ids[site.directory])
        self.note("policy", file=str(policy_path), dry_run=policy.dry_run)
