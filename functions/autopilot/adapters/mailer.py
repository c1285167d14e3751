"""The welcome e-mail through SES v2 (and, as a stop-gap, two WorkSpaces reads: see WorkSpacesLookups).

Neither the address nor the content is logged. SES errors are translated: throttling and service errors are
transient (the provisioning message is redelivered); any other refusal is WelcomeNotSent (the desk is READY
all the same and on-call is told).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from autopilot.adapters.aws import translated
from autopilot.domain.hr.welcome import WelcomeMessage, WelcomeNotSent
from autopilot.domain.kernel.errors import InvalidInput, TransientAwsError

_TRANSIENT = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "InternalFailure",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


class SesMailer:
    def __init__(self, client: Any) -> None:
        self._client = client

    def send(self, message: WelcomeMessage, *, sender: str) -> str:
        try:
            response = self._client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": message.text, "Charset": "UTF-8"},
                            "Html": {"Data": message.html, "Charset": "UTF-8"},
                        },
                    }
                },
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in _TRANSIENT:
                raise TransientAwsError(f"SES SendEmail: {code}") from exc
            # Not exc's message: SES quotes the addresses it refuses.
            raise WelcomeNotSent(code) from exc
        return str(response.get("MessageId", ""))


class WorkSpacesLookups:
    """Two reads this feature needs that adapters/workspaces.py does not offer yet (a stop-gap: they belong
    there): a directory's registration code (DescribeWorkspaceDirectories, for the welcome e-mail) and a
    bundle's default compute (DescribeWorkspaceBundles, for transfers to a profile without `compute`).
    Both are remembered per id for the life of the container."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._codes: dict[str, str] = {}
        self._computes: dict[str, str | None] = {}

    def registration_code(self, directory_id: str) -> str:
        if directory_id not in self._codes:
            with translated("workspaces:DescribeWorkspaceDirectories"):
                response = self._client.describe_workspace_directories(DirectoryIds=[directory_id])
            for directory in response.get("Directories", []):
                if directory.get("RegistrationCode"):
                    self._codes[directory["DirectoryId"]] = directory["RegistrationCode"]
        if directory_id not in self._codes:
            raise InvalidInput(f"directory {directory_id} is not registered with WorkSpaces (no registration code)")
        return self._codes[directory_id]

    def default_compute(self, bundle_id: str) -> str | None:
        if bundle_id not in self._computes:
            with translated("workspaces:DescribeWorkspaceBundles"):
                response = self._client.describe_workspace_bundles(BundleIds=[bundle_id])
            bundles = response.get("Bundles", [])
            self._computes[bundle_id] = bundles[0].get("ComputeType", {}).get("Name") if bundles else None
        return self._computes[bundle_id]
