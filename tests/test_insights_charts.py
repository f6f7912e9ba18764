"""The server-drawn SVG charts: well-formed, named and described for screen readers, every label
escaped, numbers written as text, and series told apart by pattern, not colour alone."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree  # parses only markup these tests made

import pytest

from mentoring.insights import charts, figures
from mentoring.insights.charts import HATCH, SOLID, Bar, Column, Segment

from insights_world import build_hand_made

SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2027, 1, 25, 12, 0, tzinfo=UTC)


def parse(markup) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))  # noqa: S314 (our own markup)


def texts(root) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def assert_accessible_svg(markup) -> ElementTree.Element:
    root = parse(markup)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    chart_id = root.get("id")
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.get("id") == f"{chart_id}-title" and title.text.strip()
    assert desc.get("id") == f"{chart_id}-desc" and "table" in desc.text
    for node in root.iter():
        assert "style" not in node.attrib  # the strict CSP allows no inline styles
        fill = node.get("fill", "")
        if fill.startswith("url("):  # a pattern that exists in this very chart
            assert root.find(f".//{SVG}pattern[@id='{fill[5:-1]}']") is not None
    assert "<script" not in str(markup)
    return root


@pytest.fixture
def dashboard(db, factory):
    made = build_hand_made(factory)
    return figures.dashboard(db, made.round.id, NOW)


def test_every_chart_of_the_dashboard_is_accessible_markup(dashboard):
    drawn = charts.dashboard_charts(dashboard)
    assert len(drawn) == 9
    ids = [assert_accessible_svg(svg).get("id") for svg in drawn.values()]
    assert len(set(ids)) == len(ids)  # ids are unique on the page


def test_charts_write_their_numbers_as_text(dashboard):
    drawn = charts.dashboard_charts(dashboard)
    profession = texts(parse(drawn["profession"]))
    assert "Social worker (priority)" in profession and "1 joined, 0 in a match" in profession
    assert "Nurse (priority)" in profession and "1 joined, 1 in a match" in profession
    matrix = texts(parse(drawn["matrix"]))
    assert matrix.count("1") == 2  # the two pairs, written in their cells
    timeline = texts(parse(drawn["timeline"]))
    assert "4 Jan" in timeline and "22 Mar" in timeline
    hours = texts(parse(drawn["hours"]))
    assert "15 used + 16 booked + 0 held of 71.8 h" in hours  # 26 h a month over 2.76 months
    rates = texts(parse(drawn["rates"]))
    assert "67% (4 of 6)" in rates and "50% (3 of 6)" in rates
    balance = texts(parse(drawn["balance"]))
    assert "Small units: joined" in balance and "40% (2 of 5)" in balance


def test_series_differ_by_pattern_and_have_a_legend(dashboard):
    root = parse(charts.dashboard_charts(dashboard)["timeline"])
    fills = {node.get("fill") for node in root.iter(f"{SVG}rect") if node.get("fill")}
    assert fills == {"url(#chart-timeline-hatch)", "url(#chart-timeline-dots)"}
    assert {"Completed", "Scheduled", "Cancelled"} <= set(texts(root))


def test_labels_are_escaped():
    nasty = '<script>alert("x")</script> & </svg>'
    markup = charts.bar_chart(
        "chart-nasty", f"Title {nasty}", f"Description {nasty}; table after",
        [Bar(label=nasty, segments=(Segment(3, SOLID), Segment(2, HATCH)), note=nasty)],
        legend=[(SOLID, nasty)],
    )
    root = assert_accessible_svg(markup)
    assert root.find(f"{SVG}title").text == f"Title {nasty}"
    assert texts(root).count(nasty) == 3  # label, legend and note
    columns = charts.column_chart("chart-columns", "T", "D, table", [
        Column(label=nasty, segments=(Segment(1, SOLID),), note=nasty)])
    assert nasty in texts(assert_accessible_svg(columns))
    heat = charts.heat_map("chart-heat", "T", "D, table", [nasty], [nasty], [[2]], note=nasty)
    assert texts(assert_accessible_svg(heat)).count(nasty) == 3


def test_a_chart_id_must_be_a_plain_name():
    with pytest.raises(ValueError):
        charts.bar_chart('x" onload="alert(1)', "T", "D", [])


def test_charts_of_an_empty_round_are_still_well_formed(db, factory):
    programme_round = factory.programme_round()
    empty = figures.dashboard(db, programme_round.id, NOW)
    for svg in charts.dashboard_charts(empty).values():
        assert_accessible_svg(svg)


@pytest.mark.parametrize(("value", "ceiling", "step"), [
    (0, 1, 1), (1, 1, 1), (2, 2, 1), (7, 8, 2), (13, 15, 5), (48, 50, 10), (120, 150, 50),
    (2_300, 2_500, 500)])
def test_the_column_axis_has_round_numbers(value, ceiling, step):
    assert charts._nice_ceiling(value) == (ceiling, step)


def test_numbers_and_percentages_print_plainly():
    assert [charts.number(v) for v in (3, 3.5, 1250, 71.76)] == ["3", "3.5", "1,250", "71.8"]
    assert [charts.percent(v) for v in (None, 0, 2 / 3, 1)] == ["no data", "0%", "67%", "100%"]
