"""Public entry point of the WorkSpaces lifecycle emulator.

``install()`` teaches moto's WorkSpaces backend the lifecycle operations it lacks; ``Emulator`` is the Python
facade the local cloud, the scenario runner, the tests and the benchmarks use. The implementation lives in
``localcloud.emulator``.
"""

from localcloud.emulator import (
    DURATIONS,
    Emulator,
    EmulatorError,
    Fleet,
    LoginResult,
    Transition,
    fleet_for,
    install,
    installed,
    uninstall,
)

__all__ = [
    "DURATIONS",
    "Emulator",
    "EmulatorError",
    "Fleet",
    "LoginResult",
    "Transition",
    "fleet_for",
    "install",
    "installed",
    "uninstall",
]
