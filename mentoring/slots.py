"""Half-day slots: the default slot pattern of a round, in London local time.

Availability is stored as (day, period); exchanges as UTC instants. These functions convert
between the two so that a morning is 09:00 to 13:00 in London on both sides of a clock change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mentoring.vocab import Period

LONDON = ZoneInfo("Europe/London")
PERIOD_HOURS: dict[str, tuple[time, time]] = {
    Period.AM: (time(9), time(13)),
    Period.PM: (time(13), time(17)),
}
PERIOD_LABELS = {Period.AM: "morning", Period.PM: "afternoon"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

HalfDay = tuple[date, str]


def weekdays(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


def half_days(first: date, last: date) -> list[HalfDay]:
    return [(day, period) for day in weekdays(first, last) for period in PERIOD_HOURS]


def bounds(day: date, period: str) -> tuple[datetime, datetime]:
    """Start and end of a half-day as aware UTC datetimes."""
    start, end = PERIOD_HOURS[period]
    return (
        datetime.combine(day, start, LONDON).astimezone(UTC),
        datetime.combine(day, end, LONDON).astimezone(UTC),
    )


def local_bounds(day: date, period: str) -> tuple[datetime, datetime]:
    """Start and end as naive London wall-clock times (the optimiser's file format)."""
    start, end = PERIOD_HOURS[period]
    return datetime.combine(day, start), datetime.combine(day, end)


def half_day_of(moment: datetime) -> HalfDay:
    """The half-day an instant falls in (London time): before 13:00 is the morning."""
    local = moment.astimezone(LONDON)
    return local.date(), (Period.AM if local.time() < time(13) else Period.PM)


def describe(day: date, period: str) -> str:
    return f"{day:%A} {day.day} {day:%B} {PERIOD_LABELS[period]}"
