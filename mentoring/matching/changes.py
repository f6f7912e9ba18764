"""What has changed since the coordinator last approved: declines, withdrawals, cancelled
exchanges, requests to move, line managers who cannot release the time, exchanges that no
longer fit a leader's availability, and exchanges on a day that has closed (a bank holiday, or
blackout dates added since).

Each change names the leaders it affects; a local run re-optimises just those leaders, with
every other approved pair and exchange fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.calendar_days import ClosedDays, closed_days
from mentoring.exchanges.services import RESCHEDULE_REQUESTED
from mentoring.models import (
    AuditEvent,
    Availability,
    Exchange,
    LeaderProfile,
    Match,
    OptimiserRun,
    ProgrammeRound,
    RoundParticipant,
    utcnow,
)
from mentoring.releases.services import open_declines
from mentoring.slots import describe, half_day_of
from mentoring.visits.checks import at_risk
from mentoring.vocab import (
    ACTIVE_EXCHANGE_STATUSES,
    DECLINE_REASONS,
    LIVE_MATCH_STATUSES,
    ExchangeStatus,
    MatchStatus,
    ParticipantStatus,
)


@dataclass(frozen=True)
class Change:
    kind: str  # declined, withdrew, cancelled, reschedule, release_declined, unavailable,
    # closed, at_risk, concern
    at: datetime | None
    summary: str
    detail: str
    leader_ids: tuple[int, ...]  # who a local re-optimisation should cover
    exchange_id: int | None = None


def last_approval(session: Session, programme_round: ProgrammeRound) -> datetime | None:
    """When the round's matches were last approved: its newest approved run, or, for matches
    offered without a run (made by hand or loaded), the first offer."""
    approved = session.exec(
        select(sa.func.max(OptimiserRun.approved_at))
        .where(OptimiserRun.round_id == programme_round.id)
    ).one()
    if approved is not None:
        return approved
    return session.exec(
        select(sa.func.min(Match.offered_at)).where(Match.round_id == programme_round.id)
    ).one()


def pending_changes(session: Session, programme_round: ProgrammeRound,
                    now: datetime, *, names: dict[int, str] | None = None) -> list[Change]:
    """Every change since the last approval (and every exchange that no longer fits), oldest
    first. `names`: the round's `names_of`, if the caller has read them already."""
    since = last_approval(session, programme_round)
    if since is None:
        return []
    names = names if names is not None else names_of(session, programme_round)
    upcoming = _upcoming(session, programme_round, now)
    changes = [
        *_declines(session, programme_round, since, names),
        *_withdrawals(session, programme_round, since, names),
        *_leader_cancellations(session, programme_round, since, names),
        *_move_requests(session, programme_round, since, now, names),
        *_release_declines(session, programme_round, since, now, names),
        *_availability_conflicts(session, names, upcoming),
        *_closed_day_exchanges(names, upcoming),
        *_at_risk(session, programme_round, now),
        *_concerns(session, programme_round, since),
    ]
    return sorted(changes, key=lambda change: (change.at or since, change.summary))


def names_of(session: Session, programme_round: ProgrammeRound) -> dict[int, str]:
    return dict(session.exec(
        select(LeaderProfile.id, LeaderProfile.name)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .where(RoundParticipant.round_id == programme_round.id)
    ).all())


def _declines(session, programme_round, since, names) -> list[Change]:
    matches = session.exec(
        select(Match).where(Match.round_id == programme_round.id,
                            Match.status == MatchStatus.DECLINED, Match.decided_at > since)
    ).all()
    changes = []
    for match in matches:
        by = match.declined_by_id or match.mentee_id
        other = match.mentor_id if by == match.mentee_id else match.mentee_id
        reason = DECLINE_REASONS.get(match.decline_choice, "")
        words = (f" In their words: \u201c{match.decline_reason}\u201d"
                 if match.decline_reason else "")
        changes.append(Change(
            "declined", match.decided_at,
            f"{names.get(by, '?')} declined their match with {names.get(other, '?')}",
            (f"Reason: {reason}." if reason else "") + words
            + (" They would like a different match." if match.wants_different_match else ""),
            (match.mentor_id, match.mentee_id),
        ))
    return changes


