"""Shared machinery of the helpdesk emulators: simulated clock, fault injection, request log,
the `/_emulator/` control plane and a threaded HTTP server that runs in-process or standalone.

Each helpdesk's own API lives in `plugins/<name>/emulator`; this package is helpdesk-neutral.
"""

from connector.emulation.base import (
    EmulatorApp,
    EmulatorServer,
    FaultRule,
    Faults,
    RequestLog,
    RequestRecord,
    SimClock,
    VendorAPI,
)

__all__ = [
    "EmulatorApp",
    "EmulatorServer",
    "FaultRule",
    "Faults",
    "RequestLog",
    "RequestRecord",
    "SimClock",
    "VendorAPI",
]
