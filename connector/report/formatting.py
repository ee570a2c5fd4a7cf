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


def credit_terms(
    percent_per_breach: float | None,
    band_below_percent: float | None,
    band_percent: float | None,
) -> str:
    """How a month's credit was reached: `2% per breach`, `below 99%: 5%` (the adherence band that
    applied) or `no band reached` (adherence at or above every band's bound)."""
    if percent_per_breach is not None:
        return f"{percent(percent_per_breach)} per breach"
    if band_below_percent is None:
        return "no band reached"
    return f"below {percent(band_below_percent)}: {percent(band_percent)}"
