"""IAM is enforced in the local cloud (issue 18 point 1): every call a function makes is authorised as its role
from the expanded template, before moto or the WorkSpaces emulator sees it, and a refusal answers as AWS does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_xray_sdk.core  # noqa: F401  # its recorder opens a UDP socket at import: do it before sockets are blocked
import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.scenario import open_world
from localcloud.template import TEMPLATE
from localcloud.world import LocalCloud

HIRE = {
    "source": "hr.feed",
    "detail-type": "Employee Hired",
    "detail": {
        "employee_id": "E30001",
        "username": "mdurand",
        "email": "marc.durand@example.com",
        "given_name": "Marc",
        "family_name": "Durand",
        "department": "finance",
        "role": "accountant",
        "site": "paris-hq",
        "start_date": "2026-12-02",
    },
}
SCENARIO = {"name": "one hire", "start": "2026-12-01T05:00:00Z", "steps": [{"publish": HIRE}, {"advance": "2h"}]}
CREATE_GRANT = "              Action: workspaces:CreateWorkspaces\n"


def _without_create_grant(tmp_path: Path) -> Path:
    """template.yaml whose ProvisionFunction role grants DescribeWorkspaceImages where it granted
    CreateWorkspaces (same resources and tag condition): the role lacks the action the hire needs."""
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count(CREATE_GRANT) == 1, "the ProvisionFunction grant moved: update this test"
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(CREATE_GRANT, "              Action: workspaces:DescribeWorkspaceImages\n"))
    return copy


def _run(template: Path | None = None) -> dict[str, Any]:
    with open_world(SCENARIO, template=template) as cloud:
        report = cloud.report()
        report["emulator_calls"] = cloud.emulator.api_calls
        return report


def test_a_role_without_create_workspaces_is_refused_and_no_desk_is_made(tmp_path: Path) -> None:
    # Given the template's role for ProvisionFunction without workspaces:CreateWorkspaces
    report = _run(_without_create_grant(tmp_path))

    # Then IAM refused the call before WorkSpaces saw it, as AWS answers it
    denied = [e for e in report["timeline"] if e["kind"] == "access_denied"]
    assert [(e["function"], e["action"], e["code"]) for e in denied] == [
        ("ProvisionFunction", "workspaces:CreateWorkspaces", "AccessDeniedException")
    ]
    assert "CreateWorkspaces" not in report["emulator_calls"]
    # and the system reports it as it reports AWS's refusal: once, with the code, no desk, nothing dead-lettered
    assert report["workspaces"] == []
    assert report["dead_letters"] == []
    [alert] = [a for a in report["alerts"] if a["kind"] == "provisioning_failed"]
    assert "AccessDeniedException" in alert["subject"]
    assert "workspaces:CreateWorkspaces" in alert["message"]
    assert "mdurand" not in alert["message"]


def test_the_same_hire_with_the_templates_role_makes_the_desk() -> None:
    report = _run()

    assert [e for e in report["timeline"] if e["kind"] == "access_denied"] == []
    assert [w["user"] for w in report["workspaces"]] == ["mdurand"]


def _stop(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """A handler standing in for LifecycleFunction's: stop the desk it is given, as the lifecycle adapter would."""
    client = boto3.client("workspaces")
    try:
        result = client.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": event["workspace_id"]}])
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"]}
    return {"failed": len(result["FailedRequests"])}


@pytest.fixture
def lifecycle_world() -> Any:
    with LocalCloud(start="2026-12-01T09:00:00Z", handlers={"LifecycleFunction": _stop}) as cloud:
        yield cloud


