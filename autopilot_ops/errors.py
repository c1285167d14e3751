"""The CLI's two kinds of failure and their exit codes: 2 for input the operator can fix, 1 for the rest."""

from __future__ import annotations

BAD_INPUT = 2
FAILED = 1


class OpsError(Exception):
    """A failure reported as one line on stderr and a non-zero exit."""

    exit_code = FAILED

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
        self.message = " ".join(str(message).split())


class BadInput(OpsError):
    """The operator's input is wrong: an unreadable file, an unknown id, an action the record's state refuses."""

    exit_code = BAD_INPUT


class NotFound(BadInput):
    """No record with that id (an id is input: exit 2)."""
