"""Zendesk Support for tierdesk: the adapter (`connect`), the emulator (`build_emulator`) and its
seeds. See plugins/zendesk/README.md."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime

from connector.domain.policy import ConnectionConfig
from connector.emulation.base import ClockMode, EmulatorApp
from connector.ports import SecretSource
from plugins.zendesk.client import PullCursor, RetryPolicy, ZendeskHelpdesk
from plugins.zendesk.emulator import INTEGRATION_EMAIL, SeedInfo, seed_demo, seed_volume
from plugins.zendesk.emulator import build as _build_emulator
from plugins.zendesk.translate import ReadContext

__all__ = [
    "INTEGRATION_EMAIL",
    "PullCursor",
    "RetryPolicy",
    "SeedInfo",
    "ZendeskHelpdesk",
    "build_emulator",
    "connect",
    "seed_demo",
    "seed_volume",
]

EMULATOR_TOKEN = "emulator"  # noqa: S105 - the emulator accepts any token


class MissingCredentials(ValueError):
    """The connection names environment variables that are not set."""


def _secret(secrets: SecretSource | Mapping[str, str] | None, name: str | None) -> str | None:
    if name is None or secrets is None:
        return None
    return secrets.get(name)


def _is_local(url: str) -> bool:
    return "://127.0.0.1" in url or "://localhost" in url


def connect(
    config: ConnectionConfig,
    secrets: SecretSource | Mapping[str, str] | None = None,
    *,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ZendeskHelpdesk:
    """The Helpdesk adapter for one Zendesk connection.

    Credentials: `config.email_env` / `config.token_env` name the secrets (an API token of an
    admin, see the README). Against a local emulator (127.0.0.1 / localhost) missing credentials
    default to the emulator's integration user. `config.fields` maps logical field names (tier,
    sla_due, sla_state, ...) to Zendesk ticket field ids. `config.options` may set
    `timeout_seconds`, `max_attempts`, `max_total_wait`, `job_poll_interval`."""
    email = _secret(secrets, config.email_env)
    token = _secret(secrets, config.token_env)
    if not email or not token:
        if not _is_local(config.url):
            raise MissingCredentials(
                f"connection {config.name!r}: set {config.email_env or 'an e-mail variable'} and "
                f"{config.token_env or 'a token variable'} (a Zendesk admin's e-mail and API token)"
            )
        email, token = email or INTEGRATION_EMAIL, token or EMULATOR_TOKEN
    policy = retry or RetryPolicy()
    options = config.options
    if any(k in options for k in ("timeout_seconds", "max_attempts", "max_total_wait", "job_poll_interval")):
        policy = RetryPolicy(
            max_attempts=int(options.get("max_attempts", policy.max_attempts)),
            max_total_wait=float(options.get("max_total_wait", policy.max_total_wait)),
            base_wait=policy.base_wait,
            max_wait=policy.max_wait,
            retry_after_cap=policy.retry_after_cap,
            jitter=policy.jitter,
            request_timeout=float(options.get("timeout_seconds", policy.request_timeout)),
            job_poll_interval=float(options.get("job_poll_interval", policy.job_poll_interval)),
            job_poll_budget=policy.job_poll_budget,
        )
    context = ReadContext(
        connection=config.name,
        field_names={str(v): k for k, v in config.fields.items()},
        status_map=dict(config.status_map),
        priority_map=dict(config.priority_map),
    )
    return ZendeskHelpdesk(
        config.name,
        config.url,
        email,
        token,
        field_ids={k: str(v) for k, v in config.fields.items()},
        context=context,
        retry=policy,
        sleep=sleep,
    )


def build_emulator(
    clock_mode: ClockMode = "real",
    seed: str = "empty",
    credentials: str | None = None,
    rate_limit_per_minute: int = 700,
    start: datetime | None = None,
) -> EmulatorApp:
    """The Zendesk emulator as a WSGI app with the `/_emulator/` control plane; serve it with
    `connector.emulation.EmulatorServer`. `seed="demo"` fills it with the demo account."""
    return _build_emulator(clock_mode, seed, credentials, rate_limit_per_minute, start)
