"""From a programme round in the database to the optimiser's problem (and what must stay fixed).

The optimiser knows nothing of the database: this module is the only bridge. Leader ids in the
problem are leader profile ids as strings; slot ids are `YYYY-MM-DD-am|pm`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.calendar_days import closed_days
from mentoring.configuration import vocabularies
from mentoring.configuration.vocabularies import Vocabularies
from mentoring.models import (
    Availability,
    Exchange,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
    utcnow,
)
from mentoring.slots import half_day_of, half_days, local_bounds
from mentoring.visits.notice import host_from, london_date, notice_weeks
from mentoring.vocab import (
    LIVE_MATCH_STATUSES,
    ExchangeStatus,
    MatchStatus,
    ParticipantStatus,
)
from optimiser import ExchangeResult, Fixed, Pin

# Pairs that were tried and ended: the optimiser never proposes them again in the round.
ENDED_MATCH_STATUSES = (MatchStatus.REJECTED, MatchStatus.DECLINED, MatchStatus.CANCELLED)

PROBLEM_FORMAT = "mentoring-problem/1"


def slot_id(day, period: str) -> str:
    return f"{day.isoformat()}-{period}"


# Only the spelling slot_id writes: date.fromisoformat alone also reads "20300108" and
# "2030-W02-2", and a period other than am or pm has no hours (a forged form's half-day).
_SLOT_ID = re.compile(r"(\d{4}-\d{2}-\d{2})-(am|pm)")


def parse_slot(slot: str) -> tuple[date, str]:
    """(day, period) of a slot id; ValueError for anything slot_id does not write."""
    found = _SLOT_ID.fullmatch(slot)
    if found is None:
        raise ValueError(f"not a half-day: {slot[:40]!r}")
    return date.fromisoformat(found[1]), found[2]


# Reasons from the optimiser name vocabulary keys ("community_health"): shown as labels.
@lru_cache(maxsize=8)
def _reason_reader(fingerprint: tuple) -> Callable[[str], str]:
    """A reader of reasons for one set of vocabularies (built once per set of terms)."""
    labels = {key: text for _kind, key, text, _offered in fingerprint if key != "other"}
    if not labels:
        return lambda reason: reason
    keys = re.compile(r"\b(" + "|".join(sorted(map(re.escape, labels), key=len, reverse=True))
                      + r")\b")

    @lru_cache(maxsize=4096)
    def read(reason: str) -> str:
        # Cached: a big proposal gives the same few dozen reasons to thousands of pairs.
        return keys.sub(lambda found: labels[found.group(1)], reason)
    return read


def readable_reason(reason: str, words: Vocabularies | None = None) -> str:
    return _reason_reader((words or vocabularies.current()).fingerprint)(reason)


def build_problem(session: Session, programme_round: ProgrammeRound,
                  approval_date: date | None = None, *,
                  only: Collection[int] | None = None) -> dict[str, Any]:
    """The round as a `mentoring-problem/1` document: every joined leader with a profile and
    consent, their free half-days, the round's rules, pinned and forbidden pairs.

    Closed days (bank holidays, blackouts) are never offered: their half-days are left out, and
    so is availability saved on them. A half-day that still holds one of the round's exchanges
    stays a slot (with nobody free in it), so that the exchange can stay fixed, or be moved by
    a run that releases it.

    Each host's `host_from` is `approval_date` (the day the run is requested; today by default)
    plus the notice their organisation needs: the optimiser gives them no visit to host before
    it.

    `only` (leader profile ids) leaves everyone else out: a decision about two leaders (made by
    hand) needs only them and their partners, and reading a big round whole takes seconds."""
    approval_date = approval_date or london_date(utcnow())
    closed = closed_days(session, programme_round)
    held = ({half_day_of(exchange.starts_at)
             for exchange in round_live_exchange_times(session, programme_round)}
            if closed else set())
    slots = [
        {"id": slot_id(day, period), "start": start.isoformat(timespec="minutes"),
         "end": end.isoformat(timespec="minutes")}
        for day, period in half_days(programme_round.starts_on, programme_round.ends_on)
        if day not in closed or (day, period) in held
        for start, end in [local_bounds(day, period)]
    ]
    leaders_query = (
        select(LeaderProfile, Organisation.name, Organisation.notice_weeks)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .where(
            RoundParticipant.round_id == programme_round.id,
            RoundParticipant.status == ParticipantStatus.JOINED,
            LeaderProfile.consent_at.is_not(None),
        )
        .order_by(LeaderProfile.id)
    )
    free_query = (
        select(Availability.leader_id, Availability.day, Availability.period)
        .where(Availability.round_id == programme_round.id)
        .order_by(Availability.day, Availability.period)
    )
    if only is not None:
        leaders_query = leaders_query.where(LeaderProfile.id.in_(list(only)))  # type: ignore[union-attr]
        free_query = free_query.where(Availability.leader_id.in_(list(only)))  # type: ignore[attr-defined]
    rows = session.exec(leaders_query).all()
    free: dict[int, list[str]] = defaultdict(list)
    for leader_id, day, period in session.exec(free_query).all():
        if day not in closed:
            free[leader_id].append(slot_id(day, period))
    priority = set(programme_round.priority_professions)
    leaders = [
        {
            "id": str(profile.id),
            "profession": profile.profession,
            "organisation": organisation or f"(no organisation: leader {profile.id})",
            "sector": profile.sector,
            "borough": profile.borough,
            "mentor_capacity": profile.mentor_capacity,
            "wants_mentor": profile.wants_mentor,
            "priority": profile.profession in priority,
            "strengths": list(profile.strengths),
            "goals": list(profile.goals),
            "available": free.get(profile.id, []),
            "protected_hours_per_month": profile.protected_hours_per_month,
            # Leaders who cannot host visits host none; hosts may have no weekly limit.
            "max_hosted_per_week": profile.max_hosted_per_week if profile.can_host else 0,
            **({"host_from": host_from(approval_date, notice_weeks(weeks, profile.sector))
                .isoformat()} if profile.can_host else {}),
        }
        for profile, organisation, weeks in rows
    ]
    in_problem = {int(leader["id"]) for leader in leaders}
    pinned, excluded = _pins(session, programme_round, in_problem)
    return {
        "format": PROBLEM_FORMAT,
        "slots": slots,
        "leaders": leaders,
        "rules": {
            "exchanges_per_pair": programme_round.exchanges_per_pair,
            "min_days_between_exchanges": programme_round.min_days_between_exchanges,
            "reciprocal": programme_round.reciprocal,
            "allow_same_organisation": programme_round.allow_same_organisation,
            "weights": dict(programme_round.weights),
            "priority_floor": programme_round.priority_floor,
        },
        "pinned": pinned,
        "excluded": excluded,
    }


def _pins(session: Session, programme_round: ProgrammeRound, in_problem: set[int]):
    """Pinned pairs (still proposals: approved pairs are fixed instead) and excluded pairs:
    forbidden by a coordinator, or declined, rejected or cancelled earlier in the round."""
    matches = session.exec(
        select(Match).where(
            Match.round_id == programme_round.id,
            sa.or_(Match.pinned, Match.forbidden,
                   Match.status.in_(ENDED_MATCH_STATUSES)),  # type: ignore[attr-defined]
        ).order_by(Match.id)
    ).all()
    # A mentee paired since the pin (by hand, or by approving another run) has their mentor:
    # the pin is overtaken, and passing it on would make every later run infeasible.
    paired = {match.mentee_id for match in live_matches(session, programme_round)}
    pinned, excluded = [], []
    for match in matches:
        if not {match.mentor_id, match.mentee_id} <= in_problem:
            continue
        pair = {"mentor": str(match.mentor_id), "mentee": str(match.mentee_id)}
        if match.forbidden or match.status in ENDED_MATCH_STATUSES:
            excluded.append(pair)
        elif match.status == MatchStatus.PROPOSED and match.mentee_id not in paired:
            pinned.append(pair)
    return pinned, excluded


def live_matches(session: Session, programme_round: ProgrammeRound) -> list[Match]:
    return list(session.exec(
        select(Match).where(Match.round_id == programme_round.id,
                            Match.status.in_(LIVE_MATCH_STATUSES))  # type: ignore[attr-defined]
        .order_by(Match.id)
    ).all())


def live_exchanges(session: Session, matches: list[Match]) -> list[Exchange]:
    """Exchanges that happened or will happen (not cancelled) of these matches, by time."""
    if not matches:
        return []
    return list(session.exec(
        select(Exchange).where(
            Exchange.match_id.in_([match.id for match in matches]),  # type: ignore[attr-defined]
            Exchange.status != ExchangeStatus.CANCELLED,
        ).order_by(Exchange.starts_at, Exchange.id)
    ).all())


class ExchangeTime(NamedTuple):
    """What fingerprinting a round's approved exchanges, and comparing them with a proposal,
    needs of each."""

    id: int
    host_id: int
    visitor_id: int
    starts_at: datetime
    sequence: int


def round_live_exchange_times(session: Session,
                              programme_round: ProgrammeRound) -> list[ExchangeTime]:
    """The exchanges (not cancelled) of the round's live matches, by time, as bare columns,
    through a join (a list of thousands of match ids costs more to send than the query takes
    to run). Whole exchanges, thousands of them, cost most of the review page's time in a round
    of 2,000 pairs; so did the ORM's handling of rows (hence `connection().execute`)."""
    return [ExchangeTime._make(row) for row in session.connection().execute(
        select(Exchange.id, Exchange.host_id, Exchange.visitor_id, Exchange.starts_at,
               Exchange.sequence)
        .join(Match, Match.id == Exchange.match_id).where(
            Match.round_id == programme_round.id,
            Match.status.in_(LIVE_MATCH_STATUSES),  # type: ignore[attr-defined]
            Exchange.status != ExchangeStatus.CANCELLED,
        ).order_by(Exchange.starts_at, Exchange.id)
    ).all()]


