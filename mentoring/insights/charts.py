"""Charts as inline SVG, drawn on the server from the figures. No Flask, no scripts.

Every chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`
(`aria-labelledby` points at both), and the page puts a table with the same numbers under it.
Meaning never rests on colour alone: bars carry their numbers as text, series differ by fill
pattern (solid, hatched, dotted, outlined) and have a legend, priority groups say "(priority)".
Colours come from CSS classes (`assets/app.scss`), which switch to system colours in forced-
colours (Windows high contrast) mode; patterns are drawn with the same classes.

Every piece of text is escaped here before it is placed in the markup, and only the finished
SVG is wrapped in `Markup`, so a label can never inject markup into the page.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from mentoring.insights.figures import (
    Dashboard,
    GroupRow,
    Ratings,
    SectorMatrix,
    sector_label,
)

WIDTH = 800
CHAR_WIDTH = 7.2  # average width of a 13px Arial character, for laying out text
SOLID, HATCH, DOTS, OUTLINE = "solid", "hatch", "dots", "outline"
_CHART_ID = re.compile(r"^[a-z][a-z0-9-]*$")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: float) -> str:
    """A coordinate with at most one decimal place."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def number(value: float) -> str:
    """12, 12.5 or 1,250: how chart labels and tables print a count or a number of hours."""
    if abs(value - round(value)) < 0.05:
        return f"{round(value):,}"
    return f"{value:,.1f}"


def percent(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.0f}%"


@dataclass(frozen=True)
class Segment:
    value: float
    kind: str = SOLID


@dataclass(frozen=True)
class Bar:
    label: str
    segments: tuple[Segment, ...]
    note: str  # printed after the bar: the bar's numbers in words
    outline: float | None = None  # a total drawn as an outline behind the segments
    emphasis: bool = False
    gap_before: bool = False  # extra space above: the first bar of a group


@dataclass(frozen=True)
class Column:
    label: str
    segments: tuple[Segment, ...]
    note: str  # printed above the column


def _fill(chart_id: str, kind: str) -> str:
    if kind == SOLID:
        return 'class="app-chart__ink"'
    if kind in (HATCH, DOTS):
        return f'class="app-chart__patterned" fill="url(#{chart_id}-{kind})"'
    return 'class="app-chart__outline"'


def _defs(chart_id: str) -> str:
    return (
        f'<defs><pattern id="{chart_id}-hatch" width="8" height="8" '
        'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect class="app-chart__paper" width="8" height="8"/>'
        '<rect class="app-chart__ink" width="3" height="8"/></pattern>'
        f'<pattern id="{chart_id}-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect class="app-chart__paper" width="6" height="6"/>'
        '<circle class="app-chart__ink" cx="3" cy="3" r="1.6"/></pattern></defs>'
    )


def _svg(chart_id: str, title: str, desc: str, height: float, body: str) -> Markup:
    if not _CHART_ID.match(chart_id):
        raise ValueError(f"not a usable chart id: {chart_id!r}")
    return Markup(  # noqa: S704 (every piece of text in `body` is escaped by _e)
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" id="{chart_id}" '
        f'role="img" viewBox="0 0 {WIDTH} {_n(height)}" focusable="false" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{_e(title)}</title>'
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>'
        f"{_defs(chart_id)}{body}</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", css: str = "",
          size: int = 13, extra: str = "") -> str:
    css_class = f' class="{css}"' if css else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}"'
            f'{css_class}{extra}>{_e(text)}</text>')


