"""Key and text helpers shared by the plan, its escalation steps, records and reports: helpdesk
tag names, deterministic idempotency keys, ISO instants and human durations.

Their output is byte-for-byte what earlier versions produced, so an outbox written before an
upgrade still recognises every action after it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from typing import Final

from connector.domain.timeline import to_us

_TAG_UNSAFE = re.compile(r"[^a-z0-9_:\-/]+")


def tag_name(raw: str) -> str:
    """Helpdesk-safe tag: lower case, spaces and punctuation folded to `_` (Zendesk and Jira labels
    allow no spaces)."""
    return _TAG_UNSAFE.sub("_", raw.strip().casefold()).strip("_")


_KEY_SEPARATOR: Final = "\x1f"


def action_key(*parts: object) -> str:
    return joined_key(_KEY_SEPARATOR.join(str(p) for p in parts))


def joined_key(text: str) -> str:
    """`action_key` of parts already joined with the separator."""
    # == hexdigest()[:32]; hexdigest() alone costs more than the hashing
    return hashlib.sha256(text.encode()).digest()[:16].hex()


_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_TWO_DIGITS: Final = tuple(f"{n:02d}" for n in range(60))
_DAY_MINUTES: Final = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_DAY_TEXTS: dict[int, str] = {}  # days since the epoch -> "YYYY-MM-DD"


def iso(at: datetime | None) -> str:
    """Full ISO 8601 timestamp in UTC to the second, `Z` suffix; empty for None."""
    return "" if at is None else iso_us(to_us(at))


def iso_us(at_us: int) -> str:
    """:func:`iso` of UTC microseconds since the epoch.

    Formatting from the integer avoids a datetime round trip (astimezone, replace, isoformat cost
    several times more): the date part is memoised (a worker's instants fall on a few hundred
    days), the time of day comes from tables.
    """
    days, seconds = divmod(at_us // 1_000_000, 86_400)
    day = _DAY_TEXTS.get(days)
    if day is None:
        if len(_DAY_TEXTS) >= 4096:
            _DAY_TEXTS.clear()
        day = _DAY_TEXTS[days] = date.fromordinal(days + _EPOCH_ORDINAL).isoformat()
    minutes, seconds = divmod(seconds, 60)
    return f"{day}{_DAY_MINUTES[minutes]}{_TWO_DIGITS[seconds]}Z"


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = "".join(parts) or f"{seconds}s"
    return sign + text