def _withdrawals(session, programme_round, since, names) -> list[Change]:
    participants = session.exec(
        select(RoundParticipant).where(
            RoundParticipant.round_id == programme_round.id,
            RoundParticipant.status == ParticipantStatus.WITHDRAWN,
            RoundParticipant.withdrawn_at > since,
        )
    ).all()
    changes = []
    for participant in participants:
        leader = participant.leader_id
        partners = session.exec(
            select(Match).where(
                Match.round_id == programme_round.id, Match.status == MatchStatus.CANCELLED,
                sa.or_(Match.mentor_id == leader, Match.mentee_id == leader),
            )
        ).all()
        affected = tuple(sorted({m.mentee_id if m.mentor_id == leader else m.mentor_id
                                 for m in partners}))
        changes.append(Change(
            "withdrew", participant.withdrawn_at,
            f"{names.get(leader, '?')} left the round",
            (f"Reason: {participant.withdrawal_reason}. " if participant.withdrawal_reason
             else "") + (f"Now without a partner: {', '.join(names.get(i, '?') for i in affected)}"
                         if affected else "They had no approved match."),
            affected,
        ))
    return changes


def _round_exchange_events(session, programme_round, action, since=None):
    """Audit events `action` about the round's exchanges (after `since`), with the exchange."""
    statement = (
        select(AuditEvent, Exchange)
        .join(Exchange, sa.cast(Exchange.id, sa.String) == AuditEvent.object_id)
        .join(Match, Match.id == Exchange.match_id)
        .where(AuditEvent.action == action, AuditEvent.object_type == "Exchange",
               Match.round_id == programme_round.id)
        .order_by(AuditEvent.at)
    )
    if since is not None:
        statement = statement.where(AuditEvent.at > since)
    return session.exec(statement).all()


def _leader_cancellations(session, programme_round, since, names) -> list[Change]:
    return [
        Change(
            "cancelled", event.at,
            f"{names.get(exchange.visitor_id, '?')} visiting {names.get(exchange.host_id, '?')}:"
            f" exchange cancelled",
            f"{_when(exchange)}. Reason: {(event.detail or {}).get('reason', '')}",
            (exchange.host_id, exchange.visitor_id), exchange.id,
        )
        for event, exchange in _round_exchange_events(session, programme_round,
                                                      "exchange.cancelled", since)
    ]


def _move_requests(session, programme_round, since, now, names) -> list[Change]:
    return [
        Change(
            "reschedule", event.at,
            f"{names.get(exchange.visitor_id, '?')} visiting {names.get(exchange.host_id, '?')}:"
            f" asked to move",
            f"{_when(exchange)}. Reason: {(event.detail or {}).get('reason', '')}"
            + (f" Preferred: {event.detail['preferred']}" if (event.detail or {}).get(
                "preferred") else ""),
            (exchange.host_id, exchange.visitor_id), exchange.id,
        )
        for event, exchange in _round_exchange_events(session, programme_round,
                                                      RESCHEDULE_REQUESTED, since)
        if _request_open(event, exchange, now)
    ]


def _release_declines(session, programme_round, since, now, names) -> list[Change]:
    """A line manager who cannot release a leader's time: like a request to move, open while
    the exchanges asked about are still to come as they were."""
    changes = []
    for found in open_declines(session, programme_round.id, now, since):
        release, match = found.release, found.match
        partner = match.mentee_id if release.leader_id == match.mentor_id else match.mentor_id
        manager = release.manager_name or release.manager_email
        changes.append(Change(
            "release_declined", release.decided_at,
            f"{names.get(release.leader_id, '?')}'s line manager cannot release their time",
            f"{manager} ({release.manager_email}), about the exchanges with "
            f"{names.get(partner, '?')} on {'; '.join(line.when for line in found.lines)}. "
            f"Reason: \u201c{release.reason}\u201d",
            (match.mentor_id, match.mentee_id),
        ))
    return changes


def _request_open(event: AuditEvent, exchange: Exchange, now: datetime) -> bool:
    """Still about the exchange as it is (moving it answers the request), still to come."""
    return (exchange.status == ExchangeStatus.SCHEDULED and exchange.starts_at > now
            and (event.detail or {}).get("sequence") == exchange.sequence)


