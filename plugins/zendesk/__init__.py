"""Zendesk Support for tierdesk: the adapter (`connect`), the emulator (`build_emulator`) and its
seeds. See plugins/zendesk/README.md."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from connector.domain.policy import ConnectionConfig
from connector.emulation.base import ClockMode, EmulatorApp
from connector.ports import SecretSource
from connector.retry import MissingCredentials, credentials_for, policy_from_options
from plugins.zendesk.client import RetryPolicy, ZendeskHelpdesk
from plugins.zendesk.doctor import ZendeskDirectory
from plugins.zendesk.emulator import INTEGRATION_EMAIL, SeedInfo, seed_demo, seed_volume
from plugins.zendesk.emulator import build as _build_emulator
from plugins.zendesk.pull_state import PullCursor
from plugins.zendesk.translate import ReadContext
from plugins.zendesk.webhook import ZendeskWebhook

__all__ = [
    "INTEGRATION_EMAIL",
    "WEBHOOK",
    "MissingCredentials",
    "PullCursor",
    "RetryPolicy",
    "SeedInfo",
    "ZendeskHelpdesk",
    "build_emulator",
    "connect",
    "directory",
    "seed_demo",
    "seed_volume",
]

DOCTOR_RETRY = RetryPolicy(max_attempts=2, max_total_wait=5.0, request_timeout=15.0)
EMULATOR_TOKEN = "emulator"  # noqa: S105 - the emulator accepts any token

WEBHOOK = ZendeskWebhook()  # the format `connector.webhooks` verifies this helpdesk's webhooks with


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
        sla_due, sla_state, ...) to Zendesk ticket field ids; `config.aliases` (escalation targets -> ids)
    are named in the fix of a step Zendesk rejects. `config.options` may set
        `timeout_seconds`, `max_attempts`, `max_total_wait`, `job_poll_interval`."""
    email, token = credentials_for(
        config,
        secrets,
        emulator_email=INTEGRATION_EMAIL,
        emulator_token=EMULATOR_TOKEN,
        what="a Zendesk admin's e-mail and API token",
    )
    options = config.options
    policy = policy_from_options(retry or RetryPolicy(), options)
    if "job_poll_interval" in options:
        policy = dataclasses.replace(policy, job_poll_interval=float(options["job_poll_interval"]))
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
        aliases={k: str(v) for k, v in config.aliases.items()},
        context=context,
        retry=policy,
        sleep=sleep,
    )


def directory(
    config: ConnectionConfig, secrets: SecretSource | Mapping[str, str] | None = None
) -> ZendeskDirectory:
    """Read-only look-ups of the account (`connector.ports.HelpdeskDirectory`) for `tierdesk doctor`
    and mappings that name fields, groups and people; credentials as `connect`, a short retry
    budget (a person is waiting)."""
    email, token = credentials_for(
        config,
        secrets,
        emulator_email=INTEGRATION_EMAIL,
        emulator_token=EMULATOR_TOKEN,
        what="a Zendesk admin's e-mail and API token",
    )
    return ZendeskDirectory(config, email, token, DOCTOR_RETRY)


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
