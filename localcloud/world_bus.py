"""Events in the world: putting events on a bus (the world's, a function's, an S3 notification's), the bus's
resource policy, matching rules and delivering to their targets (Lambda asynchronously, SQS queues)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from localcloud import bus_policy, shapes
from localcloud.world_types import (
    _S3_REASONS,
    LocalCloudError,
    Rule,
    WorldParts,
    _as_datetime,
    iso,
)


class WorldBus(WorldParts):
    """EventBridge: buses, rules, targets and the delivery of events to them."""

    def publish(self, entry: Mapping[str, Any]) -> list[str]:
        """Put an event and deliver it: a PutEvents entry (`Source`, `DetailType`, `Detail`, optional
        `EventBusName`) goes through PutEvents; an envelope (`source`, `detail-type`, `detail`) is delivered as
        given, on the bus its source belongs to (HR source: HR bus; `autopilot`: autopilot bus; else default)."""
        if "Source" in entry or "DetailType" in entry or "Detail" in entry:
            request = {
                key: entry[key]
                for key in ("Source", "DetailType", "Detail", "Resources", "Time", "EventBusName")
                if key in entry
            }
            if isinstance(request.get("Detail"), Mapping):
                request["Detail"] = json.dumps(request["Detail"])
            response = self.client("events").put_events(Entries=[request])
            failed = [e for e in response["Entries"] if "ErrorCode" in e]
            if failed:
                raise LocalCloudError(
                    f"PutEvents refused the entry: {failed[0]['ErrorCode']}: {failed[0].get('ErrorMessage')}"
                )
            self._drain()
            return [str(e["EventId"]) for e in response["Entries"]]
        envelope = self._complete_envelope(dict(entry))
        self.deliver(envelope)
        return [envelope["id"]]

    def deliver(self, envelope: Mapping[str, Any], bus: str | None = None) -> None:
        """Deliver an envelope exactly as given (no PutEvents: account and source are not checked)."""
        complete = self._complete_envelope(dict(envelope))
        self._events.append((self._bus_name(bus) if bus else self._bus_for(complete), complete))
        self._drain()

    def _bus_for(self, envelope: Mapping[str, Any]) -> str:
        """An envelope carries no bus: it goes on the first bus (template order, then default) where a rule
        matches it, or on the default bus if none does. A catch-all rule does not count: it matches whatever
        its bus does not route, so it says nothing about where an envelope belongs."""
        for bus in [*self.buses.values(), "default"]:
            if any(
                rule.bus == bus and not rule.catch_all and rule.pattern.matches_event(envelope) for rule in self.rules
            ):
                return bus
        return "default"

    def bus_ref(self, value: str) -> str:
        """A bus named by logical id (`HrEventBus`), name or ARN -> its name."""
        return self.buses.get(value) or self._bus_name(value)

    def publish_from(
        self, account: str, entry: Mapping[str, Any], *, bus: str, principal: str | None = None
    ) -> list[str]:
        """PutEvents by a principal of `account` onto one of this account's buses (`bus`: logical id, name or
        ARN). From another account the bus's resource policy decides (localcloud.bus_policy); a refusal raises
        LocalCloudError with the entry's error code and is in the timeline (`put_events_refused`). EventBridge
        stamps the sender's account on the event. From this account it is a plain PutEvents (IAM is not
        enforced)."""
        if not (account.isdigit() and len(account) == 12):
            raise LocalCloudError(f"account {account!r} is not a 12-digit account id")
        if principal is not None and f"::{account}:" not in principal:
            raise LocalCloudError(f"principal {principal!r} is not in account {account}")
        source = str(entry.get("Source", entry.get("source", "")))
        detail_type = str(entry.get("DetailType", entry.get("detail-type", "")))
        detail = entry.get("Detail", entry.get("detail", {}))
        name = self.bus_ref(bus)
        if account == self.account_id:
            request = {"Source": source, "DetailType": detail_type, "Detail": detail, "EventBusName": name}
            if entry.get("Resources") or entry.get("resources"):
                request["Resources"] = entry.get("Resources") or entry.get("resources")
            return self.publish(request)
        if name not in self.buses.values():
            raise LocalCloudError(f"bus {bus!r} is not a bus of the template: another account can reach no other")
        bus_arn = f"arn:aws:events:{self.region}:{self.account_id}:event-bus/{name}"
        try:
            error = bus_policy.put_events_error(
                self._bus_policy_statements(name, bus_arn),
                account=account,
                caller=principal,
                bus_arn=bus_arn,
                source=source,
                detail_type=detail_type,
            )
        except bus_policy.UnsupportedPolicy as exc:
            raise LocalCloudError(str(exc)) from exc
        if error is not None:
            refused = {"bus": name, "account": account, "source": source, "detail_type": detail_type}
            self.note("put_events_refused", **refused, error=error)
            raise LocalCloudError(f"PutEvents from account {account} refused the entry: {error}")
        envelope = self._complete_envelope(
            {
                "detail-type": detail_type,
                "source": source,
                "account": account,
                "resources": list(entry.get("Resources") or entry.get("resources") or []),
                "detail": json.loads(detail) if isinstance(detail, str) else dict(detail),
            }
        )
        self._events.append((name, envelope))
        self._drain()
        return [envelope["id"]]

    def _bus_policy_statements(self, name: str, bus_arn: str) -> list[Mapping[str, Any]]:
        """The resource policy of a template bus: its EventBusPolicy resources and the bus's own `Policy`."""
        r = self.resolver
        statements: list[Mapping[str, Any]] = []
        for logical_id, _ in r.of_type("AWS::Events::EventBusPolicy"):
            props = r.properties(logical_id)
            if self._bus_name(props.get("EventBusName")) == name:
                statements += bus_policy.statements_of(props, bus_arn)
        for logical_id, bus_name in self.buses.items():
            policy = r.properties(logical_id).get("Policy")
            if bus_name == name and policy:
                document = json.loads(policy) if isinstance(policy, str) else policy
                statements += [s for s in document.get("Statement", []) if isinstance(s, Mapping)]
        return statements

    def _complete_envelope(self, envelope: dict[str, Any]) -> dict[str, Any]:
        envelope.setdefault("version", "0")
        envelope.setdefault("id", self._uuid("event"))
        envelope.setdefault("time", iso(self.now()))
        envelope.setdefault("account", self.account_id)
        envelope.setdefault("region", self.region)
        envelope.setdefault("resources", [])
        envelope.setdefault("detail", {})
        return envelope

    def put_object(self, key: str, body: bytes | str, bucket: str | None = None) -> None:
        """Upload an object (an HR roster) and deliver the notifications it causes."""
        data = body.encode() if isinstance(body, str) else body
        self.client("s3").put_object(Bucket=bucket or self.feed_bucket, Key=key, Body=data)
        self._drain()

    def accept_put_events(self, events: list[dict[str, Any]], entries: list[dict[str, Any]]) -> None:
        for request, entry in zip(events, entries, strict=False):
            if "EventId" not in entry:
                continue
            raw_time = request.get("Time")
            moment = self.now() if raw_time in (None, "") else _as_datetime(raw_time)
            envelope = {
                "version": "0",
                "id": entry["EventId"],
                "detail-type": request["DetailType"],
                "source": request["Source"],
                "account": self.account_id,
                "time": iso(moment),
                "region": self.region,
                "resources": list(request.get("Resources") or []),
                "detail": json.loads(request["Detail"]),
            }
            self._events.append((self._bus_name(request.get("EventBusName")), envelope))

    def accept_s3_event(self, event_name: str, bucket: Any, key: Any) -> None:
        if ":ObjectCreated:" not in event_name:
            return
        self._s3_events += 1
        obj: dict[str, Any] = {"key": key.name, "size": key.size, "etag": str(key.etag).strip('"')}
        if getattr(key, "version_id", None) and key.version_id != "null":
            obj["version-id"] = key.version_id
        obj["sequencer"] = f"{self._s3_events:016X}"
        detail = {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": f"LOCAL{self._s3_events:011d}",
            "requester": self.account_id,
            "source-ip-address": "198.51.100.20",
            "reason": _S3_REASONS.get(event_name.rsplit(":", 1)[-1], "PutObject"),
        }
        envelope = self._complete_envelope(
            {
                "detail-type": "Object Created",
                "source": "aws.s3",
                "resources": [f"arn:aws:s3:::{bucket.name}"],
                "detail": detail,
            }
        )
        self._events.append(("default", envelope))

    def _route(self, bus: str, envelope: dict[str, Any]) -> None:
        matched: list[str] = []
        for rule in self.rules:
            if rule.bus != bus or not rule.enabled or not rule.pattern.matches_event(envelope):
                continue
            for target in rule.targets:
                matched.append(self._deliver_to_target(rule, target, envelope))
        self.note(
            "event",
            bus=bus,
            source=envelope.get("source"),
            detail_type=envelope.get("detail-type"),
            account=envelope.get("account"),
            id=envelope.get("id"),
            targets=matched,
        )

    def _deliver_to_target(self, rule: Rule, target: Mapping[str, Any], envelope: dict[str, Any]) -> str:
        arn = str(target["Arn"])
        payload = shapes.target_input(target, envelope)
        trigger = f"rule:{rule.logical_id}"
        refused = self._rule_delivery_refused(rule, target, envelope)  # IAM (localcloud.world_iam)
        if refused is not None:
            return refused
        copies = 1 if self.hostile is None else self.hostile.copies("rule_target")
        if ":lambda:" in arn:
            spec = self._function_by_any(arn)
            for _ in range(copies):
                due = None if self.hostile is None else self.now() + self.hostile.delay("rule_target")
                self._queue_async(spec.logical_id, payload, trigger, due=due)
            return spec.logical_id
        if ":sqs:" in arn:
            for _ in range(copies):
                self._send_to_queue(arn, payload, target.get("SqsParameters", {}).get("MessageGroupId"))
            return self._queue_label(arn)
        if ":event-bus/" in arn:
            self._events.append((self._bus_name(arn), envelope))
            return f"bus:{self._bus_name(arn)}"
        self.note("delivery_failed", rule=rule.logical_id, target=arn, reason="target type not modelled")
        return f"unmodelled:{arn}"

    def _queue_label(self, arn: str) -> str:
        queue = self._queue_by_arn(arn)
        logical = next((k for k, v in self.queues.items() if v is queue), None)
        return f"sqs:{logical or arn}"

    def _send_to_queue(
        self, arn: str, body: Any, group_id: str | None = None, attributes: Mapping[str, Any] | None = None
    ) -> None:
        queue = self._queue_by_arn(arn)
        url = (
            queue["url"]
            if queue
            else f"https://sqs.{self.region}.amazonaws.com/{arn.split(':')[4]}/{arn.rsplit(':', 1)[-1]}"
        )
        kwargs: dict[str, Any] = {
            "QueueUrl": url,
            "MessageBody": body if isinstance(body, str) else json.dumps(body),
        }
        if group_id:
            kwargs["MessageGroupId"] = group_id
        if attributes:
            kwargs["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": str(value)} for name, value in attributes.items()
            }
        self.client("sqs").send_message(**kwargs)