def _availability_conflicts(session, names, upcoming: _Upcoming) -> list[Change]:
    return [
        Change(
            "unavailable", None,
            f"{names.get(exchange.visitor_id, '?')} visiting {names.get(exchange.host_id, '?')}:"
            f" no longer fits",
            f"{_when(exchange)}: " + " and ".join(names.get(i, "?") for i in unavailable)
            + " no longer free then",
            (exchange.host_id, exchange.visitor_id), exchange.id,
        )
        for exchange, unavailable in _unfit_exchanges(session, upcoming)
    ]


def _closed_day_exchanges(names, upcoming: _Upcoming) -> list[Change]:
    return [
        Change(
            "closed", None,
            f"{names.get(exchange.visitor_id, '?')} visiting {names.get(exchange.host_id, '?')}:"
            f" on a closed day",
            f"{_when(exchange)}. {upcoming.closed.label(half_day_of(exchange.starts_at)[0])}",
            (exchange.host_id, exchange.visitor_id), exchange.id,
        )
        for exchange in upcoming.on_closed_days
    ]


def _at_risk(session, programme_round, now) -> list[Change]:
    """Booked exchanges whose host has not confirmed every check three working days before
    (a local run cannot mend these: the coordinator chases the host)."""
    return [
        Change("at_risk", None, f"{x.visitor_name} visiting {x.host_name}: at risk",
               f"{describe(*half_day_of(x.starts_at))}. Not yet confirmed: "
               f"{', '.join(x.open_items)}.", (), x.exchange_id)
        for x in at_risk(session, now, programme_round.id)
    ]


def _concerns(session, programme_round, since) -> list[Change]:
    """Concerns leaders raised privately (issue 20): the words are on the pair progress page,
    which the changes list links to; nothing here for a local run to mend."""
    from mentoring.outcomes.progress import concerns_of_round  # outcomes build on matching's

    return [Change("concern", row.concern.created_at,
                   f"{row.raised_by} raised a concern about their match with {row.about}",
                   "Only the coordinators can read it; the other leader is not told.", ())
            for row in concerns_of_round(session, programme_round.id, since)]


class UpcomingExchange(NamedTuple):
    """What the changes list needs of an exchange to come: loaded as plain rows, because a
    round of 5,000 leaders has thousands (as ORM objects they cost most of the page)."""

    id: int
    host_id: int
    visitor_id: int
    starts_at: datetime


@dataclass(frozen=True)
class _Upcoming:
    """The round's exchanges to come (held or booked), split by whether their day has closed:
    a bank holiday, or blackout dates added since they were planned."""

    programme_round: ProgrammeRound
    closed: ClosedDays
    on_open_days: list[UpcomingExchange]
    on_closed_days: list[UpcomingExchange]


def _upcoming(session, programme_round, now) -> _Upcoming:
    closed = closed_days(session, programme_round)
    future = [UpcomingExchange(*row) for row in session.execute(
        sa.select(Exchange.id, Exchange.host_id, Exchange.visitor_id, Exchange.starts_at)
        .join(Match, Match.id == Exchange.match_id)
        .where(Match.round_id == programme_round.id,
               Match.status.in_(LIVE_MATCH_STATUSES),  # type: ignore[attr-defined]
               Exchange.status.in_(ACTIVE_EXCHANGE_STATUSES),  # type: ignore[attr-defined]
               Exchange.starts_at > now)
        .order_by(Exchange.starts_at, Exchange.id)
    )]
    on_open: list[UpcomingExchange] = []
    on_closed: list[UpcomingExchange] = []
    # Thousands of exchanges start at a few hundred distinct times: each converted once.
    closed_at = {starts_at: half_day_of(starts_at)[0] in closed
                 for starts_at in {exchange.starts_at for exchange in future}}
    for exchange in future:
        (on_closed if closed_at[exchange.starts_at] else on_open).append(exchange)
    return _Upcoming(programme_round, closed, on_open, on_closed)


def exchanges_on_closed_days(session: Session, programme_round: ProgrammeRound,
                             now: datetime) -> list[UpcomingExchange]:
    """Exchanges to come (held or booked) on a bank holiday or blackout day of the round."""
    return _upcoming(session, programme_round, now).on_closed_days


