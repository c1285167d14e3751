"""The emulator's WorkSpace states (and so the scenario format's) are botocore's WorkspaceState enum."""

import botocore.session

from localcloud.emulator.model import STATES


def test_the_emulator_knows_every_state_botocore_lists_and_no_other() -> None:
    model = botocore.session.get_session().get_service_model("workspaces")
    assert list(STATES) == model.shape_for("WorkspaceState").enum