def _wrap(text: str, width: int) -> list[str]:
    """At most two lines of about `width` characters; a longer second line is shortened."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    if len(lines[-1]) > width:
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def _legend(chart_id: str, items: Sequence[tuple[str, str]], y: float, x: float = 0) -> str:
    parts = []
    for kind, text in items:
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 12)}" width="16" height="16" '
                     f'{_fill(chart_id, kind)}/>')
        parts.append(_text(x + 22, y + 1, text))
        x += 22 + len(text) * CHAR_WIDTH + 22
    return "".join(parts)


# --- horizontal bars -----------------------------------------------------------------------

LABEL_RIGHT = 282
BAR_X = 290
BAR_WIDTH = 280
ROW = 38
BAR_HEIGHT = 20


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[Bar],
              legend: Sequence[tuple[str, str]] = (), scale: float | None = None) -> Markup:
    """Horizontal bars, one a row, with the label on the left and the numbers on the right."""
    top = 34 if legend else 8
    biggest = max([sum(s.value for s in bar.segments) for bar in bars]
                  + [bar.outline or 0 for bar in bars] + [0])
    scale = scale or biggest or 1
    unit = BAR_WIDTH / scale
    parts = [_legend(chart_id, legend, 18)] if legend else []
    y = top
    for bar in bars:
        if bar.gap_before:
            y += 14
        middle = y + ROW / 2
        lines = _wrap(bar.label, 38)
        first = middle + 4.5 - (len(lines) - 1) * 8
        for i, line in enumerate(lines):
            parts.append(_text(LABEL_RIGHT, first + i * 16, line, anchor="end",
                               css="app-chart__label--strong" if bar.emphasis else ""))
        bar_top = middle - BAR_HEIGHT / 2
        end = BAR_X
        if bar.outline:
            width = bar.outline * unit
            parts.append(f'<rect x="{BAR_X}" y="{_n(bar_top)}" width="{_n(width)}" '
                         f'height="{BAR_HEIGHT}" {_fill(chart_id, OUTLINE)}/>')
            end = BAR_X + width
        x = BAR_X
        for segment in bar.segments:
            width = segment.value * unit
            if width > 0:
                parts.append(f'<rect x="{_n(x)}" y="{_n(bar_top)}" width="{_n(width)}" '
                             f'height="{BAR_HEIGHT}" {_fill(chart_id, segment.kind)}/>')
            x += width
        end = max(end, x)
        parts.append(_text(end + 8, middle + 4.5, bar.note))
        y += ROW
    parts.append(f'<line class="app-chart__axis" x1="{BAR_X}" y1="{top}" x2="{BAR_X}" '
                 f'y2="{_n(y)}"/>')
    return _svg(chart_id, title, desc, y + 8, "".join(parts))


# --- columns over time ---------------------------------------------------------------------


def _nice_ceiling(value: float) -> tuple[float, float]:
    """A round top for an axis, and the step between its gridlines (at most 5 of them)."""
    if value <= 0:
        return 1, 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (magnitude / 5, magnitude / 2, magnitude, 2 * magnitude, 5 * magnitude,
                 10 * magnitude):
        if step >= 1 and value / step <= 5:
            return step * math.ceil(value / step), step
    return value, value


def column_chart(chart_id: str, title: str, desc: str, columns: Sequence[Column],
                 legend: Sequence[tuple[str, str]] = ()) -> Markup:
    """Stacked columns, one per period, with each column's total above it."""
    left, right, top, plot_height = 48, WIDTH - 10, 58, 220
    bottom = top + plot_height
    biggest = max([sum(s.value for s in column.segments) for column in columns] + [0])
    ceiling, step = _nice_ceiling(biggest)
    unit = plot_height / ceiling
    parts = [_legend(chart_id, legend, 18)] if legend else []
    tick = 0.0
    while tick <= ceiling + 1e-9:
        y = bottom - tick * unit
        parts.append(f'<line class="app-chart__grid" x1="{left}" y1="{_n(y)}" x2="{right}" '
                     f'y2="{_n(y)}"/>')
        parts.append(_text(left - 6, y + 4.5, number(tick), anchor="end", size=12))
        tick += step
    slot = (right - left) / max(len(columns), 1)
    width = min(slot * 0.64, 48)
    rotate = slot < 46
    for i, column in enumerate(columns):
        centre = left + slot * (i + 0.5)
        x = centre - width / 2
        y = bottom
        for segment in column.segments:
            height = segment.value * unit
            if height <= 0:
                continue
            y -= height
            parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" '
                         f'height="{_n(height)}" {_fill(chart_id, segment.kind)}/>')
            if height >= 18:
                parts.append(_text(centre, y + height / 2 + 4.5, number(segment.value),
                                   anchor="middle", css="app-chart__halo", size=12))
        parts.append(_text(centre, y - 6, column.note, anchor="middle", size=12))
        if rotate:
            parts.append(_text(centre + 4, bottom + 14, column.label, anchor="end", size=12,
                               extra=f' transform="rotate(-45 {_n(centre + 4)} '
                                     f'{_n(bottom + 14)})"'))
        else:
            parts.append(_text(centre, bottom + 18, column.label, anchor="middle", size=12))
    parts.append(f'<line class="app-chart__axis" x1="{left}" y1="{bottom}" x2="{right}" '
                 f'y2="{bottom}"/>')
    return _svg(chart_id, title, desc, bottom + (50 if rotate else 30), "".join(parts))


