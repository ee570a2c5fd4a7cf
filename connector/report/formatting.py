"""How report figures read, in HTML and on the terminal alike."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from connector.domain.formatting import human
from connector.domain.policy import Metric

NONE = "—"

METRIC_LABELS = {
    Metric.FIRST_RESPONSE: "First response",
    Metric.NEXT_RESPONSE: "Next response",
    Metric.PERIODIC_UPDATE: "Periodic update",
    Metric.RESOLUTION: "Resolution",
}


def duration(value: timedelta | None) -> str:
    """Business time as agents see it in notes (`1h30m`, `2d4h`); `—` for none."""
    return NONE if value is None else human(value)


def percent(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def local_time(value: datetime | None, zone: tzinfo | None) -> str:
    """An instant as wall-clock time of the report's zone, to the minute."""
    if value is None:
        return NONE
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
