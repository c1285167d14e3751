"""The welcome e-mail: the user's WorkSpaces user name, the directory's registration code and where to get the
client. It is built from the desk record (the only place the address lives, until this e-mail is sent); the
address and the content are never logged."""

from __future__ import annotations

import html
from dataclasses import dataclass

from autopilot.domain.kernel.desks import Desk
from autopilot.domain.kernel.errors import AutopilotError


class WelcomeNotSent(AutopilotError):
    """SES refused or failed the welcome e-mail; the desk keeps its address so the send is retried."""

    def __init__(self, code: str) -> None:
        super().__init__(f"welcome e-mail not sent: {code}")
        self.code = code


@dataclass(frozen=True)
class WelcomeMessage:
    to: str
    subject: str
    text: str
    html: str


def build_welcome(desk: Desk, *, registration_code: str, client_download_url: str) -> WelcomeMessage:
    if desk.email is None:
        raise ValueError(f"desk {desk.employee_id} has no e-mail address")
    subject = "Your virtual desktop is ready"
    text = "\n".join(
        [
            "Hello,",
            "",
            "Your Amazon WorkSpace is ready.",
            "",
            f"1. Install the WorkSpaces client: {client_download_url}",
            f"2. Enter the registration code: {registration_code}",
            f"3. Sign in with your user name: {desk.username}",
            "",
            "If something does not work, contact the IT desk.",
        ]
    )
    body = "".join(
        [
            "<p>Hello,</p><p>Your Amazon WorkSpace is ready.</p><ol>",
            f'<li>Install the WorkSpaces client: <a href="{html.escape(client_download_url)}">',
            f"{html.escape(client_download_url)}</a></li>",
            f"<li>Enter the registration code: <strong>{html.escape(registration_code)}</strong></li>",
            f"<li>Sign in with your user name: <strong>{html.escape(desk.username)}</strong></li>",
            "</ol><p>If something does not work, contact the IT desk.</p>",
        ]
    )
    return WelcomeMessage(to=desk.email, subject=subject, text=text, html=body)
