"""A Jira Cloud + Jira Service Management emulator for tests, benchmarks and the demo.

`build_emulator` (in `plugins.jira`) wires `JiraEmulator` into the shared `EmulatorApp` (control plane,
faults, request log, simulated clock); the real `jira` client works against it unchanged with
`server=` pointing at the emulator's URL.
"""

from __future__ import annotations

from plugins.jira.emulator.api import JiraEmulator, RateLimits
from plugins.jira.emulator.seed import (
    DEMO_ORGANIZATIONS,
    DEMO_PROJECT,
    DemoSite,
    HttpTransport,
    InProcessTransport,
    create_field,
    create_issues,
    create_project,
    seed_demo_site,
)

__all__ = [
    "DEMO_ORGANIZATIONS",
    "DEMO_PROJECT",
    "DemoSite",
    "HttpTransport",
    "InProcessTransport",
    "JiraEmulator",
    "RateLimits",
    "create_field",
    "create_issues",
    "create_project",
    "seed_demo_site",
]
