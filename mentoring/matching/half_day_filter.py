"""Which half-days a coordinator is looking for: days of the week, mornings or afternoons, a
stretch of dates; and the same read from a leader's own words when they ask to move an exchange
("any Wednesday afternoon in late January").

A leader's wish is free text (the move request form asks for it in their words), so it is read
leniently: what is recognised becomes the filter, shown to the coordinator as "read as …" with
the filter's fields filled in, and what is not recognised is simply not used. The coordinator
can always change the filter.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from mentoring.slots import PERIOD_LABELS, WEEKDAYS
from mentoring.vocab import Period

# Thirds of a month, as people say them.
EARLY, MID, LATE = (1, 10), (11, 20), (21, 31)
_PARTS = {"early": EARLY, "beginning of": EARLY, "start of": EARLY, "first half of": (1, 15),
          "mid": MID, "mid-": MID, "middle of": MID, "late": LATE, "end of": LATE,
          "second half of": (16, 31)}
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?"
_PART = r"(?:(" + "|".join(sorted(map(re.escape, _PARTS), key=len, reverse=True)) + r")\s*)?"
_WEEKDAY = re.compile(r"\b(mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri)(?:day)?s?\b")
# "am" alone is more often the verb ("I am free"): only "a.m." or a time ("9am") counts.
_MORNING = re.compile(r"\bmornings?\b|\ba\.m\.|\d\s*am\b")
_AFTERNOON = re.compile(r"\bafternoons?\b|\bp\.m\.|\bpm\b")
# "12 March", "12th of March", "the 3rd March"
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH)
# "March 12"
_MONTH_DAY = re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b")
# "12/03" or "12/03/2030"
_NUMERIC = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_PART_MONTH = re.compile(r"\b" + _PART + r"(?:in\s+)?" + _MONTH)
_BEFORE = re.compile(r"\b(before|until|till|by|up to)\s*$")
_AFTER = re.compile(r"\b(after)\s*$")
_FROM = re.compile(r"\b(from|starting|beginning|on or after)\s*$")
_NOT = re.compile(r"\b(not|no|except|excluding|apart from|but)\s+(?:on\s+)?(?:any\s+)?"
                  r"(?:(?:mon|tue|wed|thu|fri)[a-z]*(?:,\s*|\s+or\s+|\s+and\s+|\s+))*$")
_WEEK_OF = re.compile(r"\b(week (?:of|commencing|beginning|starting)|w/c)\s*$")


@dataclass(frozen=True)
class HalfDayFilter:
    """Days of the week (0 is Monday; none: any), periods (none: either), first and last day
    (none: no limit)."""

    weekdays: frozenset[int] = frozenset()
    periods: frozenset[str] = frozenset()
    first: date | None = None
    last: date | None = None
    read_as: tuple[str, ...] = field(default=(), compare=False)  # what a wish was read as

    def admits(self, day: date, period: str) -> bool:
        return ((not self.weekdays or day.weekday() in self.weekdays)
                and (not self.periods or period in self.periods)
                and (self.first is None or day >= self.first)
                and (self.last is None or day <= self.last))

    @property
    def is_empty(self) -> bool:
        return not (self.weekdays or self.periods or self.first or self.last)

    def describe(self) -> str:
        """'Wednesday afternoons, from Monday 21 January 2030 to Thursday 31 January 2030'."""
        days = [WEEKDAYS[number] for number in sorted(self.weekdays)]
        times = _or([PERIOD_LABELS[p] for p in sorted(self.periods)])
        if days and times:
            what = f"{_or(days)} {times}s"  # "Tuesday or Thursday mornings"
        elif days:
            what = _or([f"{day}s" for day in days])
        elif times:
            what = f"{times.capitalize()}s"
        else:
            what = "Any half-day"
        if self.first and self.last:
            return f"{what}, from {_day(self.first)} to {_day(self.last)}"
        if self.first:
            return f"{what}, from {_day(self.first)}"
        if self.last:
            return f"{what}, until {_day(self.last)}"
        return what

    def query(self) -> dict[str, str | list[str]]:
        """The filter as the query string of the pages that show half-days."""
        return {
            "weekday": [str(number) for number in sorted(self.weekdays)],
            "period": "" if len(self.periods) != 1 else next(iter(self.periods)),
            "from": self.first.isoformat() if self.first else "",
            "to": self.last.isoformat() if self.last else "",
        }


def _or(words: list[str]) -> str:
    return " or ".join(filter(None, [", ".join(words[:-1]), words[-1]])) if words else ""


def _day(value: date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def from_query(args) -> tuple[HalfDayFilter, dict[str, str]]:
    """The filter from a page's query string (`weekday` repeated, `period`, `from`, `to`), and
    a message for each field that could not be read (the rest of the filter still applies)."""
    errors: dict[str, str] = {}
    weekdays = frozenset(int(value) for value in args.getlist("weekday")
                         if value in {"0", "1", "2", "3", "4"})
    period = args.get("period", "")
    periods = frozenset({period}) if period in (Period.AM, Period.PM) else frozenset()
    dates: dict[str, date | None] = {}
    for name, what in (("from", "first day"), ("to", "last day")):
        text = (args.get(name) or "").strip()
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            dates[name] = None
            errors[name] = f"Enter the {what} as a real date, like 2030-01-21"
    first, last = dates["from"], dates["to"]
    if first and last and last < first:
        errors["to"] = "The last day must be on or after the first day"
        last = None
    return HalfDayFilter(weekdays, periods, first, last), errors


def read_wish(text: str, window_first: date, window_last: date) -> HalfDayFilter:
    """What a leader asked for, in their words, as a filter. Month names without a year are
    read as the next such month in the round's window (from its first day)."""
    words = (text or "").lower()
    named = {_weekday_number(found.group(1)): bool(_NOT.search(words[:found.start()]))
             for found in _WEEKDAY.finditer(words)}
    weekdays = frozenset(number for number, refused in named.items() if not refused)
    if not weekdays and named:  # only days to avoid: "not Fridays"
        weekdays = frozenset(range(5)) - set(named)
    periods = set()
    if _MORNING.search(words):
        periods.add(Period.AM)
    if _AFTERNOON.search(words):
        periods.add(Period.PM)
    first, last = _dates(words, window_first, window_last)
    wish = HalfDayFilter(weekdays, frozenset(periods), first, last)
    if wish.is_empty:
        return wish
    return HalfDayFilter(wish.weekdays, wish.periods, wish.first, wish.last,
                         read_as=(wish.describe(),))


