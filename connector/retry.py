"""What every helpdesk adapter shares about calling a remote API: its credentials, its failures
grouped by what happens next, and the one retry layer (DESIGN.md, "Reliability rules").

Failure groups
  `TransientError` (429, 5xx, timeout, connection error): retried here, honouring `Retry-After`;
  when the retries run out the action is answered RETRY and the outbox tries again next cycle.
  `ConflictError` (409): the ticket changed since it was read; the action is answered CONFLICT.
  `PermanentError` (any other 4xx): retrying cannot help; the action fails with a logged reason.
  An adapter maps its client library's exceptions onto these; nothing else is retried.

Retry layer
  `retrying(policy, ...)` builds the tenacity `Retrying` every adapter call runs under: a
  `Retry-After` wins, else exponential backoff with jitter; an ambiguous failure (the write may
  have landed) waits at least `settle_wait`; it stops after `max_attempts`, when a wait would exceed
  `retry_after_cap`, or when the waits of one call would exceed `max_total_wait`. `sleep` and the
  jitter's `rng` are injected, so tests move a clock instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from connector.domain.policy import ConnectionConfig
from connector.ports import SecretSource
from connector.redaction import register_credentials

__all__ = [
    "ConflictError",
    "HelpdeskError",
    "InterruptibleSleep",
    "MissingCredentials",
    "PermanentError",
    "RetryHook",
    "RetryPolicy",
    "StopRequested",
    "TransientError",
    "credentials_for",
    "policy_from_options",
    "retrying",
]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the one retry layer, per call. A plugin subclasses it for knobs of its own."""

    max_attempts: int = 6
    max_total_wait: float = 300.0  # seconds slept across the retries of one call
    base_wait: float = 1.0  # first backoff when no Retry-After is given
    max_wait: float = 60.0
    retry_after_cap: float = 120.0  # a longer Retry-After gives up now; the outbox retries next cycle
    jitter: float = 0.2  # +/- share of a backoff wait
    request_timeout: float = 30.0
    # least wait after an ambiguous failure, for a plugin whose retry first checks whether the write
    # landed (Jira); 0 leaves the wait to Retry-After / backoff
    settle_wait: float = 0.0


PolicyT = TypeVar("PolicyT", bound=RetryPolicy)

# connection option -> (policy field, conversion)
_POLICY_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "timeout_seconds": ("request_timeout", float),
    "max_attempts": ("max_attempts", int),
    "max_total_wait": ("max_total_wait", float),
}


def policy_from_options(base: PolicyT, options: Mapping[str, str]) -> PolicyT:
    """`base` with what a connection's `options` set: `timeout_seconds`, `max_attempts`,
    `max_total_wait`. Other fields, a subclass's included, keep `base`'s values."""
    changes = {
        name: convert(options[option])
        for option, (name, convert) in _POLICY_OPTIONS.items()
        if option in options
    }
    return dataclasses.replace(base, **changes)


# ------------------------------------------------------------------------------------ failures
class HelpdeskError(Exception):
    """A failed helpdesk call, grouped by what happens next (the subclasses)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.connection: str | None = None  # set by the sync cycle: which connection failed


class TransientError(HelpdeskError):
    """Retry: 429, 5xx, timeout, connection error. `ambiguous` says the request may have been
    processed (no answer, or a server error), so a write's effect is unknown."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class StopRequested(TransientError):
    """A stop (SIGTERM, a time budget) ended a wait; what was not sent stays queued. Raised by an
    `InterruptibleSleep`; ambiguous unless the retry layer knows nothing was sent."""

    def __init__(self, message: str = "stopping", *, ambiguous: bool = True) -> None:
        super().__init__(message, ambiguous=ambiguous)


@runtime_checkable
class InterruptibleSleep(Protocol):
    """A `sleep` that raises `StopRequested` as soon as a stop is requested."""

    @property
    def stop_requested(self) -> bool: ...

    def __call__(self, seconds: float) -> None: ...


