"""From a programme round in the database to the optimiser's problem (and what must stay fixed).

The optimiser knows nothing of the database: this module is the only bridge. Leader ids in the
problem are leader profile ids as strings; slot ids are `YYYY-MM-DD-am|pm`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from mentoring.models import (
    Availability,
    Exchange,
    LeaderProfile,
    Match,
    Organisation,
    ProgrammeRound,
    RoundParticipant,
)
from mentoring.slots import half_day_of, half_days, local_bounds
from mentoring.vocab import LIVE_MATCH_STATUSES, ExchangeStatus, ParticipantStatus
from optimiser import ExchangeResult, Fixed, Pin

PROBLEM_FORMAT = "mentoring-problem/1"


def slot_id(day, period: str) -> str:
    return f"{day.isoformat()}-{period}"


def build_problem(session: Session, programme_round: ProgrammeRound) -> dict[str, Any]:
    """The round as a `mentoring-problem/1` document: every joined leader with a profile and
    consent, their free half-days, the round's rules, pinned and forbidden pairs."""
    slots = [
        {"id": slot_id(day, period), "start": start.isoformat(timespec="minutes"),
         "end": end.isoformat(timespec="minutes")}
        for day, period in half_days(programme_round.starts_on, programme_round.ends_on)
        for start, end in [local_bounds(day, period)]
    ]
    rows = session.exec(
        select(LeaderProfile, Organisation.name)
        .join(RoundParticipant, RoundParticipant.leader_id == LeaderProfile.id)
        .outerjoin(Organisation, Organisation.id == LeaderProfile.organisation_id)
        .where(
            RoundParticipant.round_id == programme_round.id,
            RoundParticipant.status == ParticipantStatus.JOINED,
            LeaderProfile.consent_at.is_not(None),
        )
        .order_by(LeaderProfile.id)
    ).all()
    free: dict[int, list[str]] = defaultdict(list)
    for leader_id, day, period in session.exec(
        select(Availability.leader_id, Availability.day, Availability.period)
        .where(Availability.round_id == programme_round.id)
        .order_by(Availability.day, Availability.period)
    ).all():
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
        }
        for profile, organisation in rows
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
        },
        "pinned": pinned,
        "excluded": excluded,
    }


def _pins(session: Session, programme_round: ProgrammeRound, in_problem: set[int]):
    matches = session.exec(
        select(Match).where(Match.round_id == programme_round.id,
                            sa.or_(Match.pinned, Match.forbidden))
    ).all()
    pinned, excluded = [], []
    for match in matches:
        if not {match.mentor_id, match.mentee_id} <= in_problem:
            continue
        pair = {"mentor": str(match.mentor_id), "mentee": str(match.mentee_id)}
        (excluded if match.forbidden else pinned).append(pair)
    return pinned, excluded


def fixed_part(session: Session, programme_round: ProgrammeRound) -> Fixed:
    """Approved (or accepted) pairs and their scheduled exchanges: re-optimisation keeps them."""
    matches = session.exec(
        select(Match).where(Match.round_id == programme_round.id,
                            Match.status.in_(LIVE_MATCH_STATUSES))  # type: ignore[attr-defined]
    ).all()
    exchanges = session.exec(
        select(Exchange).where(
            Exchange.match_id.in_([match.id for match in matches]),  # type: ignore[attr-defined]
            Exchange.status == ExchangeStatus.SCHEDULED,
        ).order_by(Exchange.starts_at)
    ).all() if matches else []
    return Fixed(
        pairs=tuple(Pin(str(match.mentor_id), str(match.mentee_id)) for match in matches),
        exchanges=tuple(
            ExchangeResult(host=str(exchange.host_id), visitor=str(exchange.visitor_id),
                           slot=slot_id(*half_day_of(exchange.starts_at)))
            for exchange in exchanges
        ),
    )
