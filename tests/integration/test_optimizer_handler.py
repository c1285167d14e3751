"""The optimizer handler at its edge: what it accepts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from autopilot.domain.kernel.errors import InvalidInput
from autopilot.handlers import optimizer


@dataclass
class Context:
    function_name: str = "workspaces-autopilot-dev-optimizer"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:workspaces-autopilot-dev-optimizer"
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"


def tick(task: str) -> dict[str, object]:
    return {
        "version": "0",
        "id": "5f2c0b2e-0000-0000-0000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-03-10T05:30:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/optimizer"],
        "detail": {"schema_version": 1, "task": task},
    }


def test_a_tick_for_another_task_is_refused_before_anything_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "WorkSpacesAutopilot")

    def no_ports() -> None:
        raise AssertionError("no AWS client may be built for a refused event")

    monkeypatch.setattr(optimizer, "ports", no_ports)
    with pytest.raises(InvalidInput, match="optimize_running_modes"):
        optimizer.lambda_handler(tick("fleet_watch"), Context())
