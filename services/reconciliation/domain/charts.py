"""Small inline SVG charts for the console (no script, no file from the internet)."""
from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any


def coverage_bars(rows: Sequence[dict[str, Any]], *, width: int = 640, bar_height: int = 22) -> str:
    """One horizontal bar per township: coverage rate, with its target completion as a marker line."""
    label_w, gap = 120, 6
    plot_w = width - label_w - 70
    height = max(1, len(rows)) * (bar_height + gap) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="各乡镇参保率">']
    for i, row in enumerate(rows):
        y = 5 + i * (bar_height + gap)
        value = row.get("coverage_rate") or 0.0
        w = max(0.0, min(1.0, value)) * plot_w
        name = escape(str(row["township"]))
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.0f}" text-anchor="end" '
                     f'font-size="13">{name}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_height}" fill="#eef2f6"/>')
        parts.append(f'<rect class="bar" data-township="{name}" data-rate="{value}" x="{label_w}" y="{y}" '
                     f'width="{w:.1f}" height="{bar_height}" fill="#2f7dd1"/>')
        completion = row.get("target_completion")
        if completion is not None:
            x = label_w + max(0.0, min(1.0, completion)) * plot_w
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2}" y2="{y + bar_height + 2}" '
                         f'stroke="#d14b2f" stroke-width="2"><title>任务完成率 {completion:.1%}</title></line>')
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + bar_height * 0.7:.0f}" font-size="13">'
                     f'{value:.1%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend_line(points: Sequence[tuple[str, float]], *, width: int = 220, height: int = 50) -> str:
    """A sparkline of weekly coverage for one township (points: week label, rate)."""
    if not points:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'
    n = len(points)
    step = (width - 10) / max(1, n - 1)
    coords = [(5 + i * step, height - 5 - max(0.0, min(1.0, r)) * (height - 10)) for i, (_, r) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#2f7dd1"><title>{escape(w)} {r:.1%}</title>'
                   f"</circle>" for (x, y), (w, r) in zip(coords, points))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="每周参保率"><polyline fill="none" stroke="#2f7dd1" stroke-width="2" points="{path}"/>'
            f"{dots}</svg>")
