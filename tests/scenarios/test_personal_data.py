"""Personal data stays where it belongs. A hire with a distinctive name and e-mail goes through the whole system
on the local cloud (hire, provisioning, ready, welcome e-mail, a login, a connection-failure incident and its
alerts, departure). Neither the given name, the family name nor the e-mail appears in any captured log line, SNS
alert (subject, message, attributes), event on a bus, metric dimension, idempotency record, Scheduler timer Input,
queue or dead-letter message, or the state table once the welcome e-mail is sent. The welcome e-mail is the one
place the address goes: the test checks it does, so it can fail."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aws_xray_sdk.core  # noqa: F401  # its recorder opens a UDP socket at import: do it before sockets are blocked
from moto.scheduler.models import scheduler_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from localcloud.world import LocalCloud

GIVEN, FAMILY, EMAIL = "Zéphyrine", "Quintavalle-Brunet", "zephyrine.q@example.org"
PERSONAL = (GIVEN, FAMILY, EMAIL)


class RecordingCloud(LocalCloud):
    """The local cloud, keeping every envelope it routes on a bus and every Scheduler timer it ever held."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.routed: list[tuple[str, dict[str, Any]]] = []
        self.timer_inputs: dict[str, str] = {}

    def _route(self, bus: str, envelope: dict[str, Any]) -> None:
        self.routed.append((bus, envelope))
        super()._route(bus, envelope)

    def _fire_one_schedule(self) -> bool:
        self.snapshot_timers()
        return super()._fire_one_schedule()

    def snapshot_timers(self) -> None:
        for group in scheduler_backends[self.account_id][self.region].schedule_groups.values():
            for schedule in group.schedules.values():
                self.timer_inputs[schedule.arn] = json.dumps(schedule.target)


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [value for value in PERSONAL if value.lower() in lowered or json.dumps(value)[1:-1].lower() in lowered]


def table(cloud: LocalCloud, variable: str) -> str:
    return json.dumps(cloud.client("dynamodb").scan(TableName=cloud.functions_env(variable))["Items"])


def test_a_hires_name_and_email_appear_only_in_the_welcome_email() -> None:
    cloud = RecordingCloud(start="2026-12-01T05:00:00Z")
    with cloud:
        cloud.publish(
            {
                "source": "hr.feed",
                "detail-type": "Employee Hired",
                "detail": {
                    "employee_id": "E77001",
                    "username": "zquintavalle",
                    "email": EMAIL,
                    "given_name": GIVEN,
                    "family_name": FAMILY,
                    "department": "finance",
                    "role": "accountant",
                    "site": "paris-hq",
                    "start_date": "2026-12-01",
                },
            }
        )
        cloud.advance(dt.timedelta(hours=1))  # created, PENDING ~20 min, AVAILABLE, ready, welcome e-mail

        [welcome] = cloud.emails()
        assert welcome["to"] == [EMAIL]  # the one place the address goes
        assert leaks(table(cloud, "TABLE_NAME")) == []  # erased from the desk record once the e-mail is sent

        cloud.login("zquintavalle")
        cloud.advance(dt.timedelta(minutes=10))
        cloud.disconnect("zquintavalle")
        cloud.connection_failures("zquintavalle", 6)
        cloud.advance(dt.timedelta(minutes=2))  # the directory's alarm fires: incident, reboot
        cloud.advance(dt.timedelta(minutes=28))  # re-check, resolved
        cloud.publish(
            {
                "source": "hr.feed",
                "detail-type": "Employee Departed",
                "detail": {"employee_id": "E77001", "last_day": "2026-12-01"},
            }
        )
        cloud.advance(dt.timedelta(days=1))
        cloud.snapshot_timers()

        functions = {invocation.function for invocation in cloud.invocations}
        assert {"HrEventsFunction", "ProvisionFunction", "SessionsFunction", "RemediateFunction"} <= functions
        assert any(a["kind"] == "connection_failure" for a in cloud.alerts())  # the incident paged
        assert any(i.function == "LifecycleFunction" for i in cloud.invocations)  # the departure was handled
        assert cloud.timer_inputs  # timers were set (and looked at)
        assert any(bus != "default" for bus, _ in cloud.routed)  # events went over our buses

        logs = "\n".join(invocation.logs for invocation in cloud.invocations)
        assert "E77001" in logs  # the logs do identify the hire: by id
        assert leaks(logs) == []
        notifications = [
            repr(n)
            for topic in sns_backends[cloud.account_id][cloud.region].topics.values()
            for n in topic.sent_notifications
        ]
        assert notifications
        assert leaks("\n".join(notifications)) == []
        # Every envelope routed, except the HR system's own hire (the input carrying the data).
        routed = [json.dumps(e) for _, e in cloud.routed if e.get("source") != "hr.feed"]
        assert leaks("\n".join(routed)) == []
        metrics = cloud.client("cloudwatch").get_paginator("list_metrics").paginate()
        assert leaks(json.dumps([page["Metrics"] for page in metrics])) == []
        assert leaks(table(cloud, "IDEMPOTENCY_TABLE_NAME")) == []
        assert leaks("\n".join(cloud.timer_inputs.values())) == []
        messages = [
            message.body
            for queue in sqs_backends[cloud.account_id][cloud.region].queues.values()
            for message in queue._messages
        ]
        assert leaks(json.dumps(messages)) == []
        assert leaks(json.dumps(cloud.dead_letters())) == []
        assert leaks(table(cloud, "TABLE_NAME")) == []
        assert [mail["to"] for mail in cloud.emails()] == [[EMAIL]]
