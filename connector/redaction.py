"""Redaction of credentials from everything tierdesk prints or stores.

The values of the credential variables a connection names (e-mail and token) are registered when
an adapter resolves them; `scrub` replaces them, their HTTP Basic encodings and any
`Authorization: Basic|Bearer ...` value with `***`. Console lines, log fields, tracebacks shown
with `--debug` and the vendor error bodies kept in the outbox's `last_error` all pass through it,
so a helpdesk that echoes request headers in its error body cannot leak the token.
"""

from __future__ import annotations

import base64
import re
import threading

__all__ = ["forget_all", "register_credentials", "scrub"]

MASK = "***"
_AUTH_VALUES = re.compile(r"\b(Basic|Bearer|Token)\s+[A-Za-z0-9+/=._~-]{8,}", re.IGNORECASE)
_MIN_SECRET = 4  # shorter values would blank ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()


def register_credentials(email: str | None, token: str | None) -> None:
    """Remember a connection's credentials (and their HTTP Basic forms) for `scrub`."""
    values = {v for v in (email, token) if v and len(v) >= _MIN_SECRET}
    if email and token:
        for pair in (f"{email}:{token}", f"{email}/token:{token}"):
            values.add(base64.b64encode(pair.encode()).decode())
    with _lock:
        _secrets.update(values)


def forget_all() -> None:
    """Drop every registered value (tests that run several configurations in one process)."""
    with _lock:
        _secrets.clear()


def scrub(text: str) -> str:
    """`text` without registered credential values and authorization header values."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: an encoding before its parts
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _AUTH_VALUES.sub(lambda m: f"{m.group(1)} {MASK}", text)
