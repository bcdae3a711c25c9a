"""Small inline SVG charts for the what-if report: lines, grouped bars, a histogram with markers.

Text in, text out: no JavaScript, no fonts or files fetched, so a report opens anywhere offline.
Every chart has a title (<title>, read by screen readers), axes with round ticks and a legend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 760
HEIGHT = 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 20, 34, 52
PALETTE = ("#1f5fa8", "#d9822b", "#2e8b57", "#a23b72", "#6b6b6b")

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Line:
    """One series of a line chart; `labels` (one per point, or empty) are written beside points."""

    name: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str
    labels: Sequence[str] = ()
    dashed: bool = False
    points: bool = False


@dataclass(frozen=True, slots=True)
class Bars:
    """One group member of a bar chart: a value per category."""

    name: str
    values: Sequence[float]
    color: str


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical line across a chart at x, labelled."""

    label: str
    x: float
    color: str


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values (1, 2, 2.5, 5 × 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    value = first
    while value < hi + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


class _Frame:
    """Maps data to pixels inside the plot area and draws axes, grid and legend."""

    def __init__(self, x_ticks: list[float], y_ticks: list[float]) -> None:
        self.x0, self.x1 = x_ticks[0], x_ticks[-1]
        self.y0, self.y1 = y_ticks[0], y_ticks[-1]
        self.x_ticks, self.y_ticks = x_ticks, y_ticks
        self.left, self.right = _LEFT, WIDTH - _RIGHT
        self.top, self.bottom = _TOP, HEIGHT - _BOTTOM

    def px(self, x: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return self.left + (x - self.x0) / span * (self.right - self.left)

    def py(self, y: float) -> float:
        span = self.y1 - self.y0 or 1.0
        return self.bottom - (y - self.y0) / span * (self.bottom - self.top)

    def axes(self, x_format: Format | None, y_format: Format, x_label: str, y_label: str) -> str:
        out = []
        for y in self.y_ticks:
            py = self.py(y)
            out.append(
                f'<line x1="{self.left}" y1="{py:.1f}" x2="{self.right}" y2="{py:.1f}"'
                f' stroke="#e3e3e3"/>'
                f'<text x="{self.left - 6}" y="{py + 4:.1f}" text-anchor="end">'
                f"{escape(y_format(y))}</text>"
            )
        if x_format is not None:
            for x in self.x_ticks:
                px = self.px(x)
                out.append(
                    f'<line x1="{px:.1f}" y1="{self.bottom}" x2="{px:.1f}" y2="{self.bottom + 4}"'
                    f' stroke="#888"/>'
                    f'<text x="{px:.1f}" y="{self.bottom + 17}" text-anchor="middle">'
                    f"{escape(x_format(x))}</text>"
                )
        out.append(
            f'<line x1="{self.left}" y1="{self.bottom}" x2="{self.right}" y2="{self.bottom}"'
            f' stroke="#888"/>'
            f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{self.bottom}"'
            f' stroke="#888"/>'
            f'<text x="{(self.left + self.right) / 2:.1f}" y="{HEIGHT - 10}"'
            f' text-anchor="middle">{escape(x_label)}</text>'
            f'<text x="14" y="{(self.top + self.bottom) / 2:.1f}" text-anchor="middle"'
            f' transform="rotate(-90 14 {(self.top + self.bottom) / 2:.1f})">'
            f"{escape(y_label)}</text>"
        )
        return "".join(out)


def _legend(entries: Sequence[tuple[str, str]]) -> str:
    out, x = [], _LEFT
    for name, color in entries:
        out.append(
            f'<rect x="{x}" y="10" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 17}" y="20">{escape(name)}</text>'
        )
        x += 30 + 7 * len(name)
    return "".join(out)


def _svg(title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="100%" role="img" font-family="sans-serif" font-size="11" fill="#222">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def line_chart(
    title: str,
    lines: Sequence[Line],
    *,
    x_label: str,
    y_label: str,
    x_format: Format,
    y_format: Format,
    y_floor: float | None = None,
) -> str:
    """Lines over a shared x axis (optionally with points and point labels)."""
    xs = [x for line in lines for x in line.xs] or [0.0]
    ys = [y for line in lines for y in line.ys] or [0.0]
    low = min(ys) if y_floor is None else min(y_floor, min(ys))
    frame = _Frame(nice_ticks(min(xs), max(xs)), nice_ticks(low, max(ys)))
    body = [frame.axes(x_format, y_format, x_label, y_label)]
    for line in lines:
        if not line.xs:
            continue
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{frame.px(x):.1f},{frame.py(y):.1f}"
            for i, (x, y) in enumerate(zip(line.xs, line.ys, strict=True))
        )
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        body.append(f'<path d="{path}" fill="none" stroke="{line.color}" stroke-width="2"{dash}/>')
        if line.points:
            for i, (x, y) in enumerate(zip(line.xs, line.ys, strict=True)):
                px, py = frame.px(x), frame.py(y)
                body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{line.color}"/>')
                if i < len(line.labels):
                    body.append(
                        f'<text x="{px + 6:.1f}" y="{py - 6:.1f}">{escape(line.labels[i])}</text>'
                    )
    body.append(_legend([(line.name, line.color) for line in lines]))
    return _svg(title, "".join(body))


def bar_chart(
    title: str,
    categories: Sequence[str],
    groups: Sequence[Bars],
    *,
    y_label: str,
    y_format: Format,
) -> str:
    """Grouped bars per category; negative values hang below the zero line."""
    values = [v for group in groups for v in group.values] or [0.0]
    y_ticks = nice_ticks(min(0.0, min(values)), max(0.0, max(values)))
    frame = _Frame([0.0, float(max(len(categories), 1))], y_ticks)
    body = [frame.axes(None, y_format, "month", y_label)]
    slot = (frame.right - frame.left) / max(len(categories), 1)
    width = slot * 0.8 / max(len(groups), 1)
    zero = frame.py(0.0)
    for c, category in enumerate(categories):
        left = frame.left + c * slot + slot * 0.1
        for g, group in enumerate(groups):
            value = group.values[c]
            top, bottom = sorted((frame.py(value), zero))
            body.append(
                f'<rect x="{left + g * width:.1f}" y="{top:.1f}" width="{width * 0.92:.1f}"'
                f' height="{max(bottom - top, 0.5):.1f}" fill="{group.color}">'
                f"<title>{escape(f'{group.name} {category}: {y_format(value)}')}</title></rect>"
            )
        body.append(
            f'<text x="{left + slot * 0.4:.1f}" y="{frame.bottom + 17}" text-anchor="middle">'
            f"{escape(category)}</text>"
        )
    body.append(
        f'<line x1="{frame.left}" y1="{zero:.1f}" x2="{frame.right}" y2="{zero:.1f}"'
        f' stroke="#444"/>'
    )
    body.append(_legend([(group.name, group.color) for group in groups]))
    return _svg(title, "".join(body))


def histogram_chart(
    title: str,
    edges: Sequence[float],
    counts: Sequence[int],
    markers: Sequence[Marker],
    *,
    x_label: str,
    x_format: Format,
) -> str:
    """Bars of counts between edges, and labelled vertical markers (e.g. P5, P50, P95)."""
    lo, hi = (edges[0], edges[-1]) if edges else (0.0, 1.0)
    frame = _Frame(nice_ticks(lo, hi), nice_ticks(0.0, float(max(counts, default=1))))
    body = [frame.axes(x_format, lambda v: f"{v:,.0f}", x_label, "scenarios")]
    for i, count in enumerate(counts):
        x0, x1 = frame.px(edges[i]), frame.px(edges[i + 1])
        top = frame.py(float(count))
        body.append(
            f'<rect x="{x0:.1f}" y="{top:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}"'
            f' height="{frame.bottom - top:.1f}" fill="{PALETTE[0]}" opacity="0.75"/>'
        )
    for marker in markers:
        px = frame.px(marker.x)
        body.append(
            f'<line x1="{px:.1f}" y1="{frame.top}" x2="{px:.1f}" y2="{frame.bottom}"'
            f' stroke="{marker.color}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{px + 4:.1f}" y="{frame.top + 12}" fill="{marker.color}">'
            f"{escape(marker.label)}</text>"
        )
    body.append(_legend([(m.label, m.color) for m in markers]))
    return _svg(title, "".join(body))
