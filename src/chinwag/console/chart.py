"""Bar charts as inline SVG, drawn on the server: no script, no style sheet, no build step.

The markup is well-formed XML too (every attribute quoted), so a chart can be saved as a file.

`bar_chart(bars, title=...)` is a pure function of its data. Every label and the title go
through `console/html.render`, so they are escaped like any other text on a page; colours and
sizes are presentation attributes, which the console's Content-Security-Policy allows (inline
`style` would not be).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from chinwag.console.html import Html, join, render

WIDTH = 720
HEIGHT = 220
LEFT = 44  # room for the value axis' numbers
BOTTOM = 24  # room for the labels under the bars
TOP = 10
RIGHT = 20  # room for half of the last bar's label
BAR = "#3b6fd8"
GRID = "#dde2ea"
TEXT = "#5c6778"


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at least `value` (1 for nothing at all)."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # unreachable: 10 * power > value


def bar_chart(
    bars: Sequence[tuple[str, int]],
    *,
    title: str,
    label_every: int = 1,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Html:
    """An SVG bar chart of `(label, value)` pairs, left to right; the last bar and every
    `label_every`-th before it are labelled underneath; each bar's tooltip names its label and
    value."""
    top = nice_ceiling(max((v for _, v in bars), default=0))
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    gap = min(2.0, slot * 0.2)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    grid = join(
        render(
            "<line x1='{x1}' x2='{x2}' y1='{y}' y2='{y}' stroke='{grid}'/>"
            "<text x='{tx}' y='{ty}' text-anchor='end' font-size='11' fill='{text}'>{v}</text>",
            x1=LEFT,
            x2=width - RIGHT,
            y=f"{y(v):.1f}",
            tx=LEFT - 6,
            ty=f"{y(v) + 4:.1f}",
            v=v,
            grid=GRID,
            text=TEXT,
        )
        for v in sorted({0, top // 2, top})  # a line at nothing, about half and the top
    )
    drawn = []
    for n, (label, value) in enumerate(bars):
        x = LEFT + n * slot + gap / 2
        drawn.append(
            render(
                "<rect class='bar' x='{x}' y='{y}' width='{w}' height='{h}' fill='{fill}'"
                " data-value='{value}'><title>{label}: {value}</title></rect>",
                x=f"{x:.1f}",
                y=f"{y(value):.1f}",
                w=f"{max(slot - gap, 0.5):.1f}",
                h=f"{TOP + plot_h - y(value):.1f}",
                fill=BAR,
                label=label,
                value=value,
            )
        )
        if (len(bars) - 1 - n) % max(label_every, 1) == 0:  # counted back from the newest
            drawn.append(
                render(
                    "<text x='{x}' y='{y}' text-anchor='middle' font-size='11' fill='{text}'>"
                    "{label}</text>",
                    x=f"{x + (slot - gap) / 2:.1f}",
                    y=height - 6,
                    text=TEXT,
                    label=label,
                )
            )
    return render(
        "<svg class='chart' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}'"
        " width='100%' role='img' aria-label='{title}'><title>{title}</title>"
        "{grid}{bars}</svg>",
        w=width,
        h=height,
        title=title,
        grid=grid,
        bars=join(drawn),
    )
