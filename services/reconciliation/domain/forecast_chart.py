"""The season's curve by day as an inline SVG, built on the server (no script, no file from the internet).

One place: enrolled people by day so far (solid), the forecast to the period's last day
(dashed) inside its interval (shaded), the target (red, dashed) and last year's curve on
this year's days (grey). Days run along the bottom with the first of each month marked;
people up the left side. Every mark carries a class and a <title>, so a reader hovering
sees the figure and a test can find it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from html import escape

from services.reconciliation.domain.forecast import Forecast

WIDTH, HEIGHT = 820, 340
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 28, 40


TICKS = 4  # gridlines above zero


def _nice_top(value: float) -> float:
    """The axis top: `TICKS` equal steps of a round size (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^n) reaching
    `value`, so that every tick is a round number."""
    wanted = max(value, float(TICKS)) / TICKS
    magnitude = 10.0 ** math.floor(math.log10(wanted))
    return TICKS * float(next(m * magnitude for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= wanted))


def season_chart(f: Forecast, start: date, length: int, title: str) -> str:
    """The chart of forecast `f` over a period of `length` days from `start`."""
    day = len(f.actual) - 1
    target = f.curve.target
    tallest = max([*f.actual, *f.path, *(f.path_high or ()), *(f.last_year or ()), target or 0, 1.0])
    top = _nice_top(tallest * 1.05)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: float) -> float:
        return LEFT + plot_w * (i + 0.5) / length

    def y(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    def line(points: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'class="season-chart" data-days="{length}" data-today="{day}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    parts += _axes(start, length, top, x, y)
    if f.path_low is not None and f.path_high is not None:
        upper = [(day + i, v) for i, v in enumerate(f.path_high)]
        lower = [(day + i, v) for i, v in enumerate(f.path_low)][::-1]
        parts.append(f'<polygon class="band" points="{line(upper + lower)}" fill="#2f7dd1" fill-opacity="0.18">'
                     f"<title>区间 {f.low:,.0f}–{f.high:,.0f} 人</title></polygon>")
    if f.last_year is not None:
        parts.append(f'<polyline class="last-year" fill="none" stroke="#8a96a3" stroke-width="1.5" '
                     f'stroke-dasharray="2 3" points="{line(list(enumerate(f.last_year)))}">'
                     f"<title>上年同期 期末{f.last_year[-1]:,.0f}人</title></polyline>")
    if target:
        parts.append(f'<line class="target" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
                     f'stroke="#d14b2f" stroke-width="1.5" stroke-dasharray="6 4"><title>任务数 {target:,.0f} 人</title>'
                     f"</line>")
        parts.append(_label(LEFT + plot_w + 6, y(target), f"任务数 {target:,.0f}", "#d14b2f"))
    parts.append(f'<polyline class="actual" fill="none" stroke="#1f4e79" stroke-width="2.5" '
                 f'points="{line(list(enumerate(f.actual)))}"><title>已参保 {f.so_far:,} 人（截至当日）</title></polyline>')
    if len(f.path) > 1:
        parts.append(f'<polyline class="forecast" fill="none" stroke="#2f7dd1" stroke-width="2" stroke-dasharray="7 4" '
                     f'points="{line([(day + i, v) for i, v in enumerate(f.path)])}"><title>预计期末 {f.final:,.0f} 人'
                     f"</title></polyline>")
    parts.append(f'<line class="today" x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                 f'stroke="#5a6b7d" stroke-width="1"><title>{start + timedelta(days=day)}</title></line>')
    band = f"（{f.low:,.0f}–{f.high:,.0f}）" if f.low is not None and f.high is not None else ""
    parts.append(_label(LEFT + plot_w + 6, y(f.final), f"预计 {f.final:,.0f}{band}", "#1f4e79"))
    parts.append("</svg>")
    return "".join(parts)


def _axes(start: date, length: int, top: float, fx: Callable[[float], float],
          fy: Callable[[float], float]) -> list[str]:
    parts = []
    for k in range(TICKS + 1):
        v = top * k / TICKS
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{fy(v):.1f}" y2="{fy(v):.1f}" stroke="#e6ebf0"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{fy(v) + 4:.1f}" text-anchor="end" font-size="11">{v:,.0f}</text>')
    for i in range(length):
        d = start + timedelta(days=i)
        if d.day == 1 or i == 0:
            parts.append(f'<line x1="{fx(i):.1f}" x2="{fx(i):.1f}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 5}" '
                         f'stroke="#5a6b7d"/>')
            parts.append(f'<text class="month" x="{fx(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
                         f'font-size="11">{d.month}月{d.day}日</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{TOP - 10}" text-anchor="end" font-size="11">人</text>')
    return parts


def _label(x: float, y: float, text: str, colour: str) -> str:
    return f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="12" fill="{colour}">{escape(text)}</text>'
