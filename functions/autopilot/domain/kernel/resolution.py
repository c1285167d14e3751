"""Turns the policy's names (sites -> directories, bundle aliases -> bundle ids) into AWS ids, once."""

from __future__ import annotations

from dataclasses import dataclass

from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy


@dataclass(frozen=True)
class Resolution:
    """The policy's directories and bundles as AWS ids."""

    directories: dict[str, str]  # site -> directory id
    bundles: dict[str, str]  # bundle alias -> bundle id

    @property
    def directory_ids(self) -> list[str]:
        return sorted(set(self.directories.values()))


def resolve(policy: Policy, *, directories_by_name: dict[str, str], bundles_by_name: dict[str, str]) -> Resolution:
    """Resolve every site and bundle; refuse the policy (naming the key) when one does not exist in AWS."""
    errors: list[str] = []
    known_directory_ids = set(directories_by_name.values())
    directories: dict[str, str] = {}
    for site_name, site in policy.sites.items():
        if site.directory.startswith(("d-", "wsd-")):
            if site.directory not in known_directory_ids:
                errors.append(f"sites.{site_name}.directory: directory {site.directory} is not registered")
            directories[site_name] = site.directory
        elif site.directory in directories_by_name:
            directories[site_name] = directories_by_name[site.directory]
        else:
            errors.append(f"sites.{site_name}.directory: no registered directory named {site.directory!r}")
    known_bundle_ids = set(bundles_by_name.values())
    bundles: dict[str, str] = {}
    for alias, bundle in policy.bundles.items():
        if bundle.id is not None:
            if bundle.id not in known_bundle_ids:
                errors.append(f"bundles.{alias}.id: bundle {bundle.id} does not exist")
            bundles[alias] = bundle.id
        elif bundle.name in bundles_by_name:
            bundles[alias] = bundles_by_name[bundle.name]
        else:
            errors.append(f"bundles.{alias}.name: no bundle named {bundle.name!r}")
    if errors:
        raise PolicyError(errors)
    return Resolution(directories=directories, bundles=bundles)
