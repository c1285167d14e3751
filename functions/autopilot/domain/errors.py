"""The small error hierarchy of the domain. Adapters translate AWS errors into these."""

from __future__ import annotations


class AutopilotError(Exception):
    """Base of every error the automation raises on purpose."""


class InvalidInput(AutopilotError):
    """An event or file that can never succeed: recorded and dead-lettered, never retried."""


class PolicyError(AutopilotError):
    """The policy document is invalid; nothing may be acted on."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid policy: " + "; ".join(errors))
        self.errors = errors


class UnknownSite(InvalidInput):
    """An HR event names a site the policy does not know."""


class StaleUpdate(AutopilotError):
    """A conditional write lost: a newer observation or a concurrent writer got there first."""


class DeskNotFound(AutopilotError):
    """No desk record for this employee or workspace."""


class TransientAwsError(AutopilotError):
    """An AWS call failed in a way worth retrying (throttling exhausted, 5xx): let Lambda/SQS retry."""
