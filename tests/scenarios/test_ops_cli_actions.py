"""The operator CLI's commands that change the world, each on a world of its own (test_ops_cli.py runs the
read-only commands on one shared world). A separate module, so the shared world of test_ops_cli.py is closed
before these open theirs: the local cloud runs one world per process, and pytest ends a module's fixtures when
its last test has run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autopilot.domain.kernel.policy import policy_document_json
from autopilot_ops.backend import Backend, world_backend
from localcloud.scenario import open_world
from localcloud.world import LocalCloud
from tests.scenarios.test_ops_cli import (  # the shared helpers; `world` is overridden below, per test
    HEADER,
    POLICY,
    STAFF,
    as_json,
    assert_bad_input,
    cli,
    cloud,
    folder,
    hr_event,
    workspace_of,
    write_scenario,
)

__all__ = ["cli", "cloud", "folder"]  # fixtures, used by name


# ============================================================ actions (they change the world: each has its own)


class TestActionsOnAWorldOfTheirOwn:
    """Each test changes the world, so each builds its own: any test passes alone, in any order, on any worker
    (a redrive run before the dry run used to empty the shared dead-letter queue under it)."""

    @pytest.fixture
    def world(self, tmp_path: Path) -> Iterator[tuple[LocalCloud, Backend, Path]]:
        with open_world(write_scenario(tmp_path)) as cloud:
            yield cloud, world_backend(cloud), tmp_path

    def test_incident_ack_leaves_the_incident_to_a_person(self, cli: Any, cloud: LocalCloud) -> None:
        (incident,) = as_json(cli("incidents", "--open", "--json"))
        prefix = incident["incident_id"][:-6]  # a unique prefix is enough
        data = as_json(cli("incident", "ack", prefix, "--json"))
        assert data["incident_id"] == incident["incident_id"]
        assert data["waiting"] == "human"
        assert data["acknowledged"] is True
        assert data["timeline"][-1]["kind"] == "acknowledged"
        status = as_json(cli("status", workspace_of(cloud, "agent002"), "--json"))
        assert not [timer for timer in status["timers"] if timer["name"].startswith("recheck-")]

    def test_incident_resolve_closes_it_and_on_call_hears_of_it(self, cli: Any, cloud: LocalCloud) -> None:
        (incident,) = as_json(cli("incidents", "--open", "--json"))
        data = as_json(cli("incident", "resolve", incident["incident_id"], "--json"))
        assert data["status"] == "RESOLVED"
        assert data["resolved_by"] == "operator"
        resolved = [a["incident_id"] for a in cloud.alerts() if a["kind"] == "incident_resolved"]
        assert resolved.count(incident["incident_id"]) == 1
        assert as_json(cli("incidents", "--open", "--json")) == []
        assert_bad_input(cli("incident", "resolve", incident["incident_id"]), "already RESOLVED")

    def test_feed_discard_and_release_decide_the_held_feeds(self, cli: Any) -> None:
        held = {feed["file"].rsplit("/", 1)[-1]: feed["feed_id"] for feed in as_json(cli("feed", "held", "--json"))}
        discarded = as_json(cli("feed", "discard", held["other.csv"], "--json"))
        assert discarded["status"] == "DISCARDED"
        released = as_json(cli("feed", "release", held["staff.csv"], "--yes", "--json"))
        assert released["status"] == "RELEASED"
        assert released["departures"] == 3
        leaving = as_json(cli("desks", "--state", "LEAVING", "--json"))
        assert {d["employee_id"] for d in leaving} >= {"E50001", "E50003"}
        assert as_json(cli("feed", "held", "--json")) == []
        assert_bad_input(cli("feed", "discard", held["staff.csv"]), "RELEASED, not HELD")
        assert_bad_input(cli("feed", "release", "feed-nope", "--yes"), "no feed feed-nope")

    def test_dlq_redrive_sends_the_login_back_to_its_function(self, cli: Any, cloud: LocalCloud) -> None:
        data = as_json(cli("dlq", "redrive", "--json"))
        (sent,) = data["sent"]
        assert sent["outcome"] == "invoked SessionsFunction: ok"
        assert as_json(cli("dlq", "list", "--json"))["counts"]["AsyncFailureDLQ"] == 0
        desk = as_json(cli("status", workspace_of(cloud, "clerk001"), "--json"))["desk"]
        assert desk["last_login"].startswith("2026-12-01")

    def test_running_modes_prints_the_optimisers_monthly_report(
        self, cli: Any, cloud: LocalCloud, folder: Path
    ) -> None:
        from autopilot.adapters.usage_store import UsageStore
        from autopilot.domain.cost.ports import ReportRow

        store = UsageStore(world_backend(cloud).table)
        store.put_report_row(
            ReportRow(
                month="2026-11",
                workspace_id="ws-heavyuser1",
                compute="STANDARD",
                running_mode="AUTO_STOP",
                hours=140,
                break_even=87.5,
                decision="to_always_on",
                estimated_saving=15.75,
                applied="changed",
                decided_at=dt.datetime(2026, 11, 12, 5, 30, tzinfo=dt.UTC),
            )
        )

        report = as_json(cli("running-modes", "--month", "2026-11", "--csv", str(folder / "modes.csv"), "--json"))

        assert [(r["workspace_id"], r["decision"], r["hours"]) for r in report["rows"]] == [
            ("ws-heavyuser1", "to_always_on", "140")
        ]
        assert (folder / "modes.csv").read_text(encoding="utf-8").splitlines()[1].startswith("2026-11,ws-heavyuser1,")
        assert as_json(cli("running-modes", "--month", "2026-10", "--json"))["rows"] == []

    def test_policy_publish_changes_what_the_cli_then_the_functions_decide(
        self, cli: Any, cloud: LocalCloud, folder: Path
    ) -> None:
        ssm = world_backend(cloud).client("ssm")
        parameter = world_backend(cloud).resources.policy_parameter
        deployed = ssm.get_parameter(Name=parameter)["Parameter"]
        assert deployed["Value"] == policy_document_json(POLICY)  # the world deploys its policy as `publish` does
        bad = folder / "ghost.yaml"
        bad.write_text(POLICY.replace("  - {profile: office}", "  - {profile: ghost}"), encoding="utf-8")
        assert_bad_input(cli("policy", "publish", str(bad)), "rules.2.profile: unknown profile 'ghost'")
        assert ssm.get_parameter(Name=parameter)["Parameter"]["Version"] == deployed["Version"]  # nothing written

        legal = POLICY.replace(
            "  - {profile: office}", "  - {match: {department: legal}, profile: datasci}\n  - {profile: office}"
        )
        (folder / "legal.yaml").write_text(legal, encoding="utf-8")
        published = as_json(cli("policy", "publish", str(folder / "legal.yaml"), "--json"))
        assert (published["parameter"], published["version"]) == (parameter, deployed["Version"] + 1)
        assert ssm.get_parameter(Name=parameter)["Parameter"]["Value"] == policy_document_json(legal)

        hire = "E50100,legal100,legal100@example.com,Lea,Hundred,legal,counsel,paris-hq,2026-12-20"
        (folder / "legal.csv").write_text("\n".join([HEADER, *STAFF, hire]) + "\n", encoding="utf-8")
        planned = {h["employee_id"]: h for h in as_json(cli("plan", str(folder / "legal.csv"), "--json"))["hires"]}
        assert planned["E50100"]["profile"] == "datasci"  # the CLI reads the parameter at once

        cloud.advance(dt.timedelta(minutes=6))  # the functions' policy cache (5 minutes) expires
        detail = dict(zip(HEADER.split(","), hire.split(","), strict=True))
        cloud.publish(hr_event("Employee Hired", **detail)["publish"])
        assert as_json(cli("status", "E50100", "--json"))["desk"]["profile"] == "datasci"
