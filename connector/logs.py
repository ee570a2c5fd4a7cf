"""structlog set-up: pretty on a terminal, JSON otherwise, secrets redacted.

Exceptions never reach the stream as raw traceback text: with `debug` the traceback is the
`exception` field (a JSON string), otherwise a one-line `error` field names the exception. Every
string field then passes through `connector.redaction.scrub`.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

from connector.redaction import scrub

_SECRET_KEYS = re.compile(r"(token|password|secret|authorization|api_key|apikey|credential)", re.IGNORECASE)


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank values of secret-looking keys and credentials embedded in strings."""
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key) and value not in (None, ""):
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = scrub(value)
    return event


LEVEL_ENV = "TIERDESK_LOG_LEVEL"


def set_default_level(level: str) -> None:
    """The level `configure` uses when not told one (`tierdesk --log-level`); kept in
    `$TIERDESK_LOG_LEVEL`, so processes tierdesk starts (the demo's worker) log alike."""
    os.environ[LEVEL_ENV] = level.lower()


class _CurrentStderr:
    """Whatever `sys.stderr` is at the time of each write: while progress bars are live they
    redirect it, so log lines print above the bars instead of through them."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def one_line_exceptions(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace `exc_info` by an `error` field of one line: `Type: message` (no traceback)."""
    exc_info = event.pop("exc_info", None)
    if exc_info:
        exc = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if exc is not None:
            first = (str(exc).splitlines() or [""])[0]
            event.setdefault("error", f"{type(exc).__name__}: {first}".rstrip(": "))
    return event


_mode = {"json": False}  # what the last `configure` chose; the top-level handler writes the same


def json_enabled() -> bool:
    """Whether logs go out as JSON lines (then the top-level handler's error lines do too)."""
    return _mode["json"]


def configure(
    *, json: bool | None = None, level: str | None = None, stream: Any = None, debug: bool | None = None
) -> None:
    """Log to `stream` (stderr) at `level` (default `$TIERDESK_LOG_LEVEL`, else INFO): JSON when
    `json`, else per `TIERDESK_LOG_FORMAT` (json or console), else JSON unless the stream is a
    terminal. `debug` None: the global `--debug` / `TIERDESK_DEBUG` setting."""
    from connector.errors import debug_enabled

    chosen = (level or os.environ.get(LEVEL_ENV) or "INFO").upper()
    out = stream or _CurrentStderr()
    log_format = os.environ.get("TIERDESK_LOG_FORMAT", "").lower()
    if json is None and log_format in ("json", "console"):
        json = log_format == "json"
    use_json = (not out.isatty()) if json is None else json
    _mode["json"] = use_json
    with_traceback = debug_enabled() if debug is None else debug
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    exceptions: Any = structlog.processors.format_exc_info if with_traceback else one_line_exceptions
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            exceptions,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(chosen)),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, out)),
        cache_logger_on_first_use=False,
    )