def _weekday_number(word: str) -> int:
    return {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4}[word[:3]]


def _year_for(month: int, window_first: date, window_last: date) -> int:
    """The year of the first such month that overlaps the window."""
    for year in range(window_first.year, window_last.year + 1):
        if date(year, month, calendar.monthrange(year, month)[1]) >= window_first:
            return year
    return window_first.year


def _dates(words: str, window_first: date, window_last: date
           ) -> tuple[date | None, date | None]:
    """The first and last day the words allow: explicit dates (with 'before', 'after', 'from',
    'week of'), else months and parts of months ('late January'); None where unsaid."""
    firsts: list[date] = []
    lasts: list[date] = []
    taken: list[tuple[int, int]] = []  # text already read as a date, not to read as a month
    for found, day in _explicit_dates(words, window_first, window_last):
        taken.append(found.span())
        before = words[:found.start()]
        if _WEEK_OF.search(before):
            monday = day - timedelta(days=day.weekday())
            firsts.append(monday)
            lasts.append(monday + timedelta(days=4))
        elif _BEFORE.search(before):
            lasts.append(day - timedelta(days=1))
        elif _AFTER.search(before):
            firsts.append(day + timedelta(days=1))
        elif _FROM.search(before):
            firsts.append(day)
        else:
            firsts.append(day)
            lasts.append(day)
    for found in _PART_MONTH.finditer(words):
        if any(start <= found.start(2) < end for start, end in taken):
            continue
        month = _MONTHS[found.group(2)]
        if found.group(2) in ("may", "mar") and not (found.group(1)
                                                     or found.group(0).startswith("in")):
            # "may" is more often the verb than the month ("in May" is the month).
            continue
        year = _year_for(month, window_first, window_last)
        from_day, to_day = _PARTS.get(found.group(1) or "", (1, 31))
        month_end = calendar.monthrange(year, month)[1]
        firsts.append(date(year, month, min(from_day, month_end)))
        lasts.append(date(year, month, min(to_day, month_end)))
    return (min(firsts) if firsts else None), (max(lasts) if lasts else None)


def _explicit_dates(words: str, window_first: date, window_last: date):
    for found in _DAY_MONTH.finditer(words):
        day = _safe_date(_year_for(_MONTHS[found.group(2)], window_first, window_last),
                         _MONTHS[found.group(2)], int(found.group(1)))
        if day:
            yield found, day
    for found in _MONTH_DAY.finditer(words):
        day = _safe_date(_year_for(_MONTHS[found.group(1)], window_first, window_last),
                         _MONTHS[found.group(1)], int(found.group(2)))
        if day:
            yield found, day
    for found in _NUMERIC.finditer(words):
        # British order: day, then month.
        month = int(found.group(2))
        if not 1 <= month <= 12:
            continue
        year = found.group(3)
        if year:
            year_number = int(year) + (2000 if len(year) == 2 else 0)
        else:
            year_number = _year_for(month, window_first, window_last)
        day = _safe_date(year_number, month, int(found.group(1)))
        if day:
            yield found, day


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
