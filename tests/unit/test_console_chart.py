"""The console's SVG bar chart: well-formed, to scale, every label escaped; the dashboard's counts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from chinwag.console import dashboard
from chinwag.console.chart import BOTTOM, HEIGHT, TOP, bar_chart, nice_ceiling
from chinwag.ops.stats import COUNTED

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314  (our own markup, made by the test)


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [
        (0, 1),  # an empty chart still has an axis
        (1, 1),
        (3, 5),
        (7, 10),
        (10, 10),
        (11, 20),
        (480, 500),
        (501, 1000),
    ],
)
def test_nice_ceiling(value: int, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


def test_bars_are_to_scale_with_tooltips_and_spaced_labels() -> None:
    """Bar heights are proportional to the values against a rounded top; every bar's tooltip
    names it; the last bar and every `label_every`-th before it are labelled underneath."""
    bars = [("00:00", 0), ("01:00", 4), ("02:00", 8), ("03:00", 2)]
    svg = parse(bar_chart(bars, title="Messages per hour", label_every=2))
    rects = svg.findall(f"{SVG}rect")
    heights = [float(r.get("height", "")) for r in rects]
    assert heights[0] == 0
    assert heights[2] == pytest.approx(2 * heights[1], abs=0.2)
    assert heights[1] == pytest.approx(2 * heights[3], abs=0.2)
    assert heights[2] == pytest.approx((HEIGHT - TOP - BOTTOM) * 8 / 10, abs=0.2)  # top: 10
    assert [r.findtext(f"{SVG}title") for r in rects] == [f"{t}: {v}" for t, v in bars]
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert {"03:00", "01:00", "0", "5", "10"} <= set(labels)  # and the value axis
    assert not {"00:00", "02:00"} & set(labels)
    assert svg.get("aria-label") == svg.findtext(f"{SVG}title") == "Messages per hour"


def test_labels_and_title_are_escaped() -> None:
    """Text that looks like markup stays text: no element, no attribute gets out."""
    hostile = "<script>alert(1)</script>' onload='x"
    markup = bar_chart([(hostile, 1)], title=hostile, label_every=1)
    assert "<script>" not in markup
    svg = parse(markup)
    assert svg.get("onload") is None
    assert svg.get("aria-label") == hostile
    assert [t.text for t in svg.findall(f"{SVG}text")][-1] == hostile
    assert not svg.findall(f".//{SVG}script")


def test_no_bars_draws_an_empty_chart() -> None:
    svg = parse(bar_chart([], title="Nothing"))
    assert svg.findall(f"{SVG}rect") == []


def test_a_count_that_stopped_at_its_bound_reads_more_than() -> None:
    """The dashboard's bounded counts (`ops.stats.COUNTED`): exact up to it, "more than" past."""
    assert dashboard._count(0) == "0"
    assert dashboard._count(COUNTED) == f"{COUNTED:,}"
    assert dashboard._count(COUNTED + 1) == f"more than {COUNTED:,}"
