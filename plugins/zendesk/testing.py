"""A running emulator plus a connected adapter, for contract tests, the benchmark and demos.

`running_emulator()` starts the Zendesk emulator in-process on a free port with a simulated clock
and yields a `Harness`; `Harness.connect()` returns a `ZendeskHelpdesk` whose retry waits move the
emulator's clock instead of sleeping, so rate limits and Retry-After resolve instantly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connector.domain.policy import ConnectionConfig
from connector.emulation.base import EmulatorApp, EmulatorServer, InFlight
from plugins.zendesk import RetryPolicy, ZendeskHelpdesk, build_emulator, connect
from plugins.zendesk.emulator import SeedInfo, seed_account
from plugins.zendesk.emulator.app import ZendeskAPI
from plugins.zendesk.emulator.store import Account

FAST_RETRY = RetryPolicy(
    max_attempts=8,
    max_total_wait=600.0,
    base_wait=0.5,
    max_wait=30.0,
    retry_after_cap=120.0,
    request_timeout=5.0,
    job_poll_interval=1.0,
    job_poll_budget=60.0,
)
DEFAULT_START = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday afternoon


@dataclass
class Harness:
    app: EmulatorApp
    server: EmulatorServer
    info: SeedInfo
    inflight: InFlight
    sleeps: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def account(self) -> Account:
        vendor = self.app.vendor
        assert isinstance(vendor, ZendeskAPI)
        return vendor.account

    def sleep(self, seconds: float) -> None:
        """Injected into adapters: record the wait and move the emulator clock by it."""
        self.sleeps.append(seconds)
        self.app.clock.advance(seconds)

    def config(self, name: str = "zd") -> ConnectionConfig:
        return ConnectionConfig(name=name, kind="zendesk", url=self.url, fields=dict(self.info.fields))

    def connect(self, retry: RetryPolicy = FAST_RETRY, name: str = "zd") -> ZendeskHelpdesk:
        return connect(self.config(name), retry=retry, sleep=self.sleep)

    def advance(self, seconds: float) -> None:
        self.app.clock.advance(seconds)


@contextmanager
def running_emulator(
    start: datetime = DEFAULT_START, rate_limit_per_minute: int = 700, credentials: str | None = None
) -> Iterator[Harness]:
    """An emulator on 127.0.0.1 (free port, simulated clock) with the base account seeded."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_emulator("simulated", "empty", credentials, rate_limit_per_minute, start)
    inflight = InFlight(app)  # a test can wait until stalled requests have been processed
    with EmulatorServer(inflight, port=0) as server:  # type: ignore[arg-type]
        from plugins.zendesk.emulator.seed import http_caller

        email, _, token = (credentials or "tierdesk@example.com:emulator").partition(":")
        info = seed_account(http_caller(app, email, token))
        yield Harness(app=app, server=server, info=info, inflight=inflight)
