"""Closed days: bank holidays and a round's blackout dates, when no exchange can take place.

One place decides: `closed_days` gives every closed day of a round's window with its reason.
The availability page shows such days instead of checkboxes and never saves them, the weekly
pattern skips them, the problem builder neither offers them nor passes on availability saved on
them, approval refuses an exchange on one, and the changes since approval list an exchange that
already sits on one. Availability saved on a day that later closes is kept but ignored, so that
removing a blackout gives leaders back what they had said.

Bank holidays come from the `holidays` package for the deployment's region (`BANK_HOLIDAY_REGION`,
see mentoring/config.py), including substitute days: when Boxing Day falls on a Saturday, the
Monday after is the bank holiday.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from sqlmodel import Session, select

from mentoring.config import DEFAULT_REGION, REGIONS
from mentoring.models import ProgrammeRound, RoundBlackout
from mentoring.slots import HalfDay


class _Configured:
    region: str = DEFAULT_REGION


_configured = _Configured()


def set_region(region: str) -> None:
    """The deployment's bank-holiday region (create_app sets it from the settings, as it sets
    the base URL of links in emails): views, the worker and the CLI then all agree."""
    if region not in REGIONS:
        raise ValueError(f"unknown bank holiday region {region!r}")
    _configured.region = region


def configured_region() -> str:
    return _configured.region


def region_name(region: str | None = None) -> str:
    return REGIONS[region or _configured.region][1]


@lru_cache(maxsize=64)
def _bank_holidays_in(year: int, region: str) -> tuple[tuple[date, str], ...]:
    # Imported here: the package takes ~50 ms to import and ~80 ms to build a first year, which
    # every process start would otherwise pay, needed or not.
    import holidays

    subdivision = REGIONS[region][0]
    calendar = holidays.country_holidays("GB", subdiv=subdivision, years=year, language="en_GB")
    return tuple(sorted(calendar.items()))


def bank_holidays(first: date, last: date, region: str | None = None) -> dict[date, str]:
    """Bank holidays from `first` to `last` (inclusive) in the region, with their names."""
    region = region or _configured.region
    return {day: name for year in range(first.year, last.year + 1)
            for day, name in _bank_holidays_in(year, region) if first <= day <= last}


@dataclass(frozen=True, order=True)
class ClosedDay:
    day: date
    reason: str  # "Christmas Day", or the blackout's reason
    bank_holiday: bool

    @property
    def label(self) -> str:
        """What a leader or coordinator reads in place of the day's half-days."""
        return f"Bank holiday: {self.reason}" if self.bank_holiday else f"Closed: {self.reason}"


class ClosedDays(Mapping[date, ClosedDay]):
    """The closed days of a stretch of dates, by day. Hashable, so pages can cache on it."""

    def __init__(self, days: Iterable[ClosedDay] = ()) -> None:
        self._days = {closed.day: closed for closed in sorted(days)}
        self._key = tuple(self._days.values())

    def __getitem__(self, day: date) -> ClosedDay:
        return self._days[day]

    def __iter__(self) -> Iterator[date]:
        return iter(self._days)

    def __len__(self) -> int:
        return len(self._days)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClosedDays) and self._key == other._key

    def __repr__(self) -> str:
        return f"ClosedDays({list(self._key)!r})"

    def label(self, day: date) -> str:
        """"Bank holiday: Christmas Day", "Closed: Christmas week", or "" on an open day."""
        closed = self._days.get(day)
        return closed.label if closed else ""

    def open(self, half_days: Iterable[HalfDay]) -> set[HalfDay]:
        """The half-days that are not on a closed day."""
        return {(day, period) for day, period in half_days if day not in self._days}


def closed_between(first: date, last: date, blackouts: Iterable[tuple[date, date, str]] = (),
                   region: str | None = None) -> ClosedDays:
    """Bank holidays and blackout days from `first` to `last`. A bank holiday keeps its own
    name inside a blackout; where blackouts overlap, the one that starts first names the day."""
    days: dict[date, ClosedDay] = {}
    for starts_on, ends_on, reason in sorted(blackouts):
        day = max(starts_on, first)
        while day <= min(ends_on, last):
            days.setdefault(day, ClosedDay(day, reason, bank_holiday=False))
            day += timedelta(days=1)
    for day, name in bank_holidays(first, last, region).items():
        days[day] = ClosedDay(day, name, bank_holiday=True)
    return ClosedDays(days.values())


def blackouts(session: Session, round_id: int) -> list[RoundBlackout]:
    return list(session.exec(
        select(RoundBlackout).where(RoundBlackout.round_id == round_id)
        .order_by(RoundBlackout.starts_on, RoundBlackout.id)
    ).all())


def closed_days(session: Session, programme_round: ProgrammeRound,
                region: str | None = None) -> ClosedDays:
    """Every closed day of the round's window: the one answer everything else asks for."""
    return closed_between(
        programme_round.starts_on, programme_round.ends_on,
        [(b.starts_on, b.ends_on, b.reason) for b in blackouts(session, programme_round.id)],
        region,
    )

