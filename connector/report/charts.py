"""Inline SVG bar charts for the HTML report.

The report needs only grouped vertical bars (adherence per tier and metric, breaches per day, the
first-response distribution), and it must open offline as one file; a few lines of SVG do that
without a plotting dependency or a JavaScript bundle. Hovering a bar shows its `<title>`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

TIER_COLORS = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#475569")
BREACH_COLOR = "#dc2626"

_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 12, 30, 40
_FONT = 11


@dataclass(frozen=True, slots=True)
class Goal:
    """A horizontal goal line (a tier's target adherence)."""

    name: str
    value: float
    color: str


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float | None, ...]  # one per category; None draws no bar
    color: str


def _nice_step(raw: float) -> float:
    """The smallest 1, 2 or 5 x 10^k that is at least `raw`."""
    if raw <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _axis(peak: float, y_max: float | None, integer: bool) -> tuple[float, float]:
    """(axis maximum, tick step)."""
    if y_max is not None:
        return y_max, y_max / 4
    step = _nice_step(peak / 4)
    if integer:
        step = max(step, 1.0)
    return max(step * math.ceil(peak / step), step), step


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_format: Callable[[float], str] = _number,
    y_max: float | None = None,
    integer: bool = False,
    label_zero: bool = False,
    width: int = 600,
    height: int = 260,
    goals: Sequence[Goal] = (),
) -> str:
    """A grouped bar chart as an `<svg>` element: one group per category, one bar per series.

    `y_max` fixes the axis (100 for percentages); otherwise it is rounded up from the data.
    `integer` keeps ticks on whole numbers (counts). Bars carry their value on top while there
    is room (zeros only with `label_zero`, where a 0 says more than a missing bar), and always in
    their hover title. `goals` are dashed horizontal lines labelled at the right end.
    """
    values = [v for s in series for v in s.values if v is not None]
    top, step = _axis(max(values, default=0.0), y_max, integer)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    base = _TOP + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_attr(title)}" font-size="{_FONT}" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">',
        f"<title>{escape(title)}</title>",
    ]

    def y_of(value: float) -> float:
        return base - plot_h * min(value, top) / top

    tick = 0.0
    while tick <= top + 1e-9:
        y = y_of(tick)
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#94a3b8" if tick == 0 else "#e2e8f0"}" stroke-width="1"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#64748b">'
            f"{escape(value_format(tick))}</text>"
        )
        tick += step

    count = max(len(categories), 1)
    group_w = plot_w / count
    bar_w = group_w * 0.8 / max(len(series), 1)
    widest = max((len(category) for category in categories), default=1)
    label_every = max(1, math.ceil(count * (widest * _FONT * 0.62 + 8) / plot_w))
    bars = sum(1 for s in series for v in s.values if v is not None)
    show_values = bar_w >= 18 and bars <= 48
    for index, category in enumerate(categories):
        group_x = _LEFT + index * group_w
        for position, s in enumerate(series):
            value = s.values[index]
            if value is None:
                continue
            x = group_x + group_w * 0.1 + position * bar_w
            y = y_of(value)
            named = f"{s.name} · {category}" if len(series) > 1 else category
            tooltip = f"{named}: {value_format(value)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{max(base - y, 0):.1f}" fill="{_attr(s.color)}" rx="1.5">'
                f"<title>{escape(tooltip)}</title></rect>"
            )
            if show_values and (value > 0 or label_zero):
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                    f'font-size="{_FONT - 1}" fill="#334155">{escape(value_format(value))}</text>'
                )
        if index % label_every == 0:
            parts.append(
                f'<text x="{group_x + group_w / 2:.1f}" y="{base + 16}" text-anchor="middle" '
                f'fill="#334155">{escape(category)}</text>'
            )
    for goal in goals:
        y = y_of(goal.value)
        label = f"{goal.name} goal {value_format(goal.value)}"
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_attr(goal.color)}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"><title>{escape(label)}</title></line>'
            f'<text x="{width - _RIGHT - 2}" y="{y - 3:.1f}" text-anchor="end" font-size="{_FONT - 1}" '
            f'fill="{_attr(goal.color)}">{escape(label)}</text>'
        )
    if not values:
        parts.append(
            f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'fill="#94a3b8">no data in this period</text>'
        )
    if len(series) > 1:
        x = float(_LEFT)
        for s in series:
            parts.append(
                f'<rect x="{x:.1f}" y="8" width="10" height="10" fill="{_attr(s.color)}" rx="2"/>'
                f'<text x="{x + 14:.1f}" y="17" fill="#334155">{escape(s.name)}</text>'
            )
            x += 24 + 7 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)
