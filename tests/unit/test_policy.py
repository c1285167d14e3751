from __future__ import annotations

import pytest

from autopilot.adapters.policy_source import packaged_policy_text
from autopilot.domain.errors import PolicyError
from autopilot.domain.policy import parse_policy

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
