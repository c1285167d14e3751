"""WorkSpaces lifecycle emulator on top of moto 5.2.5 (see docs/local-cloud-emulator.md)."""

from .facade import Emulator
from .fleet import Fleet, fleet_for
from .model import DURATIONS, EmulatorError, LoginResult, Transition
from .patch import install, installed, uninstall

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
