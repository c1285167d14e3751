"""The scenario format: what is accepted, and the one-line error that names the file and the step or field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from localcloud.scenario import FleetBulk, ScenarioError, load_scenario, parse_duration

pytestmark = pytest.mark.usefixtures("socket_disabled")


def _scenario(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "test",
        "start": "2026-12-01T05:00:00Z",
        "fleet": [{"user": "jdoe", "site": "paris-hq", "profile": "office"}],
        "steps": [{"advance": "30m"}],
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", dt.timedelta(minutes=30)),
        ("2h", dt.timedelta(hours=2)),
        ("2d", dt.timedelta(days=2)),
        ("1d6h", dt.timedelta(days=1, hours=6)),
        ("1h30m15s", dt.timedelta(hours=1, minutes=30, seconds=15)),
    ],
)
def test_durations_combine_days_hours_minutes_and_seconds(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "2x", "h", "1h 30m", "30m1h"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_a_valid_scenario_loads_with_every_step_kind(tmp_path: Path) -> None:
    event = tmp_path / "hired.json"
    event.write_text('{"source": "hr.feed", "detail-type": "Employee Hired", "detail": {}}')
    roster = tmp_path / "roster.csv"
    roster.write_text("employee_id\n")
    steps: list[dict[str, Any]] = [
        {"publish": str(event)},
        {"publish": {"Source": "hr.feed", "DetailType": "Employee Hired", "Detail": {}}},
        {"publish": {"event": str(event), "account": "210987654321", "bus": "HrEventBus"}},
        {"upload_roster": str(roster)},
        {"policy": "scenarios/policies/media_measurement.yaml"},
        {"advance": "1d6h"},
        {"login": {"user": "jdoe"}},
        {"disconnect": {"user": "jdoe", "site": "paris-hq"}},
        {"connection_failures": {"user": "jdoe", "count": 6}},
        {"set_state": {"user": "jdoe", "state": "UNHEALTHY"}},
        {"throttle": {"operation": "CreateWorkspaces", "times": 3}},
        {"missing_user": {"user": "newbie", "for": "2h"}},
        {"fail_requests": {"operation": "RebootWorkspaces", "users": ["jdoe"], "error_code": "InternalError"}},
        {"crash": {"function": "provision", "after": "CreateWorkspaces"}},
        {"invoke": {"function": "sessions", "event": str(event)}},
    ]

    scenario = load_scenario(_scenario(steps=steps))

    assert [step.name for step in scenario.steps] == [next(iter(step)) for step in steps]
    events, options = scenario.steps[2].argument
    assert events == [{"source": "hr.feed", "detail-type": "Employee Hired", "detail": {}}]
    assert (options.account, options.bus, options.principal) == ("210987654321", "HrEventBus", None)
    assert scenario.steps[3].argument == (roster, "rosters/roster.csv")
    assert scenario.steps[4].argument.name == "media_measurement.yaml"
    assert scenario.steps[5].argument == dt.timedelta(days=1, hours=6)
    assert scenario.document.start == dt.datetime(2026, 12, 1, 5, tzinfo=dt.UTC)


def test_bulk_fleet_users_are_numbered() -> None:
    assert FleetBulk(count=3, user_prefix="agent", site="amiens-cc", profile="agent").users() == [
        "agent001",
        "agent002",
        "agent003",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": [{"advance": "30m"}, {"teleport": {}}]}, r"<scenario>: steps\[1\]: unknown step 'teleport'"),
        ({"steps": [{"advance": "30m", "login": {"user": "x"}}]}, r"steps\[0\]: a step is a mapping with exactly one"),
        ({"steps": [{"login": {}}]}, r"steps\[0\] \(login\): user: Field required"),
        ({"steps": [{"login": {"user": "x", "extra": 1}}]}, r"steps\[0\] \(login\): extra: Extra inputs"),
        ({"steps": [{"set_state": {"user": "x", "state": "ASLEEP"}}]}, r"steps\[0\] \(set_state\): state: Input"),
        ({"steps": [{"advance": "soon"}]}, r"steps\[0\] \(advance\): 'soon' is not a duration"),
        ({"steps": [{"connection_failures": {"user": "x", "count": 0}}]}, r"\(connection_failures\): count"),
        ({"steps": [{"login": {"user": "x", "site": "mars"}}]}, r"steps\[0\] \(login\): site: unknown site 'mars'"),
        ({"steps": [{"publish": "events/none.json"}]}, r"steps\[0\] \(publish\): no such event file events/none"),
        ({"steps": [{"publish": {"detail": {}}}]}, r"steps\[0\] \(publish\): an event needs source"),
        ({"fleet": [{"user": "x", "site": "mars", "profile": "office"}]}, r"fleet\[0\]\.site: unknown site 'mars'"),
        ({"fleet": [{"user": "x", "site": "paris-hq", "profile": "boss"}]}, r"fleet\[0\]\.profile: unknown profile"),
        ({"start": "yesterday"}, r"<scenario>: start: Input should be a valid datetime"),
        ({"name": ""}, r"<scenario>: name: String should have at least 1 character"),
        ({"policy": "scenarios/policies/none.yaml"}, r"policy: no such file scenarios/policies/none.yaml"),
        ({"steps": [{"policy": "scenarios/policies/none.yaml"}]}, r"steps\[0\] \(policy\): no such file scenarios/"),
        ({"steps": [{"policy": {"file": "x.yaml"}}]}, r"steps\[0\] \(policy\): give a policy file"),
    ],
)
def test_bad_scenarios_name_the_step_or_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_scenario(**changes))


def test_malformed_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsteps:\n  - advance: [1h\n")

    with pytest.raises(ScenarioError, match=r"broken.yaml: not valid YAML: .*line 3"):
        load_scenario(path)


def test_malformed_event_file_names_the_file_and_the_step(tmp_path: Path) -> None:
    event = tmp_path / "bad.json"
    event.write_text('{"source": "hr.feed",')

    with pytest.raises(ScenarioError, match=r"bad.json: not valid JSON \(<scenario>: steps\[0\] \(publish\)\)"):
        load_scenario(_scenario(steps=[{"publish": str(event)}]))


def test_invalid_policy_names_the_policy_file_and_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nsites: {hq: {directory: corp.example.com}}\nbundles: {std: {name: S}}\n"
        "profiles: {office: {bundle: nope}}\nrules: [{profile: office}]\n"
    )

    with pytest.raises(ScenarioError, match=r"policy.yaml: profiles.office.bundle: unknown bundle 'nope'"):
        load_scenario(_scenario(policy=str(policy), fleet=[]))


def test_an_invalid_policy_step_names_the_policy_file_key_and_step(tmp_path: Path) -> None:
    policy = tmp_path / "live.yaml"
    policy.write_text("version: 1\nsites: {}\n")

    with pytest.raises(ScenarioError, match=r"live.yaml: .*\(<scenario>: steps\[1\] \(policy\)\)"):
        load_scenario(_scenario(steps=[{"advance": "1h"}, {"policy": str(policy)}]))


def test_a_scenario_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- advance: 1h\n")

    with pytest.raises(ScenarioError, match=r"list.yaml: a scenario is a mapping"):
        load_scenario(path)


def test_stack_parameters_are_read() -> None:
    scenario = load_scenario(_scenario(parameters={"HrAccountId": "210987654321"}))
    assert scenario.document.parameters == {"HrAccountId": "210987654321"}


@pytest.mark.parametrize(
    ("publish", "message"),
    [
        ({"event": {"source": "hr.feed", "detail-type": "X", "detail": {}}, "account": "2109"}, "account"),
        (
            {"event": {"source": "hr.feed", "detail-type": "X", "detail": {}}, "account": "210987654321"},
            "bus: a publish from another account names the bus it puts on",
        ),
        (
            {
                "event": {"source": "hr.feed", "detail-type": "X", "detail": {}},
                "account": "210987654321",
                "bus": "HrEventBus",
                "principal": "arn:aws:iam::999999999999:role/x",
            },
            "principal: not an ARN of account 210987654321",
        ),
        ({"event": {"source": "hr.feed"}, "bus": "HrEventBus"}, "an event needs source, detail-type and detail"),
        ({"event": {"source": "hr.feed", "detail-type": "X", "detail": {}}, "teleport": 1}, "teleport"),
    ],
)
def test_a_malformed_publish_with_options_names_the_step(publish: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=r"steps\[0\] \(publish\)") as error:
        load_scenario(_scenario(steps=[{"publish": publish}]))
    assert message in str(error.value)
