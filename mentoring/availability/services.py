"""Leaders' free half-days in a round: weekly patterns, exceptions, and clashes with exchanges."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring import audit
from mentoring.calendar_days import ClosedDays, closed_days
from mentoring.models import (
    Availability,
    Exchange,
    LeaderProfile,
    Match,
    ProgrammeRound,
    RoundParticipant,
    User,
)
from mentoring.slots import HalfDay, half_day_of, half_days
from mentoring.vocab import (
    ACTIVE_EXCHANGE_STATUSES,
    LIVE_MATCH_STATUSES,
    ParticipantStatus,
    RoundStatus,
)

WeeklyPattern = set[tuple[int, str]]  # (weekday 0-4, period)


class AvailabilityError(ValueError):
    """A change that cannot be made, with a message for the leader."""


@dataclass
class SaveResult:
    saved: bool
    free: set[HalfDay]
    affected: list[Exchange] = field(default_factory=list)  # exchanges in removed half-days


def open_rounds(session: Session) -> list[ProgrammeRound]:
    return list(session.exec(
        select(ProgrammeRound).where(ProgrammeRound.status == RoundStatus.OPEN)
        .order_by(ProgrammeRound.starts_on)
    ).all())


def has_live_match(session: Session, round_id: int, leader_id: int) -> bool:
    """Is this leader already offered or booked in the round (no "we will offer you a match")?"""
    return session.exec(
        select(Match.id).where(
            Match.round_id == round_id,
            sa.or_(Match.mentor_id == leader_id, Match.mentee_id == leader_id),
            Match.status.in_(LIVE_MATCH_STATUSES),  # type: ignore[attr-defined]
        ).limit(1)
    ).first() is not None


def left_open_rounds(session: Session, leader_id: int) -> list[ProgrammeRound]:
    """Open rounds this leader has left: they can still rejoin them."""
    return list(session.exec(
        select(ProgrammeRound).join(RoundParticipant,
                                    RoundParticipant.round_id == ProgrammeRound.id)
        .where(RoundParticipant.leader_id == leader_id,
               RoundParticipant.status == ParticipantStatus.WITHDRAWN,
               ProgrammeRound.status == RoundStatus.OPEN)
        .order_by(ProgrammeRound.starts_on)
    ).all())


def participation(session: Session, round_id: int, leader_id: int) -> RoundParticipant | None:
    return session.exec(
        select(RoundParticipant).where(
            RoundParticipant.round_id == round_id, RoundParticipant.leader_id == leader_id
        )
    ).first()


def join_round(session: Session, programme_round: ProgrammeRound, leader: LeaderProfile,
               user: User) -> RoundParticipant:
    if programme_round.status != RoundStatus.OPEN:
        raise AvailabilityError("This round is not open for new participants")
    participant = participation(session, programme_round.id, leader.id)
    if participant is None:
        participant = RoundParticipant(round_id=programme_round.id, leader_id=leader.id)
    participant.status = ParticipantStatus.JOINED
    participant.withdrawn_at = None
    session.add(participant)
    audit.record(session, "round.joined", actor=user, obj=programme_round)
    session.flush()
    return participant


def free_half_days(session: Session, round_id: int, leader_id: int) -> set[HalfDay]:
    rows = session.exec(
        select(Availability.day, Availability.period).where(
            Availability.round_id == round_id, Availability.leader_id == leader_id
        )
    ).all()
    return {(day, period) for day, period in rows}


def free_half_days_if_joined(session: Session, round_id: int,
                             leader_id: int) -> set[HalfDay] | None:
    """The leader's free half-days, or None if they have not joined the round: the check and
    the read in one query (the availability page and its save both need the two)."""
    rows = session.exec(
        select(Availability.day, Availability.period)
        .select_from(RoundParticipant)
        .outerjoin(Availability, sa.and_(Availability.round_id == RoundParticipant.round_id,
                                         Availability.leader_id == RoundParticipant.leader_id))
        .where(RoundParticipant.round_id == round_id, RoundParticipant.leader_id == leader_id,
               RoundParticipant.status == ParticipantStatus.JOINED)  # not after leaving
    ).all()
    if not rows:
        return None
    return {(day, period) for day, period in rows if day is not None}  # None: joined, none free


def apply_pattern(programme_round: ProgrammeRound, pattern: WeeklyPattern,
                  closed: Container[date] = frozenset()) -> set[HalfDay]:
    """Every half-day in the window that matches the weekly pattern, but for closed days."""
    return {
        (day, period)
        for day, period in half_days(programme_round.starts_on, programme_round.ends_on)
        if (day.weekday(), period) in pattern and day not in closed
    }


def usual_pattern(free: Iterable[HalfDay], weeks: int) -> WeeklyPattern:
    """Half-days free in most weeks: what to pre-tick in the weekly pattern form."""
    counts = Counter((day.weekday(), period) for day, period in free)
    return {slot for slot, count in counts.items() if count * 2 > max(weeks, 1)}


def in_window(programme_round: ProgrammeRound, chosen: Iterable[HalfDay]) -> set[HalfDay]:
    allowed = set(half_days(programme_round.starts_on, programme_round.ends_on))
    chosen = set(chosen)
    outside = chosen - allowed
    if outside:
        day, period = min(outside)
        raise AvailabilityError(f"{day:%d %B %Y} {period} is not a weekday in this round's window")
    return chosen


def scheduled_exchanges(session: Session, leader_id: int) -> list[Exchange]:
    return list(session.exec(
        select(Exchange).where(
            Exchange.status.in_(ACTIVE_EXCHANGE_STATUSES),  # type: ignore[attr-defined]
            sa.or_(Exchange.host_id == leader_id, Exchange.visitor_id == leader_id),
        ).order_by(Exchange.starts_at)
    ).all())


def save_availability(
    session: Session,
    programme_round: ProgrammeRound,
    leader: LeaderProfile,
    user: User,
    chosen: Iterable[HalfDay],
    *,
    confirm: bool = False,
    closed: ClosedDays | None = None,
) -> SaveResult:
    """Replace the leader's free half-days. Removing a half-day that holds a scheduled exchange
    is only done with `confirm`; otherwise the affected exchanges are returned and nothing saved.

    Closed days (bank holidays, blackouts) are left alone: never saved, and half-days already
    saved on them stay as they are (ignored while the day is closed). `closed`: the round's
    closed days, if the caller has them already."""
    current = free_half_days_if_joined(session, programme_round.id, leader.id)
    if current is None:
        raise AvailabilityError("Join the round before setting your availability")
    closed = closed_days(session, programme_round) if closed is None else closed
    current = closed.open(current)
    chosen = closed.open(in_window(programme_round, chosen))
    removed, added = current - chosen, chosen - current
    # Only a removed half-day can hold an exchange: adding needs no look at the exchanges.
    affected = [
        exchange for exchange in scheduled_exchanges(session, leader.id)
        if half_day_of(exchange.starts_at) in removed
    ] if removed else []
    if affected and not confirm:
        return SaveResult(saved=False, free=chosen, affected=affected)
    if removed:
        session.exec(sa.delete(Availability).where(
            Availability.round_id == programme_round.id,
            Availability.leader_id == leader.id,
            sa.tuple_(Availability.day, Availability.period).in_(sorted(removed)),
        ))
    session.add_all(
        Availability(round_id=programme_round.id, leader_id=leader.id, day=day, period=period)
        for day, period in sorted(added)
    )
    audit.record(
        session, "availability.changed", actor=user, obj=programme_round,
        detail={"added": len(added), "removed": len(removed),
                "affected_exchanges": [exchange.id for exchange in affected]},
    )
    session.flush()
    return SaveResult(saved=True, free=chosen, affected=affected)


@dataclass(frozen=True)
class Summary:
    total: int
    by_month: list[tuple[str, int]]

    def sentence(self) -> str:
        if not self.total:
            return "No half-days free yet"
        months = ", ".join(f"{count} in {month}" for month, count in self.by_month)
        plural = "half-day" if self.total == 1 else "half-days"
        return f"{self.total} {plural} free: {months}"


def summarise(free: Iterable[HalfDay]) -> Summary:
    free = sorted(free)
    months: Counter[date] = Counter(day.replace(day=1) for day, _ in free)
    return Summary(
        total=len(free),
        by_month=[(f"{month:%B}", count) for month, count in sorted(months.items())],
    )