# --- heat map ------------------------------------------------------------------------------


def heat_map(chart_id: str, title: str, desc: str, row_labels: Sequence[str],
             column_labels: Sequence[str], counts: Sequence[Sequence[int]],
             note: str = "") -> Markup:
    """A grid of counts: the darker the cell, the more; every count is written in its cell.
    Cells on the diagonal (row and column the same) have a dashed border."""
    n_rows, n_columns = len(row_labels), len(column_labels)
    left = 20 + max([len(text) for text in row_labels] + [4]) * CHAR_WIDTH
    longest_column = max([len(text) for text in column_labels] + [4]) * CHAR_WIDTH
    top = 30 + longest_column * 0.72
    cell = min(64.0, (WIDTH - left - 10) / max(n_columns, 1))
    biggest = max([max(row) for row in counts if row] + [0])
    parts = [_text(0, 16, note, size=12)] if note else []
    for j, text in enumerate(column_labels):
        x, y = left + cell * (j + 0.5) + 4, top - 8
        parts.append(_text(x, y, text, size=12,
                           extra=f' transform="rotate(-45 {_n(x)} {_n(y)})"'))
    for i, text in enumerate(row_labels):
        y = top + cell * i
        parts.append(_text(left - 8, y + cell / 2 + 4.5, text, anchor="end", size=12))
        for j in range(n_columns):
            x = left + cell * j
            count = counts[i][j]
            geometry = f'x="{_n(x)}" y="{_n(y)}" width="{_n(cell)}" height="{_n(cell)}"'
            parts.append(f'<rect {geometry} class="app-chart__cell-empty"/>')
            if count:
                opacity = 0.15 + 0.85 * count / biggest
                parts.append(f'<rect {geometry} class="app-chart__ink" '
                             f'fill-opacity="{opacity:.2f}"/>')
            if i == j:
                parts.append(f'<rect x="{_n(x + 3)}" y="{_n(y + 3)}" width="{_n(cell - 6)}" '
                             f'height="{_n(cell - 6)}" class="app-chart__same"/>')
            if count:
                parts.append(_text(x + cell / 2, y + cell / 2 + 5, number(count),
                                   anchor="middle", css="app-chart__halo", size=14))
    height = top + cell * n_rows + 10
    return _svg(chart_id, title, desc, height, "".join(parts))


# --- the charts of a round -----------------------------------------------------------------


def _largest(rows: Sequence[GroupRow], count: int = 3) -> str:
    top = sorted((row for row in rows if row.participants), key=lambda row: -row.participants)
    return ", ".join(f"{row.label} {row.participants}" for row in top[:count]) or "none"