def live_state(session: Session, programme_round: ProgrammeRound) -> list[list[int]]:
    """A fingerprint of what is approved: live match ids, and their exchanges' ids and
    sequence numbers. A run built on one state must not be approved in another."""
    return state_of(live_matches(session, programme_round),
                    round_live_exchange_times(session, programme_round))


def state_of(matches, exchanges) -> list[list[int]]:
    """`live_state` from live matches (anything with an `id`) and exchanges (anything with an
    `id` and a `sequence`) already loaded."""
    return sorted([[match.id, 0] for match in matches]
                  + [[-exchange.id, exchange.sequence] for exchange in exchanges])


def exchange_slot(exchange) -> str:
    """The slot of an exchange (anything with a `starts_at`)."""
    return slot_at(exchange.starts_at)


@lru_cache(maxsize=4096)
def slot_at(starts_at: datetime) -> str:
    # A round's exchanges start at a few hundred instants at most: each is converted once.
    return slot_id(*half_day_of(starts_at))


def fixed_part(
    session: Session, programme_round: ProgrammeRound, *,
    in_problem: set[int] | None = None, released: frozenset[int] = frozenset(),
) -> Fixed:
    """Approved (or accepted) pairs and their exchanges: re-optimisation keeps them.

    `in_problem` limits it to pairs whose leaders are both still in the problem (a leader who
    withdrew is not); exchanges whose ids are in `released` are left for the optimiser to
    schedule again (their leaders' availability changed, or a move was asked for)."""
    matches = [match for match in live_matches(session, programme_round)
               if in_problem is None or {match.mentor_id, match.mentee_id} <= in_problem]
    return Fixed(
        pairs=tuple(Pin(str(match.mentor_id), str(match.mentee_id)) for match in matches),
        exchanges=tuple(
            ExchangeResult(host=str(exchange.host_id), visitor=str(exchange.visitor_id),
                           slot=exchange_slot(exchange))
            for exchange in live_exchanges(session, matches) if exchange.id not in released
        ),
    )


