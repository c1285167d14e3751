"""Port contract: the welcome e-mail (adapters.mailer.SesMailer on moto's SES v2 and fakes_onboarding.FakeMailer),
the same cases for both (see test_port_contracts_desks.py for why these live in the integration tier).

What provisioning relies on: a message from a verified sender is sent once, as built, and answered with a message
id; a sender SES does not know (an address or domain never verified: the sandbox/identity rule of
docs/operations.md) is refused for good as WelcomeNotSent carrying SES's code, never as a transient error (the
desk is READY all the same and on-call is told). moto refuses an unverified sender with `MessageRejected`
(moto.ses.models.SESBackend.send_email: "Email address not verified"); that real SES v2 answers so is a guess
(docs/operations.md says so). SES identities are addresses or whole domains (SES Developer Guide, "Verified
identities", https://docs.aws.amazon.com/ses/latest/dg/verify-addresses-and-domains.html)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from autopilot.adapters.mailer import SesMailer
from autopilot.domain.hr.welcome import WelcomeMessage, WelcomeNotSent
from tests.support.contracts import port_fixture
from tests.unit.fakes_onboarding import FakeMailer

VERIFIED_DOMAIN = "example.com"  # what the unit tests' policy sends from (it@example.com)
MESSAGE = WelcomeMessage(
    to="e-1001@example.com", subject="Your virtual desktop is ready", text="Hello", html="<p>Hello</p>"
)


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        client = boto3.client("sesv2")
        client.create_email_identity(EmailIdentity=VERIFIED_DOMAIN)
        self.port = SesMailer(client)

    def sent(self) -> list[tuple[str, str, str]]:
        """(sender, recipient, subject) of every message SES accepted."""
        backend = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"]
        return [
            (m.source, address, m.subject) for m in backend.sent_messages for address in m.destinations["ToAddresses"]
        ]


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeMailer()

    def sent(self) -> list[tuple[str, str, str]]:
        return [(sender, message.to, message.subject) for sender, message in self.port.sent]


mailer = port_fixture("mailer", {"moto": _Real, "fake-onboarding": _Fake})


@pytest.mark.parametrize("sender", ["it@example.com", "IT desk <it-desk@example.com>"])
def test_a_message_from_a_verified_sender_is_sent_once_with_a_message_id(mailer: Any, sender: str) -> None:
    first = mailer.port.send(MESSAGE, sender=sender)
    second = mailer.port.send(MESSAGE, sender=sender)
    assert isinstance(first, str)
    assert first
    assert second
    assert first != second
    assert mailer.sent() == [(sender, MESSAGE.to, MESSAGE.subject)] * 2


@pytest.mark.parametrize("sender", ["it@unverified.example", "IT desk <it@unverified.example>"])
def test_a_sender_ses_does_not_know_is_refused_for_good_and_nothing_is_sent(mailer: Any, sender: str) -> None:
    with pytest.raises(WelcomeNotSent) as refused:
        mailer.port.send(MESSAGE, sender=sender)
    assert refused.value.code == "MessageRejected"
    assert sender not in str(refused.value)
    assert MESSAGE.to not in str(refused.value)
    assert mailer.sent() == []