def participation_chart(chart_id: str, rows: Sequence[GroupRow], what: str) -> Markup:
    bars = [
        Bar(
            label=row.label + (" (priority)" if row.priority else ""),
            segments=(Segment(row.matched, SOLID),),
            outline=row.participants,
            note=f"{row.participants} joined, {row.matched} in a match",
            emphasis=row.priority,
        )
        for row in rows
    ]
    title = f"Participants by {what}"
    desc = (
        f"Bar chart. For each {what}, the outlined bar is everyone who joined and the filled "
        f"part those in a match. Most participants: {_largest(rows)}. "
        "The table after the chart gives every number."
    )
    if bars:
        return bar_chart(chart_id, title, desc, bars,
                         legend=[(OUTLINE, "Joined"), (SOLID, "In a match")])
    return bar_chart(chart_id, title, desc + " No one has joined yet.", [])


def matrix_chart(chart_id: str, matrix: SectorMatrix) -> Markup:
    labels = [sector_label(key) for key in matrix.sectors]
    busiest = sorted(matrix.cells(), key=lambda cell: -cell[2])[:3]
    described = "; ".join(f"{sector_label(a)} to {sector_label(b)} {n}" for a, b, n in busiest)
    desc = (
        "Heat map of pairs: rows are the mentor's sector, columns the mentee's sector; the "
        f"number in each cell is the count of pairs, and darker cells have more. {matrix.total} "
        f"pairs, {matrix.cross_sector} across sectors. Most common: {described or 'none'}. "
        "The table after the chart gives every number."
    )
    return heat_map(chart_id, "Pairs by sector: mentor's sector (rows), mentee's (columns)",
                    desc, labels, labels, matrix.counts,
                    note="Rows: mentor's sector. Columns: mentee's sector. "
                         "Dashed border: both in the same sector.")


def timeline_chart(chart_id: str, figures: Dashboard) -> Markup:
    timeline = figures.timeline
    columns = [
        Column(
            label=f"{week.starts_on.day} {week.starts_on:%b}",
            segments=(Segment(week.completed, SOLID), Segment(week.scheduled, HATCH),
                      Segment(week.cancelled, DOTS)),
            note=number(week.total) if week.total else "",
        )
        for week in timeline.weeks
    ]
    desc = (
        "Stacked column chart of exchanges by the week they start (weeks beginning on the "
        f"Monday shown): completed solid, scheduled hatched, cancelled dotted. In all "
        f"{timeline.completed} completed, {timeline.scheduled} scheduled, {timeline.cancelled} "
        "cancelled. The table after the chart gives every week."
    )
    return column_chart(chart_id, "Exchanges each week of the window", desc, columns,
                        legend=[(SOLID, "Completed"), (HATCH, "Scheduled"),
                                (DOTS, "Cancelled")])


def hours_chart(chart_id: str, figures: Dashboard) -> Markup:
    hours = figures.hours
    rows = [hours.overall, *hours.by_sector]
    bars = [
        Bar(
            label=row.label,
            segments=(Segment(row.used, SOLID), Segment(row.booked, HATCH),
                      Segment(row.held, DOTS)),
            outline=row.budget,
            note=f"{number(row.used)} used + {number(row.booked)} booked + "
                 f"{number(row.held)} held of {number(row.budget)} h",
            emphasis=row.key == "all",
            gap_before=i == 1,
        )
        for i, row in enumerate(rows)
    ]
    overall = hours.overall
    desc = (
        "Bar chart of protected hours by sector: the outlined bar is the budget, the solid "
        "part hours used in completed exchanges, the hatched part hours booked in scheduled "
        "ones and the dotted part hours held for offers not yet accepted. All sectors: "
        f"{number(overall.used)} used, {number(overall.booked)} booked and "
        f"{number(overall.held)} held of a {number(overall.budget)}-hour budget. The table "
        "after the chart gives every number."
    )
    return bar_chart(chart_id, "Protected hours used, booked and held against the budget",
                     desc, bars, legend=[(OUTLINE, "Budget"), (SOLID, "Used"), (HATCH, "Booked"),
                                         (DOTS, "Held")])


