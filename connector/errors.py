"""Expected failures of a tierdesk command, each with its exit code and what to fix.

The top-level handler (`connector.cli.main`) prints `str(error)` of a `TierdeskError` as ONE line on
stderr (a `MappingsInvalid` prints one line per error) and exits with `error.exit_code`; any other
exception is an internal error (exit 70). No traceback is printed unless `--debug` or
`TIERDESK_DEBUG=1`.

The translators turn what the libraries raise into these: `store_error` (SQLAlchemy, opening the
store) and `helpdesk_error` (a classified helpdesk call, with the connection it belongs to).
"""

from __future__ import annotations

import contextlib
import os
from typing import ClassVar

from connector.domain.policy import ConnectionConfig
from connector.retry import HelpdeskError, PermanentError, TransientError

__all__ = [
    "EXIT_CODES",
    "CredentialsRefused",
    "HelpdeskUnreachable",
    "InvalidInput",
    "Stopped",
    "StoreUnavailable",
    "TierdeskError",
    "debug_enabled",
    "exit_code_table",
    "helpdesk_error",
    "set_debug",
    "store_error",
]

OK = 0
INVALID_INPUT = 1
ACTIONS_FAILED = 2  # also `plan --detailed-exitcode`: changes pending
HELPDESK_UNAVAILABLE = 3
STORE_UNAVAILABLE = 4
STOPPED = 5
INTERNAL_ERROR = 70  # sysexits EX_SOFTWARE
INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (OK, "ok"),
    (
        INVALID_INPUT,
        "invalid input: mappings, arguments, a missing credential variable, an unknown "
        "ticket, a database file that does not exist (read-only commands)",
    ),
    (ACTIONS_FAILED, "finished, but some actions failed; `plan --detailed-exitcode`: changes pending"),
    (HELPDESK_UNAVAILABLE, "helpdesk unreachable, or its credentials were refused"),
    (STORE_UNAVAILABLE, "store unavailable: the database cannot be opened or reached"),
    (STOPPED, "stopped before the work was done (time budget or SIGTERM); the rest stays queued"),
    (INTERNAL_ERROR, "internal error (a bug: run with --debug and report the traceback)"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)


def exit_code_table() -> str:
    """The exit codes as lines `code  meaning` (the `--help` epilog)."""
    return "\n".join(f"{code:>3}  {meaning}" for code, meaning in EXIT_CODES)


# ------------------------------------------------------------------------------------ debug
_debug = {"enabled": False}  # set once per process by the `--debug` global option


def set_debug(enabled: bool) -> None:
    _debug["enabled"] = enabled


def debug_enabled() -> bool:
    """`--debug` was given, or `TIERDESK_DEBUG` is set to something true."""
    return _debug["enabled"] or os.environ.get("TIERDESK_DEBUG", "").lower() in ("1", "true", "yes", "on")


# ------------------------------------------------------------------------------------ errors
class TierdeskError(Exception):
    """An expected failure: `problem` says what went wrong, `fix` what to do about it."""

    exit_code: ClassVar[int] = INVALID_INPUT

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"error: {self.problem}" + (f"; {self.fix}" if self.fix else "")


class InvalidInput(TierdeskError):
    exit_code = INVALID_INPUT


class HelpdeskUnreachable(TierdeskError):
    exit_code = HELPDESK_UNAVAILABLE


class CredentialsRefused(TierdeskError):
    exit_code = HELPDESK_UNAVAILABLE


class StoreUnavailable(TierdeskError):
    exit_code = STORE_UNAVAILABLE


class Stopped(TierdeskError):
    exit_code = STOPPED


# ------------------------------------------------------------------------------------ translators
def store_error(url: str | None, exc: BaseException) -> TierdeskError | None:
    """What opening or using the store at `url` raised, as a `TierdeskError` (None: not a store
    failure tierdesk knows)."""
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import make_url

    if not isinstance(exc, sa_exc.SQLAlchemyError | OSError):
        return None
    shown = url or os.environ.get("TIERDESK_DB") or "sqlite:///tierdesk.db"
    with contextlib.suppress(sa_exc.ArgumentError, ValueError):
        shown = make_url(shown).render_as_string(hide_password=True)
    if isinstance(exc, OSError):
        return StoreUnavailable(
            f"cannot open the database {shown} ({exc.filename or 'path'}: {exc.strerror or exc})",
            "check that the directory exists and is writable",
        )
    if isinstance(exc, sa_exc.NoSuchModuleError | sa_exc.ArgumentError):
        return InvalidInput(
            f"--db {shown!r} is not a database URL tierdesk can use",
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DATABASE",
        )
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        reason = _first_line(str(getattr(exc, "orig", None) or exc))
        if shown.startswith("sqlite"):
            return StoreUnavailable(
                f"cannot open the database {shown} ({reason})",
                "check that the directory exists and is writable, and that the file is a tierdesk database",
            )
        return StoreUnavailable(
            f"cannot reach the database {shown} ({reason})",
            "check that PostgreSQL is running and accepts connections at that host and port",
        )
    if isinstance(exc, sa_exc.DatabaseError):
        return StoreUnavailable(
            f"the database {shown} cannot be used ({_first_line(str(getattr(exc, 'orig', None) or exc))})",
            "point --db at a tierdesk database (or a new file)",
        )
    return None


def helpdesk_error(connection: ConnectionConfig, exc: HelpdeskError) -> TierdeskError:
    """A helpdesk call of `connection` that failed for good, as a `TierdeskError`."""
    where = f"connection {connection.name!r} ({connection.url})"
    if isinstance(exc, PermanentError) and exc.status in (401, 403):
        refused = "refused the credentials" if exc.status == 401 else "denied access"
        variables = " and ".join(v for v in (connection.email_env, connection.token_env) if v)
        return CredentialsRefused(
            f"{where} {refused} (HTTP {exc.status})",
            f"check {variables or 'the credential variables'}: the integration user's e-mail and a "
            "valid API token with the permissions in the README",
        )
    if isinstance(exc, TransientError) and exc.status is None:
        return HelpdeskUnreachable(
            f"cannot reach {where}: {_network_reason(str(exc))}",
            "check the url in connections.yaml, DNS and the network (proxy, firewall)",
        )
    if isinstance(exc, TransientError):
        return HelpdeskUnreachable(
            f"{where} kept answering HTTP {exc.status} after the retries",
            "try again later; the queued actions stay in the outbox",
        )
    return HelpdeskUnreachable(
        f"{where} answered HTTP {exc.status}: {_first_line(str(exc))}",
        "check the url and the project/field settings of the connection (tierdesk doctor)",
    )


_NETWORK_REASONS = (
    ("connection refused", "connection refused"),
    ("name or service not known", "unknown host (DNS)"),
    ("nodename nor servname", "unknown host (DNS)"),
    ("temporary failure in name resolution", "DNS lookup failed"),
    ("failed to resolve", "unknown host (DNS)"),
    ("certificate verify failed", "TLS certificate not trusted"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("timed out", "timed out"),
    ("timeout", "timed out"),
)


def _network_reason(text: str) -> str:
    """The cause of a failed connection in a few words (requests nests it deep in its message)."""
    lowered = text.lower()
    for needle, reason in _NETWORK_REASONS:
        if needle in lowered:
            return reason
    return _first_line(text)[:120]


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else text.strip()
    return line[:200]
