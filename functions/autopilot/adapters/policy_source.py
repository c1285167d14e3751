"""Loads the policy from its SSM parameter (Powertools Parameters, cached 5 minutes), falling back to the
policy packaged with the code when the parameter does not exist yet."""

from __future__ import annotations

from importlib.resources import files

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from autopilot.domain.policy import Policy, parse_policy

MAX_AGE_SECONDS = 300


def packaged_policy_text() -> str:
    return files("autopilot.domain").joinpath("default_policy.yaml").read_text(encoding="utf-8")


def load_policy(parameter_name: str) -> Policy:
    """The deployed policy. Raises PolicyError (naming every bad key) when it is invalid."""
    try:
        text = parameters.get_parameter(parameter_name, max_age=MAX_AGE_SECONDS)
    except GetParameterError as exc:
        if "ParameterNotFound" not in str(exc):
            raise
        return parse_policy(packaged_policy_text(), origin="packaged default policy")
    return parse_policy(str(text), origin=f"ssm:{parameter_name}")