def fixed_to_dict(fixed: Fixed) -> dict[str, list[dict[str, str]]]:
    return {
        "pairs": [{"mentor": pin.mentor, "mentee": pin.mentee} for pin in fixed.pairs],
        "exchanges": [{"host": x.host, "visitor": x.visitor, "slot": x.slot}
                      for x in fixed.exchanges],
    }


def fixed_from_dict(data: dict[str, Any]) -> Fixed:
    return Fixed(
        pairs=tuple(Pin(pair["mentor"], pair["mentee"]) for pair in data.get("pairs", [])),
        exchanges=tuple(ExchangeResult(x["host"], x["visitor"], x["slot"])
                        for x in data.get("exchanges", [])),
    )


def restrict_to_scope(problem: dict[str, Any], fixed: Fixed, scope: set[int]) -> dict[str, Any]:
    """A local re-optimisation: only the leaders in `scope` may gain a new pair.

    Kept: the scoped leaders, every leader of a fixed pair (their exchanges use slots and
    protected time), and mentors with room for another mentee (a scoped mentee may need
    one). Left out: everyone else who has no pair, so nobody outside the scope is paired."""
    in_fixed = {leader for pin in fixed.pairs for leader in (pin.mentor, pin.mentee)}
    mentees_of: dict[str, int] = defaultdict(int)
    for pin in fixed.pairs:
        mentees_of[pin.mentor] += 1
    scoped = {str(leader_id) for leader_id in scope}
    kept = [
        leader for leader in problem["leaders"]
        if leader["id"] in scoped or leader["id"] in in_fixed
        or leader["mentor_capacity"] > mentees_of[leader["id"]]
    ]
    ids = {leader["id"] for leader in kept}

    def inside(pairs):
        return [pair for pair in pairs if {pair["mentor"], pair["mentee"]} <= ids]

    return {**problem, "leaders": kept, "pinned": inside(problem["pinned"]),
            "excluded": inside(problem["excluded"])}
