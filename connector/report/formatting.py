"""How report figures read, in HTML and on the terminal alike."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

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


def money(amount: Decimal, currency: str) -> str:
    """`1,425.00 USD`: the amount with its ISO 4217 code after it. A code, not a symbol or a
    locale's format, so a report read anywhere is unambiguous ($ is several currencies)."""
    return f"{amount:,.2f} {currency}"
