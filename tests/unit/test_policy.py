from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autopilot.adapters.policy_source import packaged_policy_text
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import parse_policy, policy_document_json

ROOT = Path(__file__).resolve().parents[2]
POLICIES = {"packaged default": packaged_policy_text()} | {
    path.name: path.read_text(encoding="utf-8") for path in sorted((ROOT / "scenarios" / "policies").glob("*.yaml"))
}

MINIMAL = """
version: 1
sites: {paris-hq: {directory: corp.example.com}}
bundles: {standard: {name: "Standard with Windows 10"}}
profiles: {office: {bundle: standard}}
rules: [{profile: office}]
"""


def test_packaged_default_policy_is_valid() -> None:
    policy = parse_policy(packaged_policy_text())
    assert policy.managed_tag == ("ManagedBy", "workspaces-autopilot")


@pytest.mark.parametrize(
    ("department", "role", "expected"),
    [
        ("call-center", "agent", "agent"),
        ("research", "data-scientist", "datasci"),
        ("call-center", "data-scientist", "agent"),  # first match wins
        ("finance", "analyst", "office"),
    ],
)
def test_first_matching_rule_decides_the_profile(department: str, role: str, expected: str) -> None:
    policy = parse_policy(packaged_policy_text())
    name, _ = policy.profile_for(department=department, role=role, site="paris-hq")
    assert name == expected


def test_unknown_key_is_refused_naming_its_path() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(MINIMAL + "onboarding: {lead_dayz: 2}\n")
    assert "onboarding.lead_dayz: Extra inputs are not permitted" in caught.value.errors


def test_profile_naming_an_unknown_bundle_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(MINIMAL.replace("profiles: {office: {bundle: standard}}", "profiles: {office: {bundle: gold}}"))
    assert any("profiles.office.bundle: unknown bundle 'gold'" in error for error in caught.value.errors)


def test_autostop_below_one_hour_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(MINIMAL.replace("{bundle: standard}", "{bundle: standard, autostop_hours: 0}"))
    assert caught.value.errors[0].startswith("profiles.office.autostop_hours:")


def test_policy_without_catch_all_rule_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            MINIMAL.replace("rules: [{profile: office}]", "rules: [{match: {site: paris-hq}, profile: office}]")
        )
    assert any("last rule must match everyone" in error for error in caught.value.errors)


def test_policy_without_managed_by_tag_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(MINIMAL + "tags: {Team: it}\n")
    assert any(error.startswith("tags.ManagedBy") for error in caught.value.errors)


def test_malformed_yaml_is_refused_with_its_origin() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy("sites: [unclosed", origin="ssm:/autopilot/policy")
    assert caught.value.errors[0].startswith("ssm:/autopilot/policy: not valid YAML")


def test_a_bundle_needs_exactly_one_of_name_or_id() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(MINIMAL.replace('{name: "Standard with Windows 10"}', "{name: x, id: wsb-0123456789}"))
    assert any("bundles.standard" in error and "exactly one of name or id" in error for error in caught.value.errors)


# --- the published form: compact JSON, read without PyYAML ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_published_json_reads_back_as_the_same_policy(name: str) -> None:
    text = POLICIES[name]
    published = policy_document_json(text)
    assert parse_policy(published) == parse_policy(text)
    assert published == json.dumps(json.loads(published), separators=(",", ":"), ensure_ascii=False)  # compact


def test_published_json_is_the_document_as_written_without_defaults() -> None:
    document = json.loads(policy_document_json(MINIMAL))
    assert list(document) == ["version", "sites", "bundles", "profiles", "rules"]
    assert document["profiles"] == {"office": {"bundle": "standard"}}


def test_yaml_dates_are_published_as_iso_strings() -> None:
    text = MINIMAL + "prewarm: {holidays: [2026-12-25, 2027-01-01]}\n"
    published = policy_document_json(text)
    assert json.loads(published)["prewarm"]["holidays"] == ["2026-12-25", "2027-01-01"]
    assert parse_policy(published) == parse_policy(text)


def test_an_invalid_policy_has_no_published_form() -> None:
    with pytest.raises(PolicyError) as caught:
        policy_document_json(MINIMAL.replace("{bundle: standard}", "{bundle: standard, autostop_hours: 0}"))
    assert caught.value.errors[0].startswith("profiles.office.autostop_hours:")


def test_a_value_only_yaml_can_write_is_refused_rather_than_published_changed() -> None:
    with pytest.raises(PolicyError) as caught:
        policy_document_json(MINIMAL + "tags: {ManagedBy: !!binary aGVsbG8=}\n", origin="p.yaml")
    assert caught.value.errors == ["p.yaml: cannot be written as JSON: bytes value b'hello' has no JSON form"]