class ConflictError(HelpdeskError):
    """409: the ticket changed since it was read."""


class PermanentError(HelpdeskError):
    """Other 4xx: retrying cannot help. `field_errors` holds the helpdesk's per-field messages, when
    it names the fields it rejected (Jira does)."""

    def __init__(
        self, message: str, status: int | None = None, field_errors: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, status)
        self.field_errors = dict(field_errors or {})


# ------------------------------------------------------------------------------------ retrying
RetryHook = Callable[[int, float, BaseException | None], None]
"""Called before each retry's wait with the attempt number that failed, the wait in seconds and
the error; adapters log it."""


def retrying(
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    rng: random.Random,
    on_retry: RetryHook | None = None,
) -> Retrying:
    """The tenacity `Retrying` for one call under `policy` (see the module docstring). It retries
    `TransientError` only and re-raises the last error when it stops.

    With an `InterruptibleSleep`, a stop request ends the call at once: before a first attempt it
    raises `StopRequested` (not sent, not ambiguous); during a wait it re-raises the error that
    caused the wait, so a write whose outcome is unknown stays flagged ambiguous."""
    interruptible = sleep if isinstance(sleep, InterruptibleSleep) else None
    last_error: list[BaseException | None] = [None]

    def before(state: RetryCallState) -> None:
        if interruptible is not None and interruptible.stop_requested and state.attempt_number == 1:
            raise StopRequested("stopping: not sent", ambiguous=False)

    def sleep_or_stop(seconds: float) -> None:
        try:
            sleep(seconds)
        except StopRequested:
            if last_error[0] is not None:
                raise last_error[0] from None
            raise

    def wait_seconds(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            wait = float(exc.retry_after)
        else:
            backoff = min(policy.base_wait * 2 ** (state.attempt_number - 1), policy.max_wait)
            wait = max(0.0, backoff * (1 + rng.uniform(-policy.jitter, policy.jitter)))
        if isinstance(exc, TransientError) and exc.ambiguous:
            wait = max(wait, policy.settle_wait)
        return wait

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        wait = state.upcoming_sleep  # tenacity computes the wait before asking whether to stop
        return wait > policy.retry_after_cap or state.idle_for + wait > policy.max_total_wait

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        last_error[0] = error
        if on_retry is not None:
            on_retry(state.attempt_number, state.upcoming_sleep, error)

    return Retrying(
        stop=stop,
        wait=wait_seconds,
        retry=retry_if_exception_type(TransientError),
        sleep=sleep_or_stop,
        reraise=True,
        before=before,
        before_sleep=before_sleep,
    )


# ------------------------------------------------------------------------------------ credentials
class MissingCredentials(ValueError):
    """The connection names environment variables that are not set."""


def credentials_for(
    config: ConnectionConfig,
    secrets: SecretSource | Mapping[str, str] | None,
    *,
    emulator_email: str,
    emulator_token: str,
    what: str,
) -> tuple[str, str]:
    """The e-mail and API token named by `config.email_env` / `config.token_env` in `secrets`.

    Against a local emulator (127.0.0.1 / localhost) a missing one defaults to the emulator's
    `emulator_email` / `emulator_token`; for any other URL `MissingCredentials` names the variables
    to set and `what` they hold (e.g. "a Zendesk admin's e-mail and API token")."""
    email = _secret(secrets, config.email_env)
    token = _secret(secrets, config.token_env)
    register_credentials(email, token)
    if email and token:
        return email, token
    if not _is_local(config.url):
        raise MissingCredentials(
            f"connection {config.name!r}: set {config.email_env or 'an e-mail variable'} and "
            f"{config.token_env or 'a token variable'} ({what})"
        )
    return email or emulator_email, token or emulator_token


def _secret(secrets: SecretSource | Mapping[str, str] | None, name: str | None) -> str | None:
    if not name or secrets is None:
        return None
    return secrets.get(name)


def _is_local(url: str) -> bool:
    return "://127.0.0.1" in url or "://localhost" in url
