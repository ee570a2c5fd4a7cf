"""An inline SVG line chart (the monthly adherence trend), in the style of `charts.bar_chart`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from connector.report.charts import _FONT, Goal, Series, _attr, _number

_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 12, 30, 40


def line_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_format: Callable[[float], str] = _number,
    y_max: float = 100.0,
    goals: Sequence[Goal] = (),
    width: int = 600,
    height: int = 260,
) -> str:
    """One polyline per series over the categories (months); a None value breaks the line (a month
    with nothing decided). Points carry their value in a hover title."""
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    base = _TOP + plot_h
    count = max(len(categories), 1)
    step_x = plot_w / count

    def x_of(index: int) -> float:
        return _LEFT + step_x * (index + 0.5)

    def y_of(value: float) -> float:
        return base - plot_h * min(value, y_max) / y_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_attr(title)}" font-size="{_FONT}" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for quarter in range(5):
        tick = y_max * quarter / 4
        y = y_of(tick)
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#94a3b8" if quarter == 0 else "#e2e8f0"}" stroke-width="1"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#64748b">'
            f"{escape(value_format(tick))}</text>"
        )
    for index, category in enumerate(categories):
        parts.append(
            f'<text x="{x_of(index):.1f}" y="{base + 16}" text-anchor="middle" fill="#334155">'
            f"{escape(category)}</text>"
        )
    for goal in goals:
        y = y_of(goal.value)
        label = f"{goal.name} goal {value_format(goal.value)}"
        parts.append(
            f'<line x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_attr(goal.color)}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"><title>{escape(label)}</title></line>'
        )
    drawn = False
    for s in series:
        run: list[str] = []
        runs: list[list[str]] = []
        for index, value in enumerate(s.values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            drawn = True
            x, y = x_of(index), y_of(value)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_attr(s.color)}">'
                f"<title>{escape(f'{s.name} · {categories[index]}: {value_format(value)}')}</title></circle>"
            )
        if run:
            runs.append(run)
        for points in runs:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{_attr(s.color)}" stroke-width="2"/>'
            )
    if not drawn:
        parts.append(
            f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'fill="#94a3b8">nothing decided in these months</text>'
        )
    x = float(_LEFT)
    for s in series:
        parts.append(
            f'<rect x="{x:.1f}" y="8" width="10" height="10" fill="{_attr(s.color)}" rx="2"/>'
            f'<text x="{x + 14:.1f}" y="17" fill="#334155">{escape(s.name)}</text>'
        )
        x += 24 + 7 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)
