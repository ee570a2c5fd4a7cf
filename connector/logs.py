"""structlog set-up: pretty on a terminal, JSON otherwise, secrets redacted."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

_SECRET_KEYS = re.compile(r"(token|password|secret|authorization|api_key|apikey|credential)", re.IGNORECASE)
_SECRET_VALUES = re.compile(r"(Basic|Bearer)\s+[A-Za-z0-9+/=._-]{8,}")


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank values of secret-looking keys and credentials embedded in strings."""
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key) and value not in (None, ""):
            event[key] = "***"
        elif isinstance(value, str):
            event[key] = _SECRET_VALUES.sub(r"\1 ***", value)
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


def configure(*, json: bool | None = None, level: str | None = None, stream: Any = None) -> None:
    """Log to `stream` (stderr) at `level` (default `$TIERDESK_LOG_LEVEL`, else INFO), as JSON
    unless the stream is a terminal."""
    chosen = (level or os.environ.get(LEVEL_ENV) or "INFO").upper()
    out = stream or _CurrentStderr()
    use_json = (not out.isatty()) if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(chosen)),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, out)),
        cache_logger_on_first_use=False,
    )
