"""A round's figures as CSV, for boards and spreadsheets. No Flask here.

Long format, one figure a row: `section,figure,label,value`. UTF-8 with a byte-order mark and
CRLF line ends, so Excel opens it with the right characters. Figures only: no comments and no
names (the printable report carries the comments, named only where their authors agreed).
"""

from __future__ import annotations

from collections.abc import Iterator

from mentoring.insights import confidence
from mentoring.insights.figures import Dashboard, sector_label
from mentoring.spreadsheet import csv_text
from mentoring.vocab import MatchStatus

HEADER = ("section", "figure", "label", "value")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))
    return str(value)


def rows(figures: Dashboard) -> Iterator[tuple[str, str, str, object]]:
    """Every figure on the dashboard as (section, figure, label, value)."""
    yield "round", "name", "", figures.round_name
    yield "round", "window starts", "", figures.starts_on.isoformat()
    yield "round", "window ends", "", figures.ends_on.isoformat()
    yield "round", "status", "", figures.status
    yield "round", "figures computed at (UTC)", "", figures.computed_at.isoformat(
        timespec="seconds")

    participation = figures.participation
    yield "participation", "participants", "joined", participation.joined
    yield "participation", "participants", "invited", participation.invited
    yield "participation", "participants", "withdrawn", participation.withdrawn
    mentees = participation.mentees
    yield "participation", "mentees", "", mentees.mentees
    yield "participation", "mentees matched", "", mentees.matched
    yield "participation", "matched share", "", mentees.share
    yield "participation", "priority-group mentees", "", mentees.priority_mentees
    yield "participation", "priority-group mentees matched", "", mentees.priority_matched
    yield "participation", "priority-group matched share", "", mentees.priority_share
    yield "participation", "participants in a match", "", participation.matched
    yield "participation", "priority-group participants", "", participation.priority_participants
    yield "participation", "priority-group participants in a match", "", (
        participation.priority_matched)
    for what, breakdown in (("profession", participation.by_profession),
                            ("sector", participation.by_sector),
                            ("borough", participation.by_borough)):
        for row in breakdown:
            yield "participation", f"participants by {what}", row.label, row.participants
            yield "participation", f"in a match by {what}", row.label, row.matched
            if what == "profession":
                yield "participation", "priority group", row.label, row.priority

    matrix = figures.matrix
    yield "pairs", "pairs", "", matrix.total
    yield "pairs", "pairs across sectors", "", matrix.cross_sector
    yield "pairs", "share of pairs across sectors", "", matrix.cross_sector_share
    for mentor, mentee, count in matrix.cells():
        yield ("pairs", "pairs by sector (mentor to mentee)",
               f"{sector_label(mentor)} to {sector_label(mentee)}", count)

    timeline = figures.timeline
    yield "exchanges", "exchanges", "scheduled", timeline.scheduled
    yield "exchanges", "exchanges", "completed", timeline.completed
    yield "exchanges", "exchanges", "cancelled", timeline.cancelled
    yield "exchanges", "taken place but not marked done", "", timeline.not_marked_done
    yield "exchanges", "exchanges outside the window", "before", timeline.before_window
    yield "exchanges", "exchanges outside the window", "after", timeline.after_window
    yield "exchanges", "pairs that have met", "", timeline.pairs_met
    for week in timeline.weeks:
        monday = week.starts_on.isoformat()
        yield "exchanges", "scheduled in week beginning", monday, week.scheduled
        yield "exchanges", "completed in week beginning", monday, week.completed
        yield "exchanges", "cancelled in week beginning", monday, week.cancelled
        yield "exchanges", "pairs met by the end of week beginning", monday, week.pairs_met

    hours = figures.hours
    yield "protected hours", "months in the window", "", hours.months
    for row in (hours.overall, *hours.by_sector):
        yield "protected hours", "budget", row.label, row.budget
        yield "protected hours", "used", row.label, row.used
        yield "protected hours", "booked", row.label, row.booked
        yield "protected hours", "held", row.label, row.held
        yield "protected hours", "committed", row.label, row.committed
        yield "protected hours", "participants with no limit set", row.label, row.without_limit
    releases = figures.releases
    if releases is not None and releases.shown:
        yield "protected hours", "line managers' answers", "released", releases.released
        yield "protected hours", "line managers' answers", "declined", releases.declined
        yield "protected hours", "line managers' answers", "waiting", releases.waiting
        yield "protected hours", "line managers' answers", "not asked", releases.not_asked

    balance = figures.balance
    for row in balance.rows:
        yield "balance", "participants", row.label, row.participants
        yield "balance", "pairs involving", row.label, row.pairs
        yield "balance", "exchanges involving", row.label, row.exchanges
        yield "balance", "exchanges hosted by", row.label, row.hosted
    yield "balance", "participants", "all", balance.participants
    yield "balance", "pairs", "all", balance.pairs
    yield "balance", "exchanges (not cancelled)", "all", balance.exchanges

    rates = figures.rates
    for status, count in rates.match_statuses:
        yield "responses", "matches", MatchStatus(status).value, count
    yield "responses", "match answers expected", "", rates.answers_expected
    yield "responses", "match answers given", "", rates.answered
    yield "responses", "answer rate", "", rates.answer_rate
    yield "responses", "exchanges taken place", "", rates.exchanges_taken_place
    yield "responses", "feedback expected", "", rates.feedback_expected
    yield "responses", "feedback given", "", rates.feedback_given
    yield "responses", "feedback rate", "", rates.feedback_rate

    ratings = figures.ratings
    yield "ratings", "ratings", "", ratings.count
    yield "ratings", "average rating", "", ratings.average
    for rating, count in ratings.distribution:
        yield "ratings", "ratings of", str(rating), count

    if figures.confidence is not None:
        yield from confidence.csv_rows(figures.confidence)


def figures_csv(figures: Dashboard) -> str:
    return csv_text(HEADER, rows(figures), _cell)
