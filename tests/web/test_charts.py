"""Server-rendered SVG charts and the template helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from lxml import etree

from api.web._charts import grouped_hbar_chart, hbar_chart, line_chart
from api.web._render import contributions, countdown, duration

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> etree._Element:
    return etree.fromstring(str(markup).encode())


def test_hbar_chart_bars_are_proportional_and_values_written() -> None:
    svg = parse(hbar_chart([("a", 1.0), ("b", 2.0), ("neg", -1.0)], title="T", fmt="{:.1f}"))
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[1] == 2 * widths[0] and widths[2] == 0.0
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["a", "1.0", "b", "2.0", "neg", "-1.0"]
    assert svg.find(f"{SVG}title").text == "T"
    assert svg.get("role") == "img"


def test_chart_text_is_escaped() -> None:
    svg = parse(hbar_chart([("<script>&", 1.0)], title="<b>"))
    assert svg.find(f"{SVG}title").text == "<b>"
    assert next(t.text for t in svg.iter(f"{SVG}text")) == "<script>&"


def test_empty_charts_render_nothing() -> None:
    assert str(hbar_chart([], title="x")) == ""
    assert str(grouped_hbar_chart([], [("30", [])], title="x")) == ""
    assert str(line_chart([], [("p", [])], title="x", x_label="r")) == ""


def test_grouped_chart_has_a_bar_per_label_and_series() -> None:
    svg = parse(
        grouped_hbar_chart(["r1", "r2"], [("30 d", [1, 3]), ("90 d", [2, 6])], title="hits")
    )
    rects = list(svg.iter(f"{SVG}rect"))
    assert len(rects) == 2 + 4  # legend swatches + bars
    bars = [float(r.get("width")) for r in rects[2:]]
    assert bars[3] == max(bars) and abs(bars[0] * 6 - bars[3]) < 0.5
    assert "r2: 30 d 3, 90 d 6" in svg.find(f"{SVG}desc").text


def test_line_chart_points_follow_the_values() -> None:
    svg = parse(
        line_chart(
            [1, 2, 5],
            [("precision", [0.5, 0.25, 0.0])],
            title="p",
            x_label="rate",
            baseline=("base rate", 0.1),
        )
    )
    circles = [(float(c.get("cx")), float(c.get("cy"))) for c in svg.iter(f"{SVG}circle")]
    assert [x for x, _ in circles] == sorted(x for x, _ in circles)
    assert circles[0][1] < circles[1][1] < circles[2][1]  # lower precision is lower on screen
    assert "base rate 0.100" in "".join(t.text or "" for t in svg.iter(f"{SVG}text"))


def test_contributions_are_parsed_from_model_reasons() -> None:
    reasons = ["consignee first seen 3 days ago: +0.42", "no number here", "port ECGYE: +1.5"]
    assert contributions(reasons) == [
        ("consignee first seen 3 days ago", 0.42),
        ("port ECGYE", 1.5),
    ]


def test_countdown_and_overdue() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    soon = countdown(now + timedelta(hours=3, minutes=5), now)
    assert soon == {
        "text": "due in 3 h 05 min",
        "overdue": False,
        "iso": "2026-11-28T15:05:00+00:00",
    }
    late = countdown(now - timedelta(minutes=20), now)
    assert late["overdue"] and late["text"] == "overdue by 20 min"
    assert duration(2 * 86400 + 3600 * 4) == "2 d 4 h"
    assert re.fullmatch(r"\d+ min", duration(59))