def test_malformed_json_is_refused_naming_its_line_and_column() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy('{\n  "version": 1,\n  "sites": {,}\n}', origin="ssm:/autopilot/policy")
    assert caught.value.errors == [
        "ssm:/autopilot/policy: not valid JSON: Expecting property name enclosed in double quotes at line 3, column 13"
    ]


def test_a_yaml_flow_mapping_still_parses_although_it_starts_like_json() -> None:
    flow = (
        "{version: 1, sites: {paris-hq: {directory: corp.example.com}}, bundles: {standard: {name: Standard}},"
        " profiles: {office: {bundle: standard}}, rules: [{profile: office}]}"
    )
    assert parse_policy(flow).profile_for(department="x", role="y", site="paris-hq")[0] == "office"


def _modules_after(code: str) -> set[str]:
    """sys.modules of a clean interpreter after `code` (the module cache of this test run would hide imports)."""
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(result.stdout.split())


def test_importing_the_policy_module_and_every_handler_does_not_import_yaml() -> None:
    loaded = _modules_after(
        "import importlib, pkgutil\n"
        "import autopilot.domain.kernel.policy, autopilot.handlers\n"
        "for module in pkgutil.iter_modules(autopilot.handlers.__path__):\n"
        "    importlib.import_module('autopilot.handlers.' + module.name)"
    )
    assert "autopilot.domain.kernel.policy" in loaded
    assert "autopilot.handlers.provision" in loaded
    assert "yaml" not in loaded


def test_a_json_policy_is_parsed_without_yaml_and_a_yaml_one_with_it() -> None:
    published = json.dumps(policy_document_json(packaged_policy_text()))
    parse = "from autopilot.domain.kernel.policy import parse_policy\nparse_policy({})"
    assert "yaml" not in _modules_after(parse.format(published))
    assert "yaml" in _modules_after(parse.format(repr(packaged_policy_text())))


def test_an_unquoted_stop_time_is_refused_rather_than_read_as_seconds() -> None:
    text = yaml.safe_dump(yaml.safe_load(packaged_policy_text()))
    text = text.replace("\noffboarding:\n", "\noffboarding:\n  stop_at_local: 22:30\n", 1)
    assert "stop_at_local: 22:30" in text

    with pytest.raises(PolicyError) as refused:
        parse_policy(text)

    assert any(
        error.startswith("offboarding.stop_at_local: write the time in quotes") for error in refused.value.errors
    )
    assert parse_policy(text.replace("stop_at_local: 22:30", "stop_at_local: '22:30'")).offboarding.stop_at_local == (
        dt.time(22, 30)
    )


# --- values a function would fail on at run time are refused at check/publish (issue 15) -------------------
def _with(**sections: object) -> str:
    document = yaml.safe_load(MINIMAL)
    for key, value in sections.items():
        document[key] = {**document.get(key, {}), **value} if isinstance(value, dict) else value
    return yaml.safe_dump(document)


@pytest.mark.parametrize(
    ("sections", "error"),
    [
        (
            {"sites": {"paris-hq": {"directory": "corp.example.com", "timezone": "Europe/Pariss"}}},
            "sites.paris-hq.timezone: unknown IANA time zone 'Europe/Pariss'",
        ),
        ({"sites": {"paris-hq": {"directory": "d-12"}}}, "sites.paris-hq.directory: 'd-12' is not a directory id"),
        ({"onboarding": {"sender": "it-desk"}}, "onboarding.sender: not an e-mail address"),
        ({"onboarding": {"client_download_url": "clients.example.com"}}, "onboarding.client_download_url: must be"),
        ({"onboarding": {"max_hires_per_feed": 0}}, "onboarding.max_hires_per_feed:"),
        ({"tags": {"ManagedBy": "autopilot", "aws:owner": "x"}}, "tags.aws:owner: the aws: prefix is reserved"),
        ({"tags": {"ManagedBy": ""}}, "tags.ManagedBy: must not be empty"),
        ({"tags": {"ManagedBy": "a", "CostCenter": "x" * 256}}, "tags.CostCenter: a value is at most 255"),
    ],
)
def test_a_value_that_would_fail_at_run_time_is_refused_naming_its_key(sections: dict[str, object], error: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(_with(**sections))

    assert any(line.startswith(error) for line in refused.value.errors), refused.value.errors


def test_known_zones_directory_ids_and_display_name_senders_are_accepted() -> None:
    policy = parse_policy(
        _with(
            sites={"paris-hq": {"directory": "d-1234567890", "timezone": "Europe/Paris"}},
            onboarding={"sender": "IT desk <it-desk@example.com>"},
        )
    )

    assert policy.sites["paris-hq"].timezone == "Europe/Paris"
