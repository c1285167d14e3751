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
    """An AWS call failed in a way worth retrying (throttling exhausted, 5xx, a timeout): let Lambda/SQS retry."""


class AwsRefused(AutopilotError):
    """AWS refused a call for good (AccessDenied, a validation error, a missing resource): retrying cannot help.

    Carries the IAM action (`workspaces:CreateWorkspaces`) and AWS's error code, never AWS's message (it can name
    a user). The domain reports it once, with `remedy`, and does not retry (docs/reliability.md)."""

    def __init__(self, action: str, code: str) -> None:
        super().__init__(f"{action}: {code}")
        self.action = action
        self.code = code

    @property
    def operation(self) -> str:
        return self.action.rsplit(":", 1)[-1]

    @property
    def remedy(self) -> str:
        return remedy(self.action, self.code)


# Codes AWS answers when the caller's identity may not make the call (IAM, SCP, a key or resource policy).
DENIED_CODES = frozenset(
    {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnauthorizedException", "AuthFailure"}
)
# Codes for a request AWS will never accept as sent.
INVALID_CODES = frozenset(
    {"ValidationException", "InvalidParameterValuesException", "InvalidParameterValueException", "InvalidParameter"}
)


def remedy(action: str, code: str) -> str:
    """What on-call must fix after a permanent refusal (the code decides; AWS's message is never read)."""
    if code in DENIED_CODES:
        return f"the function's role lacks {action}; check its policy in template.yaml (IAM) and any SCP"
    if code in INVALID_CODES:
        return f"AWS refused the parameters of {action}; check the policy's directory and bundle ids"
    if code.startswith("ResourceNotFound"):
        return f"a resource that {action} names does not exist (directory, bundle or WorkSpace); check the policy"
    if code.startswith("ResourceLimitExceeded"):
        return f"an account quota stops {action}; raise it in Service Quotas"
    return f"AWS refused {action} with {code}; retrying will not help: see docs/runbook.md"