def _unfit_exchanges(session, upcoming: _Upcoming
                     ) -> list[tuple[UpcomingExchange, list[int]]]:
    """Exchanges to come that a leader is no longer free for. Those on a closed day are listed
    as such instead: availability there no longer counts.

    One statement, whatever the round's size: the database pairs each exchange with its
    half-day (the few hundred distinct start times travel as a small VALUES table, converted to
    London half-days here, where the rule lives) and returns only the exchanges whose host or
    visitor has no free half-day row then. It used to return every leader's row for every
    exchange (8,000 for a round of 5,000 leaders) for Python to compare."""
    half_days = {}
    for starts_at in {exchange.starts_at for exchange in upcoming.on_open_days}:
        day, period = half_day_of(starts_at)
        half_days[starts_at] = (day, period.value)
    if not half_days:
        return []
    half_day = sa.values(
        sa.column("starts_at", Exchange.__table__.c.starts_at.type), sa.column("day", sa.Date),
        sa.column("period", sa.String), name="half_day",
    ).data([(starts_at, day, period) for starts_at, (day, period) in half_days.items()]
           ).cte("half_day")  # a CTE: SQLite cannot name a derived table's columns

    # Availability twice, as the host's and the visitor's free half-day (its unique key makes
    # each at most one row); an exchange either lacks is unfit.
    host_free, visitor_free = sa.orm.aliased(Availability), sa.orm.aliased(Availability)

    def free_then(free, leader_column):
        return sa.and_(free.round_id == upcoming.programme_round.id,
                       free.leader_id == leader_column, free.day == half_day.c.day,
                       free.period == half_day.c.period)

    open_ids = {exchange.id for exchange in upcoming.on_open_days}
    rows = session.execute(
        sa.select(Exchange.id, host_free.id.is_not(None), visitor_free.id.is_not(None))
        .join(half_day, half_day.c.starts_at == Exchange.starts_at)
        .join(Match, Match.id == Exchange.match_id)
        .outerjoin(host_free, free_then(host_free, Exchange.host_id))
        .outerjoin(visitor_free, free_then(visitor_free, Exchange.visitor_id))
        .where(Match.round_id == upcoming.programme_round.id,
               Match.status.in_(LIVE_MATCH_STATUSES),  # type: ignore[attr-defined]
               Exchange.status.in_(ACTIVE_EXCHANGE_STATUSES),  # type: ignore[attr-defined]
               sa.or_(host_free.id.is_(None), visitor_free.id.is_(None)))
    ).all()
    missing = {exchange_id: (host_ok, visitor_ok) for exchange_id, host_ok, visitor_ok in rows
               if exchange_id in open_ids}
    unfit = []
    for exchange in upcoming.on_open_days:  # in the order of the exchanges to come
        if exchange.id in missing:
            host_ok, visitor_ok = missing[exchange.id]
            unfit.append((exchange, [leader for leader, ok in ((exchange.host_id, host_ok),
                                                               (exchange.visitor_id, visitor_ok))
                                     if not ok]))
    return unfit


def exchanges_to_release(session: Session, programme_round: ProgrammeRound,
                         scope: set[int], now: datetime | None = None) -> frozenset[int]:
    """Future exchanges of the scoped leaders that a local run may move: those that no longer
    fit their leaders' availability, those on a closed day, those a leader asked to move,
    and those a line manager cannot release the time for."""
    now = now or utcnow()
    upcoming = _upcoming(session, programme_round, now)
    moving = [exchange for exchange, _ in _unfit_exchanges(session, upcoming)]
    moving += upcoming.on_closed_days
    released = {exchange.id for exchange in moving
                if {exchange.host_id, exchange.visitor_id} & scope}
    released |= {exchange.id for event, exchange in _round_exchange_events(
        session, programme_round, RESCHEDULE_REQUESTED)
        if _request_open(event, exchange, now) and {exchange.host_id, exchange.visitor_id}
        & scope}
    released |= {exchange_id for found in open_declines(session, programme_round.id, now)
                 if {found.match.mentor_id, found.match.mentee_id} & scope
                 for exchange_id in found.exchange_ids}
    return frozenset(released)


def _when(exchange: Exchange | UpcomingExchange) -> str:
    return describe(*half_day_of(exchange.starts_at))
