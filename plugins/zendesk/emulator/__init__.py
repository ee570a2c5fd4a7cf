"""Zendesk Support emulator: a real HTTP server that `zenpy` (and admin scripts) talk to unchanged.

`build(...)` returns an `EmulatorApp` (the shared control plane of `connector.emulation` around
`ZendeskAPI`); run it with `EmulatorServer`. See plugins/zendesk/README.md for what is emulated.
"""

from __future__ import annotations

from datetime import datetime

from connector.emulation.base import ClockMode, EmulatorApp, SimClock
from plugins.zendesk.emulator.app import ZendeskAPI
from plugins.zendesk.emulator.seed import INTEGRATION_EMAIL, SeedInfo, seed_account, seed_demo, seed_volume
from plugins.zendesk.emulator.webhooks import install as install_webhooks

__all__ = ["INTEGRATION_EMAIL", "SeedInfo", "ZendeskAPI", "build", "seed_account", "seed_demo", "seed_volume"]


def build(
    clock_mode: ClockMode = "real",
    seed: str = "empty",
    credentials: str | None = None,
    rate_limit_per_minute: int = 700,
    start: datetime | None = None,
) -> EmulatorApp:
    """A Zendesk emulator app. `seed` is `empty` (one admin user) or `demo` (see `seed_demo`);
    `credentials` (`EMAIL:TOKEN`) makes every other login get Zendesk's 401."""
    if seed not in ("empty", "demo"):
        raise ValueError(f"unknown seed {seed!r}: use 'empty' or 'demo'")
    clock = SimClock(clock_mode, start)
    vendor = ZendeskAPI(clock, credentials=credentials, rate_limit_per_minute=rate_limit_per_minute)
    app = EmulatorApp(vendor=vendor, clock=clock)
    install_webhooks(app, vendor.account)
    if seed == "demo":
        email, _, token = (credentials or f"{INTEGRATION_EMAIL}:emulator").partition(":")
        seed_demo(app, clock, email=email, token=token)
    return app
