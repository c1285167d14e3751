"""Loads the policy from its SSM parameter (Powertools Parameters, cached 5 minutes), falling back to the
policy packaged with the code when the parameter does not exist yet."""

from __future__ import annotations

from importlib.resources import files

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from autopilot.adapters.aws import cached, on_reset
from autopilot.domain.kernel.policy import Policy, parse_policy

MAX_AGE_SECONDS = 300


on_reset(parameters.clear_caches)


@cached
def _parsed(text: str, origin: str) -> Policy:
    """One Policy object per document text, so what is derived from it (resolved ids) can be cached too."""
    return parse_policy(text, origin=origin)


def packaged_policy_text() -> str:
    return files("autopilot.domain").joinpath("default_policy.yaml").read_text(encoding="utf-8")


def load_policy(parameter_name: str) -> Policy:
    """The deployed policy. Raises PolicyError (naming every bad key) when it is invalid."""
    try:
        text = parameters.get_parameter(parameter_name, max_age=MAX_AGE_SECONDS)
    except GetParameterError as exc:
        if "ParameterNotFound" not in str(exc):
            raise
        return _parsed(packaged_policy_text(), "packaged default policy")
    return _parsed(str(text), f"ssm:{parameter_name}")