def test_a_resource_tag_condition_denies_acting_on_an_unmanaged_desk(lifecycle_world: LocalCloud) -> None:
    cloud = lifecycle_world
    directory = cloud.directories["paris-hq"]
    bundle = next(iter(cloud.bundles.values()))
    # Given a desk someone else made (no ManagedBy tag) and one the automation manages
    unmanaged = cloud.emulator.seed_workspace(directory, "someone", bundle, tags={"Team": "finance"})
    [managed] = cloud.seed_desks(["managed"], site="paris-hq", profile=next(iter(cloud.policy.profiles)))

    # When LifecycleFunction's role (StopWorkspaces on workspace/* only under aws:ResourceTag/ManagedBy) stops each
    refused = cloud.invoke("LifecycleFunction", {"workspace_id": unmanaged})
    allowed = cloud.invoke("LifecycleFunction", {"workspace_id": managed})

    # Then IAM refuses the unmanaged desk, which stays as it was, and lets the managed one stop
    assert refused.result == {"error": "AccessDeniedException"}
    assert cloud.emulator.workspace(unmanaged)["state"] == "AVAILABLE"
    assert allowed.result == {"failed": 0}
    assert cloud.emulator.workspace(managed)["state"] in ("STOPPING", "STOPPED")
    [denied] = [e for e in cloud.timeline if e["kind"] == "access_denied"]
    assert denied["resource"].endswith(f":workspace/{unmanaged}")


def test_the_switch_turns_enforcement_off_for_debugging() -> None:
    with LocalCloud(start="2026-12-01T09:00:00Z", handlers={"LifecycleFunction": _stop}, iam=False) as cloud:
        directory = cloud.directories["paris-hq"]
        unmanaged = cloud.emulator.seed_workspace(directory, "someone", next(iter(cloud.bundles.values())), tags={})
        assert cloud.invoke("LifecycleFunction", {"workspace_id": unmanaged}).result == {"failed": 0}


UNROUTED = {
    "name": "an HR event nobody routes",
    "start": "2026-12-01T05:00:00Z",
    "steps": [
        {
            "publish": {
                "event": {
                    "source": "hr.feed",
                    "detail-type": "Employee Promoted",
                    "detail": {"schema_version": 1, "employee_id": "E10234"},
                },
                "bus": "HrEventBus",
            }
        },
        {"advance": "10m"},
    ],
}
QUEUE_GRANT = "              ArnEquals: {aws:SourceArn: !GetAtt UnroutedHrEventsRule.Arn}\n"


def test_a_queue_policy_naming_another_rule_refuses_the_delivery_and_the_event_is_dead_lettered(
    tmp_path: Path,
) -> None:
    # Given the unrouted-events queue's policy admits another rule than the one that targets it
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count(QUEUE_GRANT) == 1, "the queue policy moved: update this test"
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(QUEUE_GRANT, QUEUE_GRANT.replace("UnroutedHrEventsRule", "FeedBucket")))

    with open_world(UNROUTED, template=copy) as cloud:
        report = cloud.report()

    # Then EventBridge may not deliver: nothing reaches the queue, and the event goes to the target's DLQ
    [refused] = [e for e in report["timeline"] if e["kind"] == "delivery_refused"]
    assert refused["rule"] == "UnroutedHrEventsRule"
    assert "sqs:SendMessage" in refused["reason"]
    assert [d["queue"] for d in report["dead_letters"]] == ["EventDeliveryDLQ"]
    assert "Employee Promoted" in report["dead_letters"][0]["body"]


@pytest.mark.parametrize(("flags", "enforced"), [((), True), (("--no-iam",), False)])
def test_autopilot_local_run_enforces_iam_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flags: tuple[str, ...], enforced: bool
) -> None:
    from click.testing import CliRunner

    from localcloud import cli

    seen: list[bool] = []
    real = cli.open_world

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["iam"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "open_world", spy)
    scenario = tmp_path / "empty.yaml"
    scenario.write_text("name: nothing\nstart: 2026-12-01T05:00:00Z\nsteps:\n  - advance: 1m\n", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["run", str(scenario), "--json", *flags])
    assert result.exit_code == 0, result.output
    assert seen == [enforced]
