from __future__ import annotations

import pytest

from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import parse_policy
from autopilot.domain.kernel.resolution import resolve

POLICY = parse_policy(
    """
version: 1
sites:
  paris-hq: {directory: corp.example.com}
  amiens-cc: {directory: d-0123456789}
bundles:
  standard: {name: "Standard with Windows 10"}
  power: {id: wsb-abcdefgh1}
profiles: {office: {bundle: standard}, datasci: {bundle: power}}
rules: [{profile: office}]
"""
)


def test_sites_and_bundles_resolve_by_name_or_id() -> None:
    resolution = resolve(
        POLICY,
        directories_by_name={"corp.example.com": "d-aaaaaaaaaa", "cc.example.com": "d-0123456789"},
        bundles_by_name={"Standard with Windows 10": "wsb-standard01", "Power": "wsb-abcdefgh1"},
    )
    assert resolution.directories == {"paris-hq": "d-aaaaaaaaaa", "amiens-cc": "d-0123456789"}
    assert resolution.bundles == {"standard": "wsb-standard01", "power": "wsb-abcdefgh1"}
    assert resolution.directory_ids == ["d-0123456789", "d-aaaaaaaaaa"]


def test_missing_directory_and_bundle_are_named() -> None:
    with pytest.raises(PolicyError) as caught:
        resolve(POLICY, directories_by_name={"cc.example.com": "d-0123456789"}, bundles_by_name={})
    assert caught.value.errors == [
        "sites.paris-hq.directory: no registered directory named 'corp.example.com'",
        "bundles.standard.name: no bundle named 'Standard with Windows 10'",
        "bundles.power.id: bundle wsb-abcdefgh1 does not exist",
    ]
