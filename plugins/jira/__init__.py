"""Jira Cloud and Jira Service Management for tierdesk.

- `connect(config, secrets)` -> `JiraHelpdesk`, the `connector.ports.Helpdesk` adapter over the
  `jira` client (the only module importing `jira` is `plugins.jira.client`).
- `build_emulator(...)` -> an `EmulatorApp` serving a Jira Cloud + JSM site (`tierdesk emulator jira`).
- `seed_demo(base_url)` seeds a running emulator over HTTP with the demo data set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from connector.domain.policy import ConnectionConfig
from connector.emulation.base import ClockMode, EmulatorApp, SimClock
from connector.ports import SecretSource
from connector.retry import credentials_for
from plugins.jira.emulator import (
    DEMO_ORGANIZATIONS,
    DEMO_PROJECT,
    DemoSite,
    HttpTransport,
    InProcessTransport,
    JiraEmulator,
    RateLimits,
    seed_demo_site,
)
from plugins.jira.emulator.seed import SEED_TOKEN
from plugins.jira.emulator.webhooks import install as install_webhooks
from plugins.jira.webhook import JiraWebhook

if TYPE_CHECKING:
    from plugins.jira.client import JiraHelpdesk, RetryPolicy
    from plugins.jira.doctor import JiraDirectory

KIND = "jira"
SEED_ADMIN_EMAIL = "admin@tierdesk.example"

__all__ = [
    "DEMO_ORGANIZATIONS",
    "DEMO_PROJECT",
    "KIND",
    "WEBHOOK",
    "DemoSite",
    "JiraEmulator",
    "RateLimits",
    "build_emulator",
    "connect",
    "directory",
    "emulator_of",
    "seed_demo",
]

WEBHOOK = JiraWebhook()  # the format `connector.webhooks` verifies this helpdesk's webhooks with


def connect(
    config: ConnectionConfig,
    secrets: SecretSource | Mapping[str, str] | None = None,
    *,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
) -> JiraHelpdesk:
    """The Helpdesk adapter for a `kind: jira` connection (no request is made until first use).

    `config.email_env` / `config.token_env` name the integration user's e-mail and API token in
    `secrets`; `config.fields` maps logical names to Jira field ids; `config.options` may set
    `page_size`, `search_lag_seconds`, `timeout_seconds`, `max_attempts`, `max_total_wait`,
    `organization_lookup`, `organizations_field` (see plugins/jira/README.md)."""
    from plugins.jira.client import JiraHelpdesk

    if sleep is None:
        return JiraHelpdesk.from_config(config, secrets, retry=retry)
    return JiraHelpdesk.from_config(config, secrets, retry=retry, sleep=sleep)


def directory(
    config: ConnectionConfig, secrets: SecretSource | Mapping[str, str] | None = None
) -> JiraDirectory:
    """Read-only look-ups of the site (`connector.ports.HelpdeskDirectory`) for `tierdesk doctor`
    and mappings that name fields and people; credentials as `connect`, a short retry budget (a
    person is waiting)."""
    from plugins.jira.client import EMULATOR_EMAIL, EMULATOR_TOKEN, RetryPolicy
    from plugins.jira.doctor import JiraDirectory

    email, token = credentials_for(
        config,
        secrets,
        emulator_email=EMULATOR_EMAIL,
        emulator_token=EMULATOR_TOKEN,
        what="the integration user's e-mail and Atlassian API token",
    )
    retry = RetryPolicy(max_attempts=2, max_total_wait=5.0, request_timeout=15.0)
    return JiraDirectory(config, email, token, retry)


def build_emulator(
    clock_mode: ClockMode = "real",
    seed: str = "empty",
    credentials: str | None = None,
    start: datetime | None = None,
    *,
    rate_limits: RateLimits | None = None,
    demo_issues: int = 300,
) -> EmulatorApp:
    """A Jira Cloud + JSM emulator app (WSGI). `seed="demo"` seeds it through its own API; with
    `clock_mode="real"` the clock returns to wall time after seeding."""
    if seed not in ("empty", "demo"):
        raise ValueError(f"unknown seed {seed!r} (use 'empty' or 'demo')")
    clock = SimClock(clock_mode, start)
    vendor = JiraEmulator(clock, credentials=credentials, rate_limits=rate_limits)
    app = EmulatorApp(vendor=vendor, clock=clock)
    install_webhooks(app, vendor.site)
    if seed == "demo":
        limits, vendor.rate_limits = vendor.rate_limits, None
        token = credentials.partition(":")[2] if credentials else SEED_TOKEN
        seed_demo_site(InProcessTransport(app, vendor.admin.email, token), issues=demo_issues)
        vendor.rate_limits = limits
        if clock_mode == "real":
            clock.mode = "real"
        app.log.clear()
    return app


def emulator_of(app: EmulatorApp) -> JiraEmulator:
    """The Jira vendor inside an app built by `build_emulator` (tests read its data directly)."""
    if not isinstance(app.vendor, JiraEmulator):
        raise TypeError("not a Jira emulator app")
    return app.vendor


def seed_demo(
    target: str | EmulatorApp,
    *,
    admin_email: str = SEED_ADMIN_EMAIL,
    token: str = SEED_TOKEN,
    issues: int = 300,
) -> DemoSite:
    """Seed an empty Jira emulator with the demo data set through its API: over HTTP when given a
    base URL, in-process (same handlers, much faster) when given the `EmulatorApp`. The clock ends
    at the instant it had when seeding started (simulated from then on)."""
    if isinstance(target, EmulatorApp):
        vendor = emulator_of(target)
        return seed_demo_site(InProcessTransport(target, vendor.admin.email, token), issues=issues)
    return seed_demo_site(HttpTransport(target, admin_email, token), issues=issues)