def balance_chart(chart_id: str, figures: Dashboard) -> Markup:
    balance = figures.balance
    bars = []
    for row in balance.rows:
        measures = [
            ("joined", row.participants, balance.participants, SOLID),
            ("in pairs", row.pairs, balance.pairs, HATCH),
            ("in exchanges", row.exchanges, balance.exchanges, DOTS),
        ]
        for i, (what, count, total, kind) in enumerate(measures):
            value = (count / total * 100) if total else 0
            bars.append(Bar(
                label=f"{row.label}: {what}",
                segments=(Segment(value, kind),),
                note=f"{percent(count / total if total else None)} ({count} of {total})",
                gap_before=i == 0 and bool(bars),
            ))
    small = next((row for row in balance.rows if row.key == "small"), None)
    large = next((row for row in balance.rows if row.key == "large"), None)
    summary = ""
    if small and large:
        summary = (f"Large organisations: {large.participants} participants, in {large.pairs} "
                   f"pairs; small units: {small.participants} participants, in {small.pairs} "
                   "pairs. ")
    desc = (
        "Bar chart of shares by organisation size: participants who joined (solid), pairs "
        "involving at least one leader from such an organisation (hatched) and exchanges "
        "involving one (dotted), as percentages; a pair or exchange can involve two sizes. "
        f"{summary}The table after the chart gives every number."
    )
    return bar_chart(chart_id, "Balance between large organisations and small units", desc,
                     bars, legend=[(SOLID, "Participants"), (HATCH, "Pairs"),
                                   (DOTS, "Exchanges")], scale=100)


def rates_chart(chart_id: str, figures: Dashboard) -> Markup:
    rates = figures.rates
    items = [
        ("Match offers answered", rates.answered, rates.answers_expected),
        ("Feedback given", rates.feedback_given, rates.feedback_expected),
    ]
    bars = [
        Bar(
            label=text,
            segments=(Segment((done / expected * 100) if expected else 0, SOLID),),
            outline=100,
            note=f"{percent(done / expected if expected else None)} ({done} of {expected})",
        )
        for text, done, expected in items
    ]
    desc = (
        f"Bar chart of two rates out of 100%: match offers answered {rates.answered} of "
        f"{rates.answers_expected}; feedback given {rates.feedback_given} of "
        f"{rates.feedback_expected}. The table after the chart gives the numbers."
    )
    return bar_chart(chart_id, "Response and feedback rates", desc, bars,
                     legend=[(OUTLINE, "Expected"), (SOLID, "Given")], scale=100)


RATING_LABELS = {1: "1 \u2013 poor", 2: "2", 3: "3", 4: "4", 5: "5 \u2013 excellent"}


def ratings_chart(chart_id: str, ratings: Ratings) -> Markup:
    bars = [
        Bar(label=RATING_LABELS[rating], segments=(Segment(count, SOLID),),
            note=f"{count} ({percent(count / ratings.count if ratings.count else None)})")
        for rating, count in reversed(ratings.distribution)
    ]
    average = "no ratings yet" if ratings.average is None else (
        f"average {ratings.average:.1f} out of 5 from {ratings.count} ratings")
    desc = (f"Bar chart of how useful leaders found their exchanges, 5 (excellent) to 1 (poor): "
            f"{average}. The table after the chart gives every number.")
    return bar_chart(chart_id, "Ratings of the exchanges", desc, bars)


def dashboard_charts(figures: Dashboard) -> dict[str, Markup]:
    """Every chart of the dashboard and the report, by name."""
    participation = figures.participation
    return {
        "profession": participation_chart("chart-profession", participation.by_profession,
                                          "profession"),
        "sector": participation_chart("chart-sector", participation.by_sector, "sector"),
        "borough": participation_chart("chart-borough", participation.by_borough, "borough"),
        "matrix": matrix_chart("chart-matrix", figures.matrix),
        "timeline": timeline_chart("chart-timeline", figures),
        "hours": hours_chart("chart-hours", figures),
        "balance": balance_chart("chart-balance", figures),
        "rates": rates_chart("chart-rates", figures),
        "ratings": ratings_chart("chart-ratings", figures.ratings),
    }
